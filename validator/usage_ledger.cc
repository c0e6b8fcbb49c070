#include "validator/usage_ledger.h"

#include <sqlite3.h>

#include <algorithm>
#include <functional>

#include "absl/strings/str_cat.h"

namespace agora::validator {
namespace {

absl::Status SqlError(sqlite3* db, const char* what) {
  return absl::InternalError(absl::StrCat("usage ledger: ", what, ": ", sqlite3_errmsg(db)));
}

void BindText(sqlite3_stmt* st, int i, const std::string& v) {
  sqlite3_bind_text(st, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
}

void BindBlob(sqlite3_stmt* st, int i, const std::string& v) {
  sqlite3_bind_blob(st, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
}

// Prepares `sql`, lets `bind` set its parameters and steps it once; the
// SQLite result code (SQLITE_DONE on success).
int StepOnce(sqlite3* db, const char* sql, const std::function<void(sqlite3_stmt*)>& bind) {
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(db, sql, -1, &st, nullptr) != SQLITE_OK) return SQLITE_ERROR;
  bind(st);
  const int rc = sqlite3_step(st);
  sqlite3_finalize(st);
  return rc;
}

// Runs `body` and then `mark_sql` (the upsert of a progress mark) in one
// transaction: all of it is durable, or none of it.
absl::Status Transaction(sqlite3* db, const char* what, const std::function<absl::Status()>& body,
                         const std::string& mark_sql) {
  if (sqlite3_exec(db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) != SQLITE_OK) {
    return SqlError(db, "begin");
  }
  absl::Status s = body();
  if (s.ok() && (sqlite3_exec(db, mark_sql.c_str(), nullptr, nullptr, nullptr) != SQLITE_OK ||
                 sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr) != SQLITE_OK)) {
    s = SqlError(db, what);
  }
  if (!s.ok()) sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
  return s;
}

}  // namespace

absl::StatusOr<std::unique_ptr<UsageLedger>> UsageLedger::Open(const std::string& path) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                      nullptr) != SQLITE_OK) {
    absl::Status s = absl::InternalError(absl::StrCat("usage ledger ", path, ": ",
                                                      db ? sqlite3_errmsg(db) : "out of memory"));
    sqlite3_close(db);
    return s;
  }
  std::unique_ptr<UsageLedger> ledger(new UsageLedger(db));
  const char* schema =
      "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
      "CREATE TABLE IF NOT EXISTS charges (request_id TEXT PRIMARY KEY, key_name TEXT NOT NULL,"
      " tokens INTEGER NOT NULL, uid INTEGER NOT NULL, model TEXT NOT NULL, time_ms INTEGER NOT NULL,"
      " account TEXT NOT NULL, paid_units INTEGER NOT NULL, payee TEXT NOT NULL);"
      "CREATE TABLE IF NOT EXISTS forwards (id INTEGER PRIMARY KEY AUTOINCREMENT, payee TEXT NOT NULL,"
      " amount INTEGER NOT NULL, tx BLOB NOT NULL, tx_hash TEXT NOT NULL, state TEXT NOT NULL);"
      "CREATE TABLE IF NOT EXISTS forward_mark (id INTEGER PRIMARY KEY CHECK (id = 1), upto INTEGER NOT NULL);"
      "CREATE TABLE IF NOT EXISTS deposits (tx_hash TEXT PRIMARY KEY, account TEXT NOT NULL,"
      " amount INTEGER NOT NULL, block INTEGER NOT NULL);"
      "CREATE TABLE IF NOT EXISTS scan (id INTEGER PRIMARY KEY CHECK (id = 1), height INTEGER NOT NULL);";
  if (sqlite3_exec(db, schema, nullptr, nullptr, nullptr) != SQLITE_OK) return SqlError(db, "schema");
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(db, "SELECT key_name, SUM(tokens), COUNT(*) FROM charges GROUP BY key_name",
                         -1, &st, nullptr) != SQLITE_OK) {
    return SqlError(db, "read totals");
  }
  absl::MutexLock lock(&ledger->mu_);
  while (sqlite3_step(st) == SQLITE_ROW) {
    const char* name = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
    ledger->totals_[name ? name : ""] = {static_cast<uint64_t>(sqlite3_column_int64(st, 1)),
                                         static_cast<uint64_t>(sqlite3_column_int64(st, 2))};
  }
  sqlite3_finalize(st);
  const char* sums[] = {
      "SELECT account, SUM(paid_units) FROM charges WHERE account != '' GROUP BY account",
      "SELECT account, SUM(amount) FROM deposits GROUP BY account",
      "SELECT '', height FROM scan"};
  for (int q = 0; q < 3; ++q) {
    if (sqlite3_prepare_v2(db, sums[q], -1, &st, nullptr) != SQLITE_OK) return SqlError(db, "read sums");
    while (sqlite3_step(st) == SQLITE_ROW) {
      const char* a = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
      const uint64_t v = static_cast<uint64_t>(sqlite3_column_int64(st, 1));
      if (q == 0) ledger->paid_[a ? a : ""] = v;
      if (q == 1) ledger->deposited_[a ? a : ""] = v;
      if (q == 2) ledger->scanned_ = v;
    }
    sqlite3_finalize(st);
  }
  return ledger;
}

