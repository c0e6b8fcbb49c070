#include "validator/usage_ledger.h"

#include <sqlite3.h>

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace agora::validator {
namespace {

absl::Status SqlError(sqlite3* db, const char* what) {
  return absl::InternalError(absl::StrCat("usage ledger: ", what, ": ", sqlite3_errmsg(db)));
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

absl::Status UsageLedger::Record(const Charge& c) {
  absl::MutexLock lock(&mu_);
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(db_,
                         "INSERT INTO charges (request_id, key_name, tokens, uid, model, time_ms,"
                         " account, paid_units, payee) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                         -1, &st, nullptr) != SQLITE_OK) {
    return SqlError(db_, "prepare");
  }
  sqlite3_bind_text(st, 1, c.request_id.data(), static_cast<int>(c.request_id.size()), SQLITE_TRANSIENT);
  sqlite3_bind_text(st, 2, c.key_name.data(), static_cast<int>(c.key_name.size()), SQLITE_TRANSIENT);
  sqlite3_bind_int64(st, 3, static_cast<sqlite3_int64>(c.tokens));
  sqlite3_bind_int64(st, 4, c.uid);
  sqlite3_bind_text(st, 5, c.model.data(), static_cast<int>(c.model.size()), SQLITE_TRANSIENT);
  sqlite3_bind_int64(st, 6, static_cast<sqlite3_int64>(c.time_ms));
  sqlite3_bind_text(st, 7, c.account.data(), static_cast<int>(c.account.size()), SQLITE_TRANSIENT);
  sqlite3_bind_int64(st, 8, static_cast<sqlite3_int64>(c.paid_units));
  sqlite3_bind_text(st, 9, c.payee.data(), static_cast<int>(c.payee.size()), SQLITE_TRANSIENT);
  const int rc = sqlite3_step(st);
  sqlite3_finalize(st);
  if (rc == SQLITE_CONSTRAINT) {
    return absl::AlreadyExistsError(absl::StrCat("request ", c.request_id, " was already charged"));
  }
  if (rc != SQLITE_DONE) return SqlError(db_, "insert");
  auto& t = totals_[c.key_name];
  t.first += c.tokens;
  t.second += 1;
  if (!c.account.empty()) paid_[c.account] += c.paid_units;
  return absl::OkStatus();
}

uint64_t UsageLedger::scanned_height() const {
  absl::MutexLock lock(&mu_);
  return scanned_;
}

absl::Status UsageLedger::RecordDeposits(const std::vector<Deposit>& deposits, uint64_t height) {
  absl::MutexLock lock(&mu_);
  if (sqlite3_exec(db_, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) != SQLITE_OK) {
    return SqlError(db_, "begin");
  }
  std::map<std::string, uint64_t> added;
  for (const Deposit& d : deposits) {
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(db_, "INSERT OR IGNORE INTO deposits (tx_hash, account, amount, block) VALUES (?, ?, ?, ?)",
                           -1, &st, nullptr) != SQLITE_OK) {
      sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
      return SqlError(db_, "prepare deposit");
    }
    sqlite3_bind_text(st, 1, d.tx_hash.data(), static_cast<int>(d.tx_hash.size()), SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, d.account.data(), static_cast<int>(d.account.size()), SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 3, static_cast<sqlite3_int64>(d.amount));
    sqlite3_bind_int64(st, 4, static_cast<sqlite3_int64>(d.block));
    const int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
      sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
      return SqlError(db_, "insert deposit");
    }
    if (sqlite3_changes(db_) == 1) added[d.account] += d.amount;
  }
  const std::string upsert = absl::StrCat(
      "INSERT INTO scan (id, height) VALUES (1, ", height, ") ON CONFLICT(id) DO UPDATE SET height = ", height);
  if (sqlite3_exec(db_, upsert.c_str(), nullptr, nullptr, nullptr) != SQLITE_OK ||
      sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr) != SQLITE_OK) {
    absl::Status s = SqlError(db_, "commit deposits");
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    return s;
  }
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
  absl::MutexLock lock(&mu_);
  if (sqlite3_exec(db_, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) != SQLITE_OK) return SqlError(db_, "begin");
  for (const Forward& f : batch) {
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(db_, "INSERT INTO forwards (payee, amount, tx, tx_hash, state) VALUES (?, ?, ?, ?, 'pending')",
                           -1, &st, nullptr) != SQLITE_OK) {
      sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
      return SqlError(db_, "prepare forward");
    }
    sqlite3_bind_text(st, 1, f.payee.data(), static_cast<int>(f.payee.size()), SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 2, static_cast<sqlite3_int64>(f.amount));
    sqlite3_bind_blob(st, 3, f.tx.data(), static_cast<int>(f.tx.size()), SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 4, f.tx_hash.data(), static_cast<int>(f.tx_hash.size()), SQLITE_TRANSIENT);
    const int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
      sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
      return SqlError(db_, "insert forward");
    }
  }
  const std::string mark = absl::StrCat(
      "INSERT INTO forward_mark (id, upto) VALUES (1, ", upto, ") ON CONFLICT(id) DO UPDATE SET upto = ", upto);
  if (sqlite3_exec(db_, mark.c_str(), nullptr, nullptr, nullptr) != SQLITE_OK ||
      sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr) != SQLITE_OK) {
    absl::Status s = SqlError(db_, "commit forwards");
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    return s;
  }
  return absl::OkStatus();
}

std::vector<Forward> UsageLedger::PendingForwards() const {
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
  absl::MutexLock lock(&mu_);
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(db_, "UPDATE forwards SET tx = ?, tx_hash = ?, state = ? WHERE id = ?", -1, &st,
                         nullptr) != SQLITE_OK) {
    return SqlError(db_, "prepare update");
  }
  sqlite3_bind_blob(st, 1, f.tx.data(), static_cast<int>(f.tx.size()), SQLITE_TRANSIENT);
  sqlite3_bind_text(st, 2, f.tx_hash.data(), static_cast<int>(f.tx_hash.size()), SQLITE_TRANSIENT);
  sqlite3_bind_text(st, 3, f.state.data(), static_cast<int>(f.state.size()), SQLITE_TRANSIENT);
  sqlite3_bind_int64(st, 4, f.id);
  const int rc = sqlite3_step(st);
  sqlite3_finalize(st);
  return rc == SQLITE_DONE ? absl::OkStatus() : SqlError(db_, "update forward");
}

uint64_t UsageLedger::Forwarded(const std::string& payee) const {
  absl::MutexLock lock(&mu_);
  sqlite3_stmt* st = nullptr;
  uint64_t total = 0;
  if (sqlite3_prepare_v2(db_, "SELECT COALESCE(SUM(amount), 0) FROM forwards WHERE state = 'done' AND payee = ?",
                         -1, &st, nullptr) != SQLITE_OK) {
    return 0;
  }
  sqlite3_bind_text(st, 1, payee.data(), static_cast<int>(payee.size()), SQLITE_TRANSIENT);
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
