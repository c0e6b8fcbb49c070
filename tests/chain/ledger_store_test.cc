// Tests of chain/store.h and chain/ledger.h on a temporary directory:
// reopening rebuilds the same state (from the log alone, or from a snapshot
// plus the log after it), a store belongs to one genesis, and a tampered log
// is reported as DataLoss instead of diverging silently.
#include <sqlite3.h>

#include <atomic>
#include <cstdint>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "chain/ledger.h"
#include "chain/store.h"
#include "gtest/gtest.h"
#include "tests/chain/ledger_test_util.h"
#include "tests/common/temp_dir.h"

namespace agora::chain {
namespace {

using testing::GenesisText;
using testing::StateBytes;
using testing::TestKey;

constexpr Amount kToken = kUnitsPerToken;

class LedgerStoreTest : public ::testing::Test {
 protected:
  LedgerStoreTest() : owner_(TestKey("owner")), hot_(TestKey("owner-hot")) {
    for (int i = 0; i < 4; ++i) users_.push_back(TestKey(absl::StrCat("user-", i)));
    GenesisText g;
    g.Account(owner_, 1000 * kToken);
    for (const SigningKey& u : users_) g.Account(u, 1000 * kToken);
    g.Subnet(1, owner_, &hot_, "tempo = 3\nburn = 1000000000\nadjustment_interval = 0");
    genesis_ = g.Parse();
  }

  std::string Db() const { return dir_.Sub("chain.db"); }

  absl::StatusOr<std::unique_ptr<Ledger>> Open(uint64_t snapshot_every = 0) {
    LedgerOptions o;
    o.snapshot_every_blocks = snapshot_every;
    return Ledger::Open(genesis_, Db(), o);
  }

  // Signs with the account's nonce as the ledger sees it.
  template <typename Payload>
  absl::StatusOr<TxReceipt> Submit(Ledger& ledger, const SigningKey& key, const char* type,
                                   const Payload& p) {
    uint64_t nonce = 0;
    std::string chain_id;
    ledger.Read([&](const ChainState& s) {
      nonce = testing::NextNonce(s, key.public_key());
      chain_id = s.chain_id;
    });
    return ledger.Submit(protocol::Encode(MakeTx(key, chain_id, type, nonce, p)));
  }

  // A few blocks of transfers, stake and registration, with txs left unsealed at the end.
  void Populate(Ledger& ledger, int blocks, uint64_t first_ts = 1000) {
    for (int b = 0; b < blocks; ++b) {
      for (size_t i = 0; i < users_.size(); ++i) {
        const SigningKey& to = users_[(i + 1) % users_.size()];
        ASSERT_TRUE(Submit(ledger, users_[i], kTxTransfer,
                           TransferTx{to.public_key(), 1000 + static_cast<Amount>(b)}).ok());
      }
      if (b == 0) {
        ASSERT_TRUE(Submit(ledger, owner_, kTxRegister,
                           RegisterTx{1, hot_.public_key(), false, kToken, 0, 0}).ok());
        ASSERT_TRUE(Submit(ledger, users_[0], kTxAddStake, StakeTx{hot_.public_key(), kToken}).ok());
      }
      absl::StatusOr<BlockReport> r = ledger.SealBlock(first_ts + static_cast<uint64_t>(b) * 10);
      ASSERT_TRUE(r.ok()) << r.status();
    }
    // Trailing transactions of the block being built.
    ASSERT_TRUE(Submit(ledger, users_[1], kTxTransfer, TransferTx{owner_.public_key(), 77}).ok());
  }

  static std::string Snapshot(const Ledger& ledger) {
    std::string bytes;
    ledger.Read([&](const ChainState& s) { bytes = StateBytes(s); });
    return bytes;
  }
  static BlockHeight Height(const Ledger& ledger) {
    BlockHeight h = 0;
    ledger.Read([&](const ChainState& s) { h = s.height; });
    return h;
  }

  void Exec(const std::string& sql) {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(Db().c_str(), &db), SQLITE_OK);
    char* err = nullptr;
    const int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err);
    EXPECT_EQ(rc, SQLITE_OK) << (err ? err : "") << " in " << sql;
    sqlite3_free(err);
    sqlite3_close(db);
  }

