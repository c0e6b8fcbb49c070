#include "chain/store.h"

#include <sqlite3.h>

#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"

namespace agora::chain {
namespace {

absl::Status SqlError(sqlite3* db, absl::string_view what) {
  return absl::InternalError(absl::StrCat("chain store: ", what, ": ", sqlite3_errmsg(db)));
}

// RAII prepared statement.
class Stmt {
 public:
  Stmt(sqlite3* db, const char* sql) : db_(db) {
    rc_ = sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr);
  }
  ~Stmt() { sqlite3_finalize(stmt_); }
  bool ok() const { return rc_ == SQLITE_OK; }
  sqlite3_stmt* get() { return stmt_; }
  void Blob(int i, const void* p, size_t n) {
    sqlite3_bind_blob(stmt_, i, p, static_cast<int>(n), SQLITE_TRANSIENT);
  }
  template <size_t N>
  void Blob(int i, const std::array<uint8_t, N>& a) { Blob(i, a.data(), N); }
  void Int(int i, uint64_t v) { sqlite3_bind_int64(stmt_, i, static_cast<sqlite3_int64>(v)); }
  int Step() { return sqlite3_step(stmt_); }
  uint64_t ColInt(int i) { return static_cast<uint64_t>(sqlite3_column_int64(stmt_, i)); }
  std::string ColBlob(int i) {
    const void* p = sqlite3_column_blob(stmt_, i);
    const int n = sqlite3_column_bytes(stmt_, i);
    return p == nullptr ? std::string() : std::string(static_cast<const char*>(p), n);
  }
  template <size_t N>
  bool ColArray(int i, std::array<uint8_t, N>& out) {
    const std::string b = ColBlob(i);
    if (b.size() != N) return false;
    std::memcpy(out.data(), b.data(), N);
    return true;
  }

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
  int rc_;
};

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS log (
  seq INTEGER PRIMARY KEY,          -- log order
  block INTEGER NOT NULL,           -- tx: block it belongs to; seal: the sealed height
  kind INTEGER NOT NULL,            -- 1 = transaction, 2 = block seal
  idx INTEGER NOT NULL,             -- tx: index in block; seal: tx count
  hash BLOB NOT NULL,               -- tx hash or block hash
  aux BLOB,                         -- seal: state root
  ts INTEGER,                       -- seal: timestamp (ms)
  bytes BLOB                        -- tx: SignedTx encoding
);
CREATE UNIQUE INDEX IF NOT EXISTS log_hash ON log(hash);
CREATE INDEX IF NOT EXISTS log_block ON log(block, kind);
CREATE TABLE IF NOT EXISTS snapshots (height INTEGER PRIMARY KEY, state BLOB NOT NULL);
)sql";

LogEvent ReadEvent(Stmt& s, bool* ok) {
  // Columns: block, kind, idx, hash, aux, ts, bytes
  LogEvent e;
  const uint64_t kind = s.ColInt(1);
  if (kind == 1) {
    TxRecord tx;
    tx.block = s.ColInt(0);
    tx.index = static_cast<uint32_t>(s.ColInt(2));
    *ok = s.ColArray(3, tx.hash);
    tx.bytes = s.ColBlob(6);
    e.tx = std::move(tx);
  } else if (kind == 2) {
    BlockRecord b;
    b.height = s.ColInt(0);
    b.tx_count = static_cast<uint32_t>(s.ColInt(2));
    *ok = s.ColArray(3, b.hash) && s.ColArray(4, b.state_root);
    b.timestamp_ms = s.ColInt(5);
    e.block = b;
  } else {
    *ok = false;
  }
  return e;
}

}  // namespace

