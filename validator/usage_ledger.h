// The gateway's durable ledger of charges: one row per answered request
// (request id, API key name, completion tokens, answering uid and model),
// in SQLite (WAL, synchronous=FULL). A charge is committed before the answer
// is sent, and a request id is charged at most once, so a restart neither
// forgets a charge nor charges twice. Per-key totals are kept in memory and
// rebuilt from the table at open.
//
// Group commit: Submit() queues a charge and counts it in the totals at once
// (so credit checks see it while it is being made durable); Wait() returns
// once it is committed. Charges submitted while a commit is in flight are
// written together in the next transaction by one of their waiters, so
// concurrent requests share one fsync instead of queueing for one each. A
// charge that fails to commit is taken out of the totals again.
//
// It also holds the deposits that fund paying keys: transfers to the
// gateway's account found on chain (validator/deposits.h).
//
// Thread-safe.
#ifndef AGORA_VALIDATOR_USAGE_LEDGER_H_
#define AGORA_VALIDATOR_USAGE_LEDGER_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"

struct sqlite3;

namespace agora::validator {

struct Charge {
  std::string request_id;
  std::string key_name;
  uint64_t tokens = 0;
  uint16_t uid = 0;
  std::string model;
  uint64_t time_ms = 0;
  std::string account;      // the key's chain account paying; "" for free tokens only
  uint64_t paid_units = 0;  // base units taken from the account's deposits
  std::string payee;        // the answering miner's coldkey address (its share of the fee)
};

// A fee share owed to a miner's coldkey, and the transfer that pays it.
// state: "pending" (signed, maybe sent), "done" (on chain), "failed" (refused).
struct Forward {
  int64_t id = 0;
  std::string payee;
  uint64_t amount = 0;
  std::string tx;       // SignedTx bytes
  std::string tx_hash;  // hex
  std::string state;
};

// A transfer to the gateway's account seen on chain.
struct Deposit {
  std::string tx_hash;  // hex
  std::string account;  // the sender's address
  uint64_t amount = 0;  // base units
  uint64_t block = 0;
};

class UsageLedger {
 public:
  static absl::StatusOr<std::unique_ptr<UsageLedger>> Open(const std::string& path);
  ~UsageLedger();

  // A submitted charge; Wait() blocks until it is durable (OK), was a
  // duplicate (AlreadyExists) or could not be committed.
  class PendingCharge {
   public:
    PendingCharge() = default;
    absl::Status Wait();

   private:
    friend class UsageLedger;
    struct Entry;
    PendingCharge(UsageLedger* ledger, std::shared_ptr<Entry> entry)
        : ledger_(ledger), entry_(std::move(entry)) {}
    UsageLedger* ledger_ = nullptr;
    std::shared_ptr<Entry> entry_;
  };
  // Queues `c` for the next group commit and counts it in the totals now.
  PendingCharge Submit(const Charge& c);
  // Submit(c).Wait(): records `c` durably. AlreadyExists if its request id
  // was charged before (nothing changes then).
  absl::Status Record(const Charge& c);
  // Completion tokens charged to the key so far.
  uint64_t Used(const std::string& key_name) const;
  uint64_t requests(const std::string& key_name) const;

  // Deposits: credited once per transaction, together with the height the
  // scan reached, in one SQLite transaction (a crash repeats the scan of
  // the unsaved blocks, and INSERT OR IGNORE makes that harmless).
  uint64_t scanned_height() const;
  absl::Status RecordDeposits(const std::vector<Deposit>& deposits, uint64_t scanned_height);
  // Deposited minus paid charges, for `account` (may be negative only if
  // prices changed between checks).
  int64_t Balance(const std::string& account) const;
  uint64_t Deposited(const std::string& account) const;

  // Fee forwarding (validator/fee_forwarder.h). Owed: floor(share * paid
  // units) per payee over the charges not yet covered by a batch; *upto is
  // the last charge covered. AddForwards stores a batch's signed transfers
  // as pending and moves the mark, in one transaction, before any is sent.
  std::vector<Forward> OwedFees(double share, int64_t* upto) const;
  absl::Status AddForwards(const std::vector<Forward>& batch, int64_t upto);
  std::vector<Forward> PendingForwards() const;
  absl::Status UpdateForward(const Forward& f);
  uint64_t Forwarded(const std::string& payee) const;  // done transfers, base units

 private:
  explicit UsageLedger(sqlite3* db) : db_(db) {}
  // Writes `batch` in one transaction and sets each entry's status. Needs db_mu_.
  void CommitBatch(const std::vector<std::shared_ptr<PendingCharge::Entry>>& batch);
  absl::Status WaitFor(const std::shared_ptr<PendingCharge::Entry>& entry);
  void Unapply(const Charge& c) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  sqlite3* db_;
  // db_mu_ serializes use of the connection (a transaction at a time); mu_
  // guards the in-memory state and is never held while waiting for db_mu_.
  mutable absl::Mutex db_mu_ ABSL_ACQUIRED_BEFORE(mu_);
  mutable absl::Mutex mu_;
  std::vector<std::shared_ptr<PendingCharge::Entry>> queue_ ABSL_GUARDED_BY(mu_);
  bool committing_ ABSL_GUARDED_BY(mu_) = false;  // a waiter is writing a batch
  std::map<std::string, std::pair<uint64_t, uint64_t>> totals_ ABSL_GUARDED_BY(mu_);  // tokens, requests
  std::map<std::string, uint64_t> deposited_ ABSL_GUARDED_BY(mu_);  // by account
  std::map<std::string, uint64_t> paid_ ABSL_GUARDED_BY(mu_);       // by account
  uint64_t scanned_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace agora::validator

#endif  // AGORA_VALIDATOR_USAGE_LEDGER_H_
