// Ledger: the chain's live state, kept in memory and made durable through
// ChainStore. It is where transactions are verified, applied, logged and
// acknowledged, and where blocks are sealed.
//
// Durability: Submit() returns only after the transaction is committed to the
// store, by a committer thread that writes whatever has queued up in one
// SQLite transaction (group commit), so many concurrent submitters share one
// fsync. Block seals go through the same queue, so the log order is the order
// in which the state changed. If a commit fails, the in-memory state is ahead
// of the disk: the process aborts, and a restart rebuilds the state from the
// log (which holds exactly what was acknowledged).
//
// Thread-safe: every public method may be called from any thread.
#ifndef AGORA_CHAIN_LEDGER_H_
#define AGORA_CHAIN_LEDGER_H_

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "chain/block.h"
#include "chain/genesis.h"
#include "chain/state.h"
#include "chain/store.h"
#include "chain/tx.h"

namespace agora::chain {

struct TxReceipt {
  Hash256 tx_hash{};
  BlockHeight block = 0;  // the block it is part of (sealed at or after this call)
  uint32_t index = 0;
};

struct LedgerOptions {
  uint64_t snapshot_every_blocks = 100;
};

class Ledger {
 public:
  // Opens the store at `db_path` for `genesis` and rebuilds the state from
  // the latest snapshot plus the log after it. DataLoss if a replayed block
  // hash differs from the stored one.
  static absl::StatusOr<std::unique_ptr<Ledger>> Open(const Genesis& genesis,
                                                      const std::string& db_path,
                                                      const LedgerOptions& options);
  ~Ledger();  // drains the commit queue

  // Verifies, applies and durably logs a transaction; the refusal reasons are
  // chain/tx_reject.h's. Blocks until the transaction is durable.
  absl::StatusOr<TxReceipt> Submit(absl::string_view signed_tx_bytes);

  // Seals the block being built (its transactions so far) at `timestamp_ms`.
  // Returns once the seal is durable. (Readers may see the new height a
  // moment earlier, while the seal is being committed.)
  absl::StatusOr<BlockReport> SealBlock(uint64_t timestamp_ms);

  // Runs `fn` with shared (read) access to the state.
  void Read(const std::function<void(const ChainState&)>& fn) const;

  // Where an accepted transaction landed.
  absl::StatusOr<std::optional<TxRecord>> FindTx(const Hash256& hash);
  // A sealed block and (a page of) its transactions: ChainStore::FindBlockTxs.
  // nullopt until the block's seal is durable (which can be a moment after
  // Read() shows its height).
  absl::StatusOr<std::optional<SealedBlockTxs>> FindBlockTxs(BlockHeight height, uint32_t first,
                                                             size_t max_bytes);

 private:
  struct Pending {
    LogEvent event;
    std::promise<absl::Status> done;  // set when durable (unused for seals)
    bool has_waiter = false;
  };

  Ledger(std::unique_ptr<ChainStore> store, ChainState state, const LedgerOptions& options);
  void CommitLoop();
  std::future<absl::Status> Enqueue(LogEvent event, bool wait);

  const LedgerOptions options_;
  std::unique_ptr<ChainStore> store_;  // used by the committer thread (and Open/Find*)
  std::mutex store_mu_;                // serializes store_ between committer and Find*

  mutable std::shared_mutex state_mu_;
  ChainState state_;                    // guarded by state_mu_
  std::vector<Hash256> block_txs_;      // hashes of the block being built; guarded by state_mu_

  std::mutex queue_mu_;
  std::condition_variable queue_cv_;
  std::deque<Pending> queue_;           // guarded by queue_mu_
  bool stopping_ = false;               // guarded by queue_mu_
  std::thread committer_;
};

}  // namespace agora::chain

#endif  // AGORA_CHAIN_LEDGER_H_
