// ChainStore: agora-chain's durable state, an append-only event log in SQLite
// (WAL mode, synchronous=FULL) from which the ledger is rebuilt at start-up.
//
// The log holds, in order, every accepted transaction (its exact SignedTx
// bytes and the block it belongs to) and every sealed block (timestamp, hash,
// state root). Replaying the log from genesis (or from the latest snapshot)
// through the pure state transition reproduces the state bit for bit; each
// replayed block's hash is checked against the stored one, so corruption or
// non-determinism is reported as DataLoss instead of silently diverging.
//
// A transaction is acknowledged to its sender only after Append() has
// committed it, so kill -9 at any moment loses nothing acknowledged.
// Schema and file layout: docs/CHAIN.md "Storage".
//
// Thread-compatible: one owner thread (the node's committer) calls it.
#ifndef AGORA_CHAIN_STORE_H_
#define AGORA_CHAIN_STORE_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "chain/state.h"

struct sqlite3;

namespace agora::chain {

struct TxRecord {
  BlockHeight block = 0;  // the block the transaction is part of
  uint32_t index = 0;     // its position in that block
  Hash256 hash{};
  std::string bytes;      // SignedTx encoding
};

struct BlockRecord {
  BlockHeight height = 0;
  uint64_t timestamp_ms = 0;
  Hash256 hash{};
  Hash256 state_root{};
  uint32_t tx_count = 0;
};

// A sealed block and (a page of) its transactions, in block order.
struct SealedBlockTxs {
  BlockRecord block;
  std::vector<TxRecord> txs;
};

// One entry of the log: a transaction or a block seal.
struct LogEvent {
  std::optional<TxRecord> tx;
  std::optional<BlockRecord> block;
};

class ChainStore {
 public:
  // Opens or creates the database at `path`. A new database records
  // `genesis_hash`; an existing one must carry the same (FailedPrecondition
  // otherwise: the data directory belongs to another chain).
  static absl::StatusOr<std::unique_ptr<ChainStore>> Open(const std::string& path,
                                                          const Hash256& genesis_hash);
  ~ChainStore();
  ChainStore(const ChainStore&) = delete;
  ChainStore& operator=(const ChainStore&) = delete;

  // Appends events in one SQLite transaction; returns once they are durable.
  absl::Status Append(const std::vector<LogEvent>& events);

  // The latest snapshot (state bytes, height), if any.
  absl::StatusOr<std::optional<std::pair<BlockHeight, std::string>>> LatestSnapshot();
  // Stores a snapshot of the state after block `height` and prunes older ones.
  absl::Status WriteSnapshot(BlockHeight height, const std::string& state_bytes);
  // Every event after block `after_height` was sealed, in log order: the
  // transactions of later blocks, their seals, and trailing transactions of
  // the block not yet sealed.
  absl::StatusOr<std::vector<LogEvent>> EventsAfter(BlockHeight after_height);

  // Where a transaction landed, if it was accepted.
  absl::StatusOr<std::optional<TxRecord>> FindTx(const Hash256& hash);
  absl::StatusOr<std::optional<BlockRecord>> FindBlock(BlockHeight height);
  // The seal of block `height` and its transactions from index `first` on,
  // in block order, stopping before the one that would take the total of
  // their encodings above `max_bytes` (but always including one when any is
  // left, so paging makes progress). nullopt when `height` has no seal: 0
  // (genesis is not a block), the block being built, or a future height.
  // DataLoss if the stored transactions do not match the seal's tx_count.
  absl::StatusOr<std::optional<SealedBlockTxs>> FindBlockTxs(BlockHeight height,
                                                             uint32_t first = 0,
                                                             size_t max_bytes = SIZE_MAX);

 private:
  explicit ChainStore(sqlite3* db) : db_(db) {}
  absl::Status Exec(const char* sql);
  // Best effort: a failed rollback leaves SQLite to roll back on the next open.
  void Rollback() { (void)Exec("ROLLBACK"); }
  sqlite3* db_;
};

}  // namespace agora::chain

#endif  // AGORA_CHAIN_STORE_H_