  agora::testing::TempDir dir_;
  SigningKey owner_, hot_;
  std::vector<SigningKey> users_;
  Genesis genesis_;
};

TEST_F(LedgerStoreTest, ReopenRebuildsTheSameState) {
  std::string before;
  TxReceipt trailing;
  {
    absl::StatusOr<std::unique_ptr<Ledger>> ledger = Open();
    ASSERT_TRUE(ledger.ok()) << ledger.status();
    Populate(**ledger, 7);
    absl::StatusOr<TxReceipt> r =
        Submit(**ledger, users_[2], kTxTransfer, TransferTx{owner_.public_key(), 5});
    ASSERT_TRUE(r.ok());
    trailing = *r;
    EXPECT_EQ(trailing.block, 8u);
    before = Snapshot(**ledger);
    EXPECT_EQ(Height(**ledger), 7u);
  }
  absl::StatusOr<std::unique_ptr<Ledger>> ledger = Open();
  ASSERT_TRUE(ledger.ok()) << ledger.status();
  EXPECT_EQ(Height(**ledger), 7u);
  EXPECT_EQ(Snapshot(**ledger), before);
  absl::StatusOr<std::optional<TxRecord>> found = (*ledger)->FindTx(trailing.tx_hash);
  ASSERT_TRUE(found.ok() && found->has_value());
  EXPECT_EQ((*found)->block, trailing.block);
  EXPECT_EQ((*found)->index, trailing.index);
  // The unsealed transactions are part of the next block, sealed identically
  // by a ledger that never restarted.
  absl::StatusOr<BlockReport> r = (*ledger)->SealBlock(5000);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->tx_count, 2u);
}

TEST_F(LedgerStoreTest, SealedBlocksAreTheSameAfterARestart) {
  // Two ledgers on two directories, one restarted after every block, seal the same hashes.
  agora::testing::TempDir other;
  LedgerOptions o;
  o.snapshot_every_blocks = 2;
  absl::StatusOr<std::unique_ptr<Ledger>> steady = Ledger::Open(genesis_, other.Sub("c.db"), o);
  ASSERT_TRUE(steady.ok());
  std::vector<Hash256> steady_hashes, restarted_hashes;
  for (int b = 0; b < 5; ++b) {
    for (auto* ledger_hashes : {&steady_hashes, &restarted_hashes}) {
      std::unique_ptr<Ledger> restarted;
      Ledger* ledger = steady->get();
      if (ledger_hashes == &restarted_hashes) {
        absl::StatusOr<std::unique_ptr<Ledger>> l = Open(/*snapshot_every=*/2);
        ASSERT_TRUE(l.ok()) << l.status();
        restarted = std::move(*l);
        ledger = restarted.get();
      }
      ASSERT_TRUE(Submit(*ledger, users_[b % 4], kTxTransfer,
                         TransferTx{owner_.public_key(), 10 + static_cast<Amount>(b)}).ok());
      absl::StatusOr<BlockReport> r = ledger->SealBlock(100 * static_cast<uint64_t>(b));
      ASSERT_TRUE(r.ok());
      ledger_hashes->push_back(r->block_hash);
    }
  }
  EXPECT_EQ(steady_hashes, restarted_hashes);
}

TEST_F(LedgerStoreTest, SnapshotPlusLaterEventsReplayToTheSameState) {
  std::string before;
  {
    absl::StatusOr<std::unique_ptr<Ledger>> ledger = Open(/*snapshot_every=*/4);
    ASSERT_TRUE(ledger.ok());
    Populate(**ledger, 10);
    before = Snapshot(**ledger);
  }
  {
    absl::StatusOr<std::unique_ptr<ChainStore>> store = ChainStore::Open(Db(), genesis_.hash);
    ASSERT_TRUE(store.ok());
    absl::StatusOr<std::optional<std::pair<BlockHeight, std::string>>> snap =
        (*store)->LatestSnapshot();
    ASSERT_TRUE(snap.ok() && snap->has_value());
    EXPECT_EQ((*snap)->first, 8u) << "snapshots every 4 blocks; older ones pruned";
    absl::StatusOr<std::vector<LogEvent>> after = (*store)->EventsAfter(8);
    ASSERT_TRUE(after.ok());
    EXPECT_EQ(after->size(), 2u * 5 + 1) << "blocks 9 and 10 (4 txs + seal each) and 1 trailing tx";
  }
  absl::StatusOr<std::unique_ptr<Ledger>> from_snapshot = Open(4);
  ASSERT_TRUE(from_snapshot.ok()) << from_snapshot.status();
  EXPECT_EQ(Snapshot(**from_snapshot), before);
  from_snapshot->reset();
  // The same state from the log alone.
  Exec("DELETE FROM snapshots");
  absl::StatusOr<std::unique_ptr<Ledger>> from_log = Open(0);
  ASSERT_TRUE(from_log.ok()) << from_log.status();
  EXPECT_EQ(Snapshot(**from_log), before);
}