absl::StatusOr<std::unique_ptr<ChainStore>> ChainStore::Open(const std::string& path,
                                                             const Hash256& genesis_hash) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                      nullptr) != SQLITE_OK) {
    absl::Status s = absl::UnavailableError(
        absl::StrCat("chain store: cannot open ", path, ": ", db ? sqlite3_errmsg(db) : "?"));
    sqlite3_close(db);
    return s;
  }
  std::unique_ptr<ChainStore> store(new ChainStore(db));
  sqlite3_busy_timeout(db, 5000);
  if (absl::Status s = store->Exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;");
      !s.ok()) {
    return s;
  }
  if (absl::Status s = store->Exec(kSchema); !s.ok()) return s;
  Stmt get(db, "SELECT value FROM meta WHERE key = 'genesis_hash'");
  if (!get.ok()) return SqlError(db, "read meta");
  if (get.Step() == SQLITE_ROW) {
    Hash256 stored{};
    if (!get.ColArray(0, stored)) return absl::DataLossError("chain store: bad genesis_hash");
    if (stored != genesis_hash) {
      return absl::FailedPreconditionError(absl::StrCat(
          "chain store: ", path, " belongs to another genesis (",
          ToHex(stored).substr(0, 16), "..., this genesis is ", ToHex(genesis_hash).substr(0, 16),
          "...); use another data directory"));
    }
  } else {
    Stmt put(db, "INSERT INTO meta(key, value) VALUES('genesis_hash', ?1)");
    put.Blob(1, genesis_hash);
    if (put.Step() != SQLITE_DONE) return SqlError(db, "write meta");
  }
  return store;
}

ChainStore::~ChainStore() { sqlite3_close(db_); }

absl::Status ChainStore::Exec(const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    absl::Status s = absl::InternalError(absl::StrCat("chain store: ", err ? err : "?"));
    sqlite3_free(err);
    return s;
  }
  return absl::OkStatus();
}

absl::Status ChainStore::Append(const std::vector<LogEvent>& events) {
  if (events.empty()) return absl::OkStatus();
  if (absl::Status s = Exec("BEGIN IMMEDIATE"); !s.ok()) return s;
  Stmt ins(db_, "INSERT INTO log(block, kind, idx, hash, aux, ts, bytes) "
                "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)");
  if (!ins.ok()) {
    Rollback();
    return SqlError(db_, "prepare append");
  }
  for (const LogEvent& e : events) {
    if (!e.tx && !e.block) continue;  // a barrier: only waits for what precedes it
    sqlite3_reset(ins.get());
    sqlite3_clear_bindings(ins.get());
    if (e.tx) {
      ins.Int(1, e.tx->block);
      ins.Int(2, 1);
      ins.Int(3, e.tx->index);
      ins.Blob(4, e.tx->hash);
      ins.Blob(7, e.tx->bytes.data(), e.tx->bytes.size());
    } else if (e.block) {
      ins.Int(1, e.block->height);
      ins.Int(2, 2);
      ins.Int(3, e.block->tx_count);
      ins.Blob(4, e.block->hash);
      ins.Blob(5, e.block->state_root);
      ins.Int(6, e.block->timestamp_ms);
    }
    if (ins.Step() != SQLITE_DONE) {
      absl::Status s = SqlError(db_, "append");
      Rollback();
      return s;
    }
  }
  return Exec("COMMIT");
}

absl::StatusOr<std::optional<std::pair<BlockHeight, std::string>>> ChainStore::LatestSnapshot() {
  Stmt s(db_, "SELECT height, state FROM snapshots ORDER BY height DESC LIMIT 1");
  if (!s.ok()) return SqlError(db_, "read snapshot");
  if (s.Step() != SQLITE_ROW) return std::optional<std::pair<BlockHeight, std::string>>();
  return std::make_optional(std::make_pair(s.ColInt(0), s.ColBlob(1)));
}

absl::Status ChainStore::WriteSnapshot(BlockHeight height, const std::string& state_bytes) {
  if (absl::Status s = Exec("BEGIN IMMEDIATE"); !s.ok()) return s;
  Stmt ins(db_, "INSERT OR REPLACE INTO snapshots(height, state) VALUES(?1, ?2)");
  ins.Int(1, height);
  ins.Blob(2, state_bytes.data(), state_bytes.size());
  if (!ins.ok() || ins.Step() != SQLITE_DONE) {
    absl::Status s = SqlError(db_, "write snapshot");
    Rollback();
    return s;
  }
  Stmt prune(db_, "DELETE FROM snapshots WHERE height < ?1");
  prune.Int(1, height);
  if (!prune.ok() || prune.Step() != SQLITE_DONE) {
    absl::Status s = SqlError(db_, "prune snapshots");
    Rollback();
    return s;
  }
  return Exec("COMMIT");
}