UsageLedger::~UsageLedger() { sqlite3_close(db_); }

struct UsageLedger::PendingCharge::Entry {
  Charge charge;
  bool done = false;  // guarded by the ledger's mu_
  absl::Status status;
};

UsageLedger::PendingCharge UsageLedger::Submit(const Charge& c) {
  auto e = std::make_shared<PendingCharge::Entry>();
  e->charge = c;
  absl::MutexLock lock(&mu_);
  auto& t = totals_[c.key_name];
  t.first += c.tokens;
  t.second += 1;
  if (!c.account.empty()) paid_[c.account] += c.paid_units;
  queue_.push_back(e);
  return PendingCharge(this, std::move(e));
}

absl::Status UsageLedger::PendingCharge::Wait() {
  if (ledger_ == nullptr) return absl::FailedPreconditionError("no charge was submitted");
  return ledger_->WaitFor(entry_);
}

absl::Status UsageLedger::Record(const Charge& c) { return Submit(c).Wait(); }

void UsageLedger::Unapply(const Charge& c) {
  auto& t = totals_[c.key_name];
  t.first -= c.tokens;
  t.second -= 1;
  if (!c.account.empty()) paid_[c.account] -= c.paid_units;
}

absl::Status UsageLedger::WaitFor(const std::shared_ptr<PendingCharge::Entry>& entry) {
  struct Args {
    const PendingCharge::Entry* entry;
    const bool* committing;
  } args{entry.get(), &committing_};
  // Wakes when this charge is settled, or when nobody is committing: then
  // this waiter writes everything queued so far (its own charge included).
  mu_.LockWhen(absl::Condition(
      +[](Args* a) { return a->entry->done || !*a->committing; }, &args));
  if (entry->done) {
    absl::Status s = entry->status;
    mu_.Unlock();
    return s;
  }
  committing_ = true;
  std::vector<std::shared_ptr<PendingCharge::Entry>> batch;
  batch.swap(queue_);
  mu_.Unlock();
  {
    absl::MutexLock db(&db_mu_);
    CommitBatch(batch);
  }
  absl::MutexLock lock(&mu_);
  for (const auto& e : batch) {
    if (!e->status.ok()) Unapply(e->charge);
    e->done = true;
  }
  committing_ = false;
  return entry->status;
}