TEST_F(LedgerStoreTest, AnotherGenesisIsRefused) {
  { ASSERT_TRUE(Open().ok()); }
  Genesis other = GenesisText("another-chain").Account(owner_, kToken).Parse();
  absl::StatusOr<std::unique_ptr<Ledger>> ledger = Ledger::Open(other, Db(), LedgerOptions{});
  ASSERT_FALSE(ledger.ok());
  EXPECT_EQ(ledger.status().code(), absl::StatusCode::kFailedPrecondition) << ledger.status();
  absl::StatusOr<std::unique_ptr<ChainStore>> store = ChainStore::Open(Db(), other.hash);
  EXPECT_EQ(store.status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(LedgerStoreTest, TamperedBlockHashIsDataLoss) {
  {
    absl::StatusOr<std::unique_ptr<Ledger>> ledger = Open();
    ASSERT_TRUE(ledger.ok());
    Populate(**ledger, 4);
  }
  Exec("UPDATE log SET hash = randomblob(32) WHERE kind = 2 AND block = 3");
  absl::StatusOr<std::unique_ptr<Ledger>> ledger = Open();
  ASSERT_FALSE(ledger.ok());
  EXPECT_EQ(ledger.status().code(), absl::StatusCode::kDataLoss) << ledger.status();
}

TEST_F(LedgerStoreTest, TruncatedHashColumnIsDataLoss) {
  {
    absl::StatusOr<std::unique_ptr<Ledger>> ledger = Open();
    ASSERT_TRUE(ledger.ok());
    Populate(**ledger, 3);
  }
  // A truncated hash column.
  Exec("UPDATE log SET hash = x'0011' WHERE kind = 2 AND block = 2");
  absl::StatusOr<std::unique_ptr<Ledger>> ledger = Open();
  ASSERT_FALSE(ledger.ok());
  EXPECT_EQ(ledger.status().code(), absl::StatusCode::kDataLoss) << ledger.status();
}

TEST_F(LedgerStoreTest, TamperedTransactionIsDataLoss) {
  {
    absl::StatusOr<std::unique_ptr<Ledger>> ledger = Open();
    ASSERT_TRUE(ledger.ok());
    Populate(**ledger, 3);
  }
  // A transaction whose bytes no longer decode...
  Exec("UPDATE log SET bytes = x'c0' WHERE kind = 1 AND block = 2 AND idx = 1");
  absl::StatusOr<std::unique_ptr<Ledger>> ledger = Open();
  ASSERT_FALSE(ledger.ok());
  EXPECT_EQ(ledger.status().code(), absl::StatusCode::kDataLoss) << ledger.status();
}

TEST_F(LedgerStoreTest, DroppedTransactionIsDataLoss) {
  {
    absl::StatusOr<std::unique_ptr<Ledger>> ledger = Open();
    ASSERT_TRUE(ledger.ok());
    Populate(**ledger, 3);
  }
  // ...or one deleted from a sealed block: the block replays to another hash
  // (or a later transaction no longer applies).
  Exec("DELETE FROM log WHERE kind = 1 AND block = 2 AND idx = 0");
  absl::StatusOr<std::unique_ptr<Ledger>> ledger = Open();
  ASSERT_FALSE(ledger.ok());
  EXPECT_EQ(ledger.status().code(), absl::StatusCode::kDataLoss) << ledger.status();
}

// FindBlockTxs (what the node's BlockTxs query serves): a sealed block's
// transactions, exactly as submitted and in block order, paged by bytes;
// nothing for genesis (height 0), the block being built or a future height.
TEST_F(LedgerStoreTest, FindBlockTxsListsASealedBlockInOrder) {
  std::vector<TxReceipt> receipts;
  std::vector<std::string> sent;
  BlockReport report;
  {
    absl::StatusOr<std::unique_ptr<Ledger>> ledger = Open();
    ASSERT_TRUE(ledger.ok()) << ledger.status();
    for (int i = 0; i < 3; ++i) {
      uint64_t nonce = 0;
      std::string chain_id;
      (*ledger)->Read([&](const ChainState& s) {
        nonce = testing::NextNonce(s, users_[i].public_key());
        chain_id = s.chain_id;
      });
      const TransferTx transfer{owner_.public_key(), static_cast<Amount>(100 + i)};
      sent.push_back(protocol::Encode(MakeTx(users_[i], chain_id, kTxTransfer, nonce, transfer)));
      absl::StatusOr<TxReceipt> r = (*ledger)->Submit(sent.back());
      ASSERT_TRUE(r.ok()) << r.status();
      receipts.push_back(*r);
    }
    absl::StatusOr<BlockReport> r = (*ledger)->SealBlock(1000);
    ASSERT_TRUE(r.ok());
    report = *r;
    ASSERT_TRUE(Submit(**ledger, users_[3], kTxTransfer, TransferTx{owner_.public_key(), 7}).ok());

    absl::StatusOr<std::optional<SealedBlockTxs>> block =
        (*ledger)->FindBlockTxs(1, 0, SIZE_MAX);
    ASSERT_TRUE(block.ok()) << block.status();
    ASSERT_TRUE(block->has_value());
    EXPECT_EQ((*block)->block.height, 1u);
    EXPECT_EQ((*block)->block.hash, report.block_hash);
    EXPECT_EQ((*block)->block.timestamp_ms, 1000u);
    EXPECT_EQ((*block)->block.tx_count, 3u);
    ASSERT_EQ((*block)->txs.size(), 3u);
    for (size_t i = 0; i < 3; ++i) {
      EXPECT_EQ((*block)->txs[i].block, 1u);
      EXPECT_EQ((*block)->txs[i].index, i);
      EXPECT_EQ((*block)->txs[i].hash, receipts[i].tx_hash);
      EXPECT_EQ((*block)->txs[i].bytes, sent[i]);
    }
    // Height 0 (genesis), the block being built (2) and a future one: none.
    for (BlockHeight h : {0u, 2u, 99u}) {
      absl::StatusOr<std::optional<SealedBlockTxs>> none = (*ledger)->FindBlockTxs(h, 0, SIZE_MAX);
      ASSERT_TRUE(none.ok());
      EXPECT_FALSE(none->has_value()) << h;
    }
    // An empty block.
    ASSERT_TRUE((*ledger)->SealBlock(1010).ok());
    ASSERT_TRUE((*ledger)->SealBlock(1020).ok());
    absl::StatusOr<std::optional<SealedBlockTxs>> empty = (*ledger)->FindBlockTxs(3, 0, SIZE_MAX);
    ASSERT_TRUE(empty.ok() && empty->has_value());
    EXPECT_EQ((*empty)->block.tx_count, 0u);
    EXPECT_TRUE((*empty)->txs.empty());
  }
  // After a restart, straight from the store, paged by bytes.
  absl::StatusOr<std::unique_ptr<ChainStore>> store = ChainStore::Open(Db(), genesis_.hash);
  ASSERT_TRUE(store.ok()) << store.status();
  const size_t one = sent[0].size();
  ASSERT_EQ(sent[1].size(), one);
  std::vector<std::string> paged;
  for (uint32_t first = 0; first < 3;) {
    absl::StatusOr<std::optional<SealedBlockTxs>> page = (*store)->FindBlockTxs(1, first, 2 * one);
    ASSERT_TRUE(page.ok() && page->has_value());
    ASSERT_FALSE((*page)->txs.empty());
    EXPECT_LE((*page)->txs.size(), 2u);
    EXPECT_EQ((*page)->txs[0].index, first);
    for (const TxRecord& tx : (*page)->txs) paged.push_back(tx.bytes);
    first += static_cast<uint32_t>((*page)->txs.size());
  }
  EXPECT_EQ(paged, sent);
  // A budget below one transaction still returns one; past the end, none.
  absl::StatusOr<std::optional<SealedBlockTxs>> tiny = (*store)->FindBlockTxs(1, 1, 0);
  ASSERT_TRUE(tiny.ok() && tiny->has_value());
  ASSERT_EQ((*tiny)->txs.size(), 1u);
  EXPECT_EQ((*tiny)->txs[0].bytes, sent[1]);
  absl::StatusOr<std::optional<SealedBlockTxs>> past = (*store)->FindBlockTxs(1, 3, SIZE_MAX);
  ASSERT_TRUE(past.ok() && past->has_value());
  EXPECT_TRUE((*past)->txs.empty());
  EXPECT_EQ((*past)->block.tx_count, 3u);
  // The block being built when the ledger closed is still unsealed.
  absl::StatusOr<std::optional<SealedBlockTxs>> trailing = (*store)->FindBlockTxs(4, 0, SIZE_MAX);
  ASSERT_TRUE(trailing.ok());
  EXPECT_FALSE(trailing->has_value());
  // (Block 2 holds the trailing transfer sealed above.)
  absl::StatusOr<std::optional<SealedBlockTxs>> two = (*store)->FindBlockTxs(2, 0, SIZE_MAX);
  ASSERT_TRUE(two.ok() && two->has_value());
  EXPECT_EQ((*two)->txs.size(), 1u);
}

TEST_F(LedgerStoreTest, FindBlockTxsReportsAMissingTransactionAsDataLoss) {
  {
    absl::StatusOr<std::unique_ptr<Ledger>> ledger = Open();
    ASSERT_TRUE(ledger.ok());
    Populate(**ledger, 3);
  }
  Exec("DELETE FROM log WHERE kind = 1 AND block = 2 AND idx = 1");
  absl::StatusOr<std::unique_ptr<ChainStore>> store = ChainStore::Open(Db(), genesis_.hash);
  ASSERT_TRUE(store.ok()) << store.status();
  absl::StatusOr<std::optional<SealedBlockTxs>> block = (*store)->FindBlockTxs(2);
  ASSERT_FALSE(block.ok());
  EXPECT_EQ(block.status().code(), absl::StatusCode::kDataLoss) << block.status();
  // Other blocks are unaffected.
  absl::StatusOr<std::optional<SealedBlockTxs>> three = (*store)->FindBlockTxs(3);
  ASSERT_TRUE(three.ok()) << three.status();
  EXPECT_TRUE(three->has_value());
}

// A block is returned (and so announced by the node) only once its seal is
// durable: another connection to the database already sees it.
TEST_F(LedgerStoreTest, SealBlockReturnsOnceTheSealIsDurable) {
  absl::StatusOr<std::unique_ptr<Ledger>> ledger = Open();
  ASSERT_TRUE(ledger.ok());
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open_v2(Db().c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  for (int b = 0; b < 20; ++b) {
    ASSERT_TRUE(Submit(**ledger, users_[0], kTxTransfer, TransferTx{owner_.public_key(), 1}).ok());
    absl::StatusOr<BlockReport> r = (*ledger)->SealBlock(static_cast<uint64_t>(b));
    ASSERT_TRUE(r.ok());
    sqlite3_stmt* stmt = nullptr;
    ASSERT_EQ(sqlite3_prepare_v2(db, "SELECT count(*) FROM log WHERE kind = 2 AND block = ?1", -1,
                                 &stmt, nullptr),
              SQLITE_OK);
    sqlite3_bind_int64(stmt, 1, static_cast<sqlite3_int64>(r->height));
    ASSERT_EQ(sqlite3_step(stmt), SQLITE_ROW);
    EXPECT_EQ(sqlite3_column_int64(stmt, 0), 1) << "block " << r->height << " not yet durable";
    sqlite3_finalize(stmt);
  }
  sqlite3_close(db);
}

TEST_F(LedgerStoreTest, RefusedTransactionsAreNotLogged) {
  absl::StatusOr<std::unique_ptr<Ledger>> ledger = Open();
  ASSERT_TRUE(ledger.ok());
  const std::string before = Snapshot(**ledger);
  // Bad nonce, then a payload refusal, then undecodable bytes.
  const SignedTx replay = MakeTx(users_[0], "agora-test", kTxTransfer, 5,
                                 TransferTx{owner_.public_key(), 1});
  absl::StatusOr<TxReceipt> r = (*ledger)->Submit(protocol::Encode(replay));
  EXPECT_EQ(TxRejectOf(r.status()), TxReject::kBadNonce) << r.status();
  r = Submit(**ledger, users_[0], kTxTransfer, TransferTx{owner_.public_key(), 1001 * kToken});
  EXPECT_EQ(TxRejectOf(r.status()), TxReject::kInsufficientBalance) << r.status();
  r = (*ledger)->Submit("\x81\xa4junk");
  EXPECT_EQ(TxRejectOf(r.status()), TxReject::kBadTx) << r.status();
  EXPECT_EQ(Snapshot(**ledger), before);
  absl::StatusOr<std::optional<TxRecord>> found = (*ledger)->FindTx(TxHash(replay));
  ASSERT_TRUE(found.ok());
  EXPECT_FALSE(found->has_value());
  ledger->reset();
  absl::StatusOr<std::unique_ptr<ChainStore>> store = ChainStore::Open(Db(), genesis_.hash);
  ASSERT_TRUE(store.ok());
  absl::StatusOr<std::vector<LogEvent>> events = (*store)->EventsAfter(0);
  ASSERT_TRUE(events.ok());
  EXPECT_TRUE(events->empty());
}

// Many submitters at once (group commit), interleaved with seals: every
// receipt is distinct and durable, and a reopened ledger agrees.
TEST_F(LedgerStoreTest, ConcurrentSubmittersAndSealsSurviveReopen) {
  std::string before;
  std::vector<TxReceipt> receipts;
  {
    absl::StatusOr<std::unique_ptr<Ledger>> ledger = Open(/*snapshot_every=*/3);
    ASSERT_TRUE(ledger.ok());
    std::mutex mu;
    std::condition_variable changed;
    bool done = false;
    std::vector<std::thread> threads;
    for (size_t i = 0; i < users_.size(); ++i) {
      threads.emplace_back([&, i] {
        for (int k = 0; k < 25; ++k) {
          // Each user signs its own sequence: nonces come from the user's own count.
          const SignedTx tx = MakeTx(users_[i], "agora-test", kTxTransfer, static_cast<uint64_t>(k),
                                     TransferTx{owner_.public_key(), 1 + static_cast<Amount>(k)});
          absl::StatusOr<TxReceipt> r = (*ledger)->Submit(protocol::Encode(tx));
          ASSERT_TRUE(r.ok()) << r.status();
          std::lock_guard<std::mutex> lock(mu);
          receipts.push_back(*r);
          changed.notify_all();
        }
      });
    }
    // Seals a block after every few receipts, while the submitters go on.
    std::thread sealer([&] {
      uint64_t ts = 0;
      size_t sealed_at = 0;
      std::unique_lock<std::mutex> lock(mu);
      while (!done) {
        changed.wait(lock, [&] { return done || receipts.size() >= sealed_at + 7; });
        sealed_at = receipts.size();
        lock.unlock();
        ASSERT_TRUE((*ledger)->SealBlock(ts += 10).ok());
        lock.lock();
      }
    });
    for (std::thread& t : threads) t.join();
    {
      std::lock_guard<std::mutex> lock(mu);
      done = true;
    }
    changed.notify_all();
    sealer.join();
    before = Snapshot(**ledger);
  }
  ASSERT_EQ(receipts.size(), 100u);
  std::set<std::pair<BlockHeight, uint32_t>> places;
  for (const TxReceipt& r : receipts) places.insert({r.block, r.index});
  EXPECT_EQ(places.size(), receipts.size()) << "every receipt names its own place";
  absl::StatusOr<std::unique_ptr<Ledger>> ledger = Open(3);
  ASSERT_TRUE(ledger.ok()) << ledger.status();
  EXPECT_EQ(Snapshot(**ledger), before);
  for (const TxReceipt& r : receipts) {
    absl::StatusOr<std::optional<TxRecord>> found = (*ledger)->FindTx(r.tx_hash);
    ASSERT_TRUE(found.ok() && found->has_value());
    EXPECT_EQ((*found)->block, r.block);
    EXPECT_EQ((*found)->index, r.index);
  }
}

}  // namespace
}  // namespace agora::chain