absl::StatusOr<std::vector<LogEvent>> ChainStore::EventsAfter(BlockHeight after_height) {
  Stmt s(db_, "SELECT block, kind, idx, hash, aux, ts, bytes FROM log WHERE block > ?1 "
              "ORDER BY seq");
  if (!s.ok()) return SqlError(db_, "read log");
  s.Int(1, after_height);
  std::vector<LogEvent> out;
  int rc;
  while ((rc = s.Step()) == SQLITE_ROW) {
    bool ok = true;
    out.push_back(ReadEvent(s, &ok));
    if (!ok) {
      return absl::DataLossError(absl::StrCat("chain store: malformed log row for block ",
                                              s.ColInt(0)));
    }
  }
  if (rc != SQLITE_DONE) return SqlError(db_, "read log");
  return out;
}

absl::StatusOr<std::optional<TxRecord>> ChainStore::FindTx(const Hash256& hash) {
  Stmt s(db_, "SELECT block, kind, idx, hash, aux, ts, bytes FROM log WHERE hash = ?1 AND kind = 1");
  if (!s.ok()) return SqlError(db_, "find tx");
  s.Blob(1, hash);
  if (s.Step() != SQLITE_ROW) return std::optional<TxRecord>();
  bool ok = true;
  LogEvent e = ReadEvent(s, &ok);
  if (!ok) return absl::DataLossError("chain store: malformed tx row");
  return e.tx;
}

absl::StatusOr<std::optional<BlockRecord>> ChainStore::FindBlock(BlockHeight height) {
  Stmt s(db_, "SELECT block, kind, idx, hash, aux, ts, bytes FROM log WHERE block = ?1 AND kind = 2");
  if (!s.ok()) return SqlError(db_, "find block");
  s.Int(1, height);
  if (s.Step() != SQLITE_ROW) return std::optional<BlockRecord>();
  bool ok = true;
  LogEvent e = ReadEvent(s, &ok);
  if (!ok) return absl::DataLossError("chain store: malformed block row");
  return e.block;
}

absl::StatusOr<std::optional<SealedBlockTxs>> ChainStore::FindBlockTxs(BlockHeight height,
                                                                       uint32_t first,
                                                                       size_t max_bytes) {
  absl::StatusOr<std::optional<BlockRecord>> seal = FindBlock(height);
  if (!seal.ok()) return seal.status();
  if (!seal->has_value()) return std::optional<SealedBlockTxs>();
  SealedBlockTxs out;
  out.block = **seal;
  if (first >= out.block.tx_count) return std::make_optional(std::move(out));
  // A sealed block's transactions were committed before (or with) its seal,
  // and the log is append-only, so they are all here.
  Stmt s(db_, "SELECT block, kind, idx, hash, aux, ts, bytes FROM log "
              "WHERE block = ?1 AND kind = 1 AND idx >= ?2 ORDER BY idx");
  if (!s.ok()) return SqlError(db_, "read block txs");
  s.Int(1, height);
  s.Int(2, first);
  size_t total = 0;
  uint64_t expect = first;
  int rc;
  while ((rc = s.Step()) == SQLITE_ROW) {
    // Size first, so a page never copies a row it will not return.
    const size_t n = static_cast<size_t>(sqlite3_column_bytes(s.get(), 6));
    if (!out.txs.empty() && (n > max_bytes || total + n > max_bytes)) break;
    bool ok = true;
    LogEvent e = ReadEvent(s, &ok);
    if (!ok || !e.tx || e.tx->index != expect) {
      return absl::DataLossError(absl::StrCat("chain store: malformed or missing tx ", expect,
                                              " of block ", height));
    }
    total += n;
    ++expect;
    out.txs.push_back(std::move(*e.tx));
  }
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) return SqlError(db_, "read block txs");
  if (rc == SQLITE_DONE && expect < out.block.tx_count) {
    return absl::DataLossError(absl::StrCat("chain store: block ", height, " holds ", expect,
                                            " of its ", out.block.tx_count, " txs"));
  }
  if (expect > out.block.tx_count) {
    return absl::DataLossError(absl::StrCat("chain store: block ", height, " holds more than its ",
                                            out.block.tx_count, " txs"));
  }
  return std::make_optional(std::move(out));
}

}  // namespace agora::chain
