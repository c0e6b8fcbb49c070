#include "validator/usage_ledger.h"

#include <sqlite3.h>

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
      " tokens INTEGER NOT NULL, uid INTEGER NOT NULL, model TEXT NOT NULL, time_ms INTEGER NOT NULL);";
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
  return ledger;
}

UsageLedger::~UsageLedger() { sqlite3_close(db_); }

absl::Status UsageLedger::Record(const Charge& c) {
  absl::MutexLock lock(&mu_);
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(db_,
                         "INSERT INTO charges (request_id, key_name, tokens, uid, model, time_ms)"
                         " VALUES (?, ?, ?, ?, ?, ?)",
                         -1, &st, nullptr) != SQLITE_OK) {
    return SqlError(db_, "prepare");
  }
  sqlite3_bind_text(st, 1, c.request_id.data(), static_cast<int>(c.request_id.size()), SQLITE_TRANSIENT);
  sqlite3_bind_text(st, 2, c.key_name.data(), static_cast<int>(c.key_name.size()), SQLITE_TRANSIENT);
  sqlite3_bind_int64(st, 3, static_cast<sqlite3_int64>(c.tokens));
  sqlite3_bind_int64(st, 4, c.uid);
  sqlite3_bind_text(st, 5, c.model.data(), static_cast<int>(c.model.size()), SQLITE_TRANSIENT);
  sqlite3_bind_int64(st, 6, static_cast<sqlite3_int64>(c.time_ms));
  const int rc = sqlite3_step(st);
  sqlite3_finalize(st);
  if (rc == SQLITE_CONSTRAINT) {
    return absl::AlreadyExistsError(absl::StrCat("request ", c.request_id, " was already charged"));
  }
  if (rc != SQLITE_DONE) return SqlError(db_, "insert");
  auto& t = totals_[c.key_name];
  t.first += c.tokens;
  t.second += 1;
  return absl::OkStatus();
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