void UsageLedger::CommitBatch(const std::vector<std::shared_ptr<PendingCharge::Entry>>& batch) {
  if (batch.empty()) return;
  absl::Status failed;
  if (sqlite3_exec(db_, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) != SQLITE_OK) {
    failed = SqlError(db_, "begin");
  }
  for (size_t i = 0; failed.ok() && i < batch.size(); ++i) {
    const Charge& c = batch[i]->charge;
    const int rc = StepOnce(db_,
                            "INSERT INTO charges (request_id, key_name, tokens, uid, model, time_ms,"
                            " account, paid_units, payee) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                            [&](sqlite3_stmt* st) {
                              BindText(st, 1, c.request_id);
                              BindText(st, 2, c.key_name);
                              sqlite3_bind_int64(st, 3, static_cast<sqlite3_int64>(c.tokens));
                              sqlite3_bind_int64(st, 4, c.uid);
                              BindText(st, 5, c.model);
                              sqlite3_bind_int64(st, 6, static_cast<sqlite3_int64>(c.time_ms));
                              BindText(st, 7, c.account);
                              sqlite3_bind_int64(st, 8, static_cast<sqlite3_int64>(c.paid_units));
                              BindText(st, 9, c.payee);
                            });
    // A duplicate fails only its own statement; the transaction goes on.
    if (rc == SQLITE_CONSTRAINT) {
      batch[i]->status =
          absl::AlreadyExistsError(absl::StrCat("request ", c.request_id, " was already charged"));
    } else if (rc != SQLITE_DONE) {
      failed = SqlError(db_, "insert");
    }
  }
  if (failed.ok() && sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr) != SQLITE_OK) {
    failed = SqlError(db_, "commit");
  }
  if (failed.ok()) return;
  sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
  for (const auto& e : batch) e->status = failed;  // nothing of the batch was written
}

uint64_t UsageLedger::scanned_height() const {
  absl::MutexLock lock(&mu_);
  return scanned_;
}

absl::Status UsageLedger::RecordDeposits(const std::vector<Deposit>& deposits, uint64_t height) {
  absl::MutexLock db(&db_mu_);
  absl::MutexLock lock(&mu_);
  std::map<std::string, uint64_t> added;
  absl::Status s = Transaction(
      db_, "commit deposits",
      [&]() -> absl::Status {
        for (const Deposit& d : deposits) {
          const int rc = StepOnce(
              db_, "INSERT OR IGNORE INTO deposits (tx_hash, account, amount, block) VALUES (?, ?, ?, ?)",
              [&](sqlite3_stmt* st) {
                BindText(st, 1, d.tx_hash);
                BindText(st, 2, d.account);
                sqlite3_bind_int64(st, 3, static_cast<sqlite3_int64>(d.amount));
                sqlite3_bind_int64(st, 4, static_cast<sqlite3_int64>(d.block));
              });
          if (rc != SQLITE_DONE) return SqlError(db_, "insert deposit");
          if (sqlite3_changes(db_) == 1) added[d.account] += d.amount;
        }
        return absl::OkStatus();
      },
      absl::StrCat("INSERT INTO scan (id, height) VALUES (1, ", height,
                   ") ON CONFLICT(id) DO UPDATE SET height = ", height));
  if (!s.ok()) return s;
  for (const auto& [a, v] : added) deposited_[a] += v;
  scanned_ = height;
  return absl::OkStatus();
}

int64_t UsageLedger::Balance(const std::string& account) const {
  absl::MutexLock lock(&mu_);
  auto d = deposited_.find(account);
  auto p = paid_.find(account);
  return static_cast<int64_t>(d == deposited_.end() ? 0 : d->second) -
         static_cast<int64_t>(p == paid_.end() ? 0 : p->second);
}

std::vector<Forward> UsageLedger::OwedFees(double share, int64_t* upto) const {
  absl::MutexLock db(&db_mu_);
  absl::MutexLock lock(&mu_);
  std::vector<Forward> out;
  *upto = 0;
  sqlite3_stmt* st = nullptr;
  const char* q =
      "SELECT payee, SUM(paid_units), MAX(rowid) FROM charges WHERE paid_units > 0 AND payee != ''"
      " AND rowid > COALESCE((SELECT upto FROM forward_mark WHERE id = 1), 0) GROUP BY payee";
  if (sqlite3_prepare_v2(db_, q, -1, &st, nullptr) != SQLITE_OK) return out;
  while (sqlite3_step(st) == SQLITE_ROW) {
    Forward f;
    const char* p = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
    f.payee = p ? p : "";
    f.amount = static_cast<uint64_t>(share * double(sqlite3_column_int64(st, 1)));
    *upto = std::max<int64_t>(*upto, sqlite3_column_int64(st, 2));
    if (f.amount > 0) out.push_back(std::move(f));
  }
  sqlite3_finalize(st);
  return out;
}

