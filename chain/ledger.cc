#include "chain/ledger.h"

#include <cstdlib>
#include <utility>

#include "absl/strings/str_cat.h"
#include "chain/apply.h"
#include "common/log.h"
#include "protocol/codec.h"

namespace agora::chain {
namespace {

// Replays stored events onto `state`. Transactions were verified when first
// accepted; here they are decoded and applied, and must apply again.
absl::Status Replay(ChainState& state, std::vector<Hash256>& block_txs,
                    const std::vector<LogEvent>& events) {
  for (const LogEvent& e : events) {
    if (e.tx) {
      absl::StatusOr<SignedTx> tx = protocol::Decode<SignedTx>(e.tx->bytes, "SignedTx");
      if (!tx.ok()) return absl::DataLossError(absl::StrCat("log: tx in block ", e.tx->block,
                                                            ": ", tx.status().message()));
      absl::StatusOr<TxBody> body = protocol::Decode<TxBody>(tx->body, "TxBody");
      if (!body.ok()) return absl::DataLossError(absl::StrCat("log: tx body: ", body.status().message()));
      if (e.tx->block != state.height + 1) {
        return absl::DataLossError(absl::StrCat("log: tx for block ", e.tx->block,
                                                " after block ", state.height));
      }
      absl::Status s = ApplyTx(state, *body, e.tx->block);
      if (!s.ok()) {
        return absl::DataLossError(absl::StrCat("log: stored tx no longer applies: ", s.message()));
      }
      block_txs.push_back(e.tx->hash);
    } else if (e.block) {
      absl::StatusOr<BlockReport> r = SealBlock(state, e.block->timestamp_ms, TxRoot(block_txs));
      if (!r.ok()) return r.status();
      if (r->height != e.block->height || r->block_hash != e.block->hash) {
        return absl::DataLossError(absl::StrCat("log: block ", e.block->height,
                                                " replays to a different hash"));
      }
      block_txs.clear();
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<Ledger>> Ledger::Open(const Genesis& genesis,
                                                     const std::string& db_path,
                                                     const LedgerOptions& options) {
  absl::StatusOr<std::unique_ptr<ChainStore>> store = ChainStore::Open(db_path, genesis.hash);
  if (!store.ok()) return store.status();
  ChainState state = genesis.state;
  absl::StatusOr<std::optional<std::pair<BlockHeight, std::string>>> snap =
      (*store)->LatestSnapshot();
  if (!snap.ok()) return snap.status();
  if (snap->has_value()) {
    absl::StatusOr<ChainState> loaded =
        protocol::Decode<ChainState>((*snap)->second, "ChainState", {1u << 24, 1u << 24, 1u << 20, 1u << 20, 0, 32});
    if (!loaded.ok()) return absl::DataLossError(absl::StrCat("snapshot: ", loaded.status().message()));
    state = std::move(*loaded);
  }
  absl::StatusOr<std::vector<LogEvent>> events = (*store)->EventsAfter(state.height);
  if (!events.ok()) return events.status();
  std::vector<Hash256> block_txs;
  absl::Status s = Replay(state, block_txs, *events);
  if (!s.ok()) return s;
  AGORA_LOG(INFO, "chain", "state at height %d (%d log events replayed, %d pending txs)",
            state.height, events->size(), block_txs.size());
  std::unique_ptr<Ledger> ledger(new Ledger(std::move(*store), std::move(state), options));
  ledger->block_txs_ = std::move(block_txs);
  return ledger;
}

Ledger::Ledger(std::unique_ptr<ChainStore> store, ChainState state, const LedgerOptions& options)
    : options_(options), store_(std::move(store)), state_(std::move(state)) {
  committer_ = std::thread([this] { CommitLoop(); });
}

Ledger::~Ledger() {
  {
    std::lock_guard<std::mutex> lock(queue_mu_);
    stopping_ = true;
  }
  queue_cv_.notify_all();
  committer_.join();
}

std::future<absl::Status> Ledger::Enqueue(LogEvent event, bool wait) {
  Pending p;
  p.event = std::move(event);
  p.has_waiter = wait;
  std::future<absl::Status> f = p.done.get_future();
  {
    std::lock_guard<std::mutex> lock(queue_mu_);
    queue_.push_back(std::move(p));
  }
  queue_cv_.notify_one();
  return f;
}

void Ledger::CommitLoop() {
  for (;;) {
    std::deque<Pending> batch;
    {
      std::unique_lock<std::mutex> lock(queue_mu_);
      queue_cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty() && stopping_) return;
      batch.swap(queue_);
    }
    std::vector<LogEvent> events;
    events.reserve(batch.size());
    for (Pending& p : batch) events.push_back(p.event);
    absl::Status s;
    {
      std::lock_guard<std::mutex> lock(store_mu_);
      s = store_->Append(events);
    }
    if (!s.ok()) {
      // Memory is ahead of disk and nothing in this batch was acknowledged:
      // stop here; a restart rebuilds exactly the acknowledged state.
      AGORA_LOG(ERROR, "chain", "cannot commit to the store, stopping: %s", s.ToString());
      std::abort();
    }
    for (Pending& p : batch) p.done.set_value(absl::OkStatus());
  }
}

absl::StatusOr<TxReceipt> Ledger::Submit(absl::string_view signed_tx_bytes) {
  absl::StatusOr<SignedTx> tx = DecodeSignedTx(signed_tx_bytes);
  if (!tx.ok()) return tx.status();
  absl::StatusOr<TxBody> body = VerifyTx(*tx);  // outside the lock: verification runs in parallel
  if (!body.ok()) return body.status();
  TxReceipt receipt;
  receipt.tx_hash = TxHash(*tx);
  std::future<absl::Status> durable;
  {
    std::unique_lock<std::shared_mutex> lock(state_mu_);
    receipt.block = state_.height + 1;
    absl::Status s = ApplyTx(state_, *body, receipt.block);
    if (!s.ok()) return s;
    receipt.index = static_cast<uint32_t>(block_txs_.size());
    block_txs_.push_back(receipt.tx_hash);
    TxRecord record{receipt.block, receipt.index, receipt.tx_hash, std::string(signed_tx_bytes)};
    // Enqueued under the state lock so the log order is the application order.
    durable = Enqueue(LogEvent{std::move(record), std::nullopt}, /*wait=*/true);
  }
  absl::Status s = durable.get();
  if (!s.ok()) return s;
  return receipt;
}

absl::StatusOr<BlockReport> Ledger::SealBlock(uint64_t timestamp_ms) {
  absl::StatusOr<BlockReport> report;
  std::string snapshot;
  std::future<absl::Status> durable;
  {
    std::unique_lock<std::shared_mutex> lock(state_mu_);
    // Block timestamps never go backwards, whatever the wall clock does.
    timestamp_ms = std::max(timestamp_ms, state_.block_time_ms);
    const uint32_t tx_count = static_cast<uint32_t>(block_txs_.size());
    report = chain::SealBlock(state_, timestamp_ms, TxRoot(block_txs_));
    if (!report.ok()) return report.status();
    report->tx_count = tx_count;
    block_txs_.clear();
    BlockRecord record{report->height, report->timestamp_ms, report->block_hash,
                       report->state_root, tx_count};
    durable = Enqueue(LogEvent{std::nullopt, record}, /*wait=*/true);
    if (options_.snapshot_every_blocks > 0 && report->height % options_.snapshot_every_blocks == 0) {
      snapshot = protocol::Encode(state_);
    }
  }
  // Return (and so let the node announce the block) only once the seal is
  // durable: a block anyone has seen must survive a crash. This also orders
  // the snapshot after its block. Failures abort in CommitLoop.
  (void)durable.get();
  if (!snapshot.empty()) {
    std::lock_guard<std::mutex> lock(store_mu_);
    absl::Status s = store_->WriteSnapshot(report->height, snapshot);
    if (!s.ok()) AGORA_LOG(WARN, "chain", "snapshot at %d failed: %s", report->height, s.ToString());
  }
  return report;
}

void Ledger::Read(const std::function<void(const ChainState&)>& fn) const {
  std::shared_lock<std::shared_mutex> lock(state_mu_);
  fn(state_);
}

absl::StatusOr<std::optional<TxRecord>> Ledger::FindTx(const Hash256& hash) {
  std::lock_guard<std::mutex> lock(store_mu_);
  return store_->FindTx(hash);
}

absl::StatusOr<std::optional<SealedBlockTxs>> Ledger::FindBlockTxs(BlockHeight height,
                                                                  uint32_t first,
                                                                  size_t max_bytes) {
  std::lock_guard<std::mutex> lock(store_mu_);
  return store_->FindBlockTxs(height, first, max_bytes);
}

}  // namespace agora::chain