absl::Status UsageLedger::AddForwards(const std::vector<Forward>& batch, int64_t upto) {
  absl::MutexLock db(&db_mu_);
  absl::MutexLock lock(&mu_);
  return Transaction(
      db_, "commit forwards",
      [&]() -> absl::Status {
        for (const Forward& f : batch) {
          const int rc = StepOnce(
              db_, "INSERT INTO forwards (payee, amount, tx, tx_hash, state) VALUES (?, ?, ?, ?, 'pending')",
              [&](sqlite3_stmt* st) {
                BindText(st, 1, f.payee);
                sqlite3_bind_int64(st, 2, static_cast<sqlite3_int64>(f.amount));
                BindBlob(st, 3, f.tx);
                BindText(st, 4, f.tx_hash);
              });
          if (rc != SQLITE_DONE) return SqlError(db_, "insert forward");
        }
        return absl::OkStatus();
      },
      absl::StrCat("INSERT INTO forward_mark (id, upto) VALUES (1, ", upto,
                   ") ON CONFLICT(id) DO UPDATE SET upto = ", upto));
}

std::vector<Forward> UsageLedger::PendingForwards() const {
  absl::MutexLock db(&db_mu_);
  absl::MutexLock lock(&mu_);
  std::vector<Forward> out;
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(db_, "SELECT id, payee, amount, tx, tx_hash, state FROM forwards WHERE state = 'pending' ORDER BY id",
                         -1, &st, nullptr) != SQLITE_OK) {
    return out;
  }
  while (sqlite3_step(st) == SQLITE_ROW) {
    Forward f;
    f.id = sqlite3_column_int64(st, 0);
    f.payee = reinterpret_cast<const char*>(sqlite3_column_text(st, 1));
    f.amount = static_cast<uint64_t>(sqlite3_column_int64(st, 2));
    f.tx.assign(static_cast<const char*>(sqlite3_column_blob(st, 3)), sqlite3_column_bytes(st, 3));
    f.tx_hash = reinterpret_cast<const char*>(sqlite3_column_text(st, 4));
    f.state = reinterpret_cast<const char*>(sqlite3_column_text(st, 5));
    out.push_back(std::move(f));
  }
  sqlite3_finalize(st);
  return out;
}

absl::Status UsageLedger::UpdateForward(const Forward& f) {
  absl::MutexLock db(&db_mu_);
  absl::MutexLock lock(&mu_);
  const int rc = StepOnce(db_, "UPDATE forwards SET tx = ?, tx_hash = ?, state = ? WHERE id = ?",
                          [&](sqlite3_stmt* st) {
                            BindBlob(st, 1, f.tx);
                            BindText(st, 2, f.tx_hash);
                            BindText(st, 3, f.state);
                            sqlite3_bind_int64(st, 4, f.id);
                          });
  return rc == SQLITE_DONE ? absl::OkStatus() : SqlError(db_, "update forward");
}

uint64_t UsageLedger::Forwarded(const std::string& payee) const {
  absl::MutexLock db(&db_mu_);
  absl::MutexLock lock(&mu_);
  sqlite3_stmt* st = nullptr;
  uint64_t total = 0;
  if (sqlite3_prepare_v2(db_, "SELECT COALESCE(SUM(amount), 0) FROM forwards WHERE state = 'done' AND payee = ?",
                         -1, &st, nullptr) != SQLITE_OK) {
    return 0;
  }
  BindText(st, 1, payee);
  if (sqlite3_step(st) == SQLITE_ROW) total = static_cast<uint64_t>(sqlite3_column_int64(st, 0));
  sqlite3_finalize(st);
  return total;
}

uint64_t UsageLedger::Deposited(const std::string& account) const {
  absl::MutexLock lock(&mu_);
  auto d = deposited_.find(account);
  return d == deposited_.end() ? 0 : d->second;
}

uint64_t UsageLedger::Used(const std::string& key_name) const {
  absl::MutexLock lock(&mu_);
  auto it = totals_.find(key_name);
  return it == totals_.end() ? 0 : it->second.first;
}

uint64_t UsageLedger::requests(const std::string& key_name) const {
  absl::MutexLock lock(&mu_);
  auto it = totals_.find(key_name);
  return it == totals_.end() ? 0 : it->second.second;
}

}  // namespace agora::validator
