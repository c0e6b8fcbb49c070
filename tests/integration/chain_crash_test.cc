// chain_crash_test: the real `agora-chain run` is killed with SIGKILL while
// several accounts submit signed transactions to it, then restarted on the
// same data directory, three times. After every restart:
//   - every acknowledged transaction is found (Lookup) where its receipt said;
//   - a transaction that was refused is not there;
//   - one whose outcome the sender never learned is either there or not, and
//     the balances, stakes and nonces are exactly what the transactions found
//     there imply (each sender pays a sink of its own and stakes on one
//     hotkey, with amounts unique across the test, so nothing is ambiguous);
//   - the height is at least that of the last block announced before the kill
//     and of every block an acknowledged transaction came after.
// At the end the node is killed while idle, its data directory is opened by
// an in-process Ledger (which re-checks every block hash) and restarted once
// more: both report the same accounts.
//
// Every step is logged. The kill moment is drawn from the test seed
// (AGORA_TEST_SEED replays it). The child is killed by the fixture on any
// failure, and by the kernel (PR_SET_PDEATHSIG) if this process dies.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "chain/client.h"
#include "chain/genesis.h"
#include "chain/ledger.h"
#include "chain/messages.h"
#include "chain/tx.h"
#include "chain/tx_reject.h"
#include "common/address.h"
#include "common/file_util.h"
#include "gtest/gtest.h"
#include "protocol/codec.h"
#include "tests/common/temp_dir.h"
#include "tests/integration/chain_test_util.h"
#include "tests/test_seed.h"

namespace agora::chain {
namespace {

using testing::BlockWatcher;
using testing::ChainProcess;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr int kSenders = 8;
constexpr Amount kInitialBalance = 1'000'000 * kUnitsPerToken;
constexpr int kCycles = 3;

void Log(const std::string& line) { std::fprintf(stderr, "[chain_crash] %s\n", line.c_str()); }

SigningKey KeyFor(const std::string& name) {
  absl::StatusOr<SigningKey> k = SigningKey::FromSeed(Blake2b256("agora-crash-test:" + name));
  if (!k.ok()) std::abort();
  return std::move(*k);
}

struct SentTx {
  enum class State { kInFlight, kAcked, kRefused, kUnknown, kCommitted, kLost };
  int sender = 0;
  bool stake = false;
  Amount amount = 0;
  Hash256 hash{};
  State state = State::kInFlight;
  TxReceiptMsg receipt;
  std::optional<TxReject> refusal;
  std::string refusal_text;
};

class ChainCrashTest : public ::testing::Test {
 protected:
  ChainCrashTest() : owner_(KeyFor("owner")), hotkey_(KeyFor("hotkey")) {
    for (int i = 0; i < kSenders; ++i) {
      senders_.push_back(KeyFor(absl::StrCat("sender-", i)));
      sinks_.push_back(KeyFor(absl::StrCat("sink-", i)));
    }
  }

  void SetUp() override {
    std::string text = "chain_id = \"agora-crash\"\nblock_interval_ms = 100\n";
    absl::StrAppend(&text, "[[accounts]]\naddress = \"", EncodeAddress(owner_.public_key()),
                    "\"\nbalance = ", kInitialBalance, "\n");
    for (const SigningKey& s : senders_) {
      absl::StrAppend(&text, "[[accounts]]\naddress = \"", EncodeAddress(s.public_key()),
                      "\"\nbalance = ", kInitialBalance, "\n");
    }
    absl::StrAppend(&text, "[[subnets]]\nnetuid = 1\nowner = \"", EncodeAddress(owner_.public_key()),
                    "\"\n[subnets.params]\ntempo = 10\nburn = 1000000000\n");
    genesis_text_ = text;
    genesis_path_ = dir_.Sub("genesis.toml");
    ASSERT_TRUE(WriteFileAtomic(genesis_path_, text, 0644).ok());
    node_ = std::make_unique<ChainProcess>(AGORA_CHAIN_BINARY, genesis_path_, dir_.Sub("data"));
  }

  void TearDown() override {
    if (HasFailure() && node_ != nullptr) Log("node log:\n" + node_->NodeLog());
    node_.reset();
  }

  // A client on the running node for queries (retries) or submissions (one attempt).
  std::unique_ptr<ChainClient> Connect(bool submit) {
    ChainClientOptions o;
    o.timeout = milliseconds(submit ? 1500 : 3000);
    o.attempts = submit ? 1 : 3;
    absl::StatusOr<std::unique_ptr<ChainClient>> c = ChainClient::Connect(node_->url(), nullptr, o);
    EXPECT_TRUE(c.ok()) << c.status();
    return c.ok() ? std::move(*c) : nullptr;
  }

  // Submits from sender `i` until `stop_`: transfers to sink i, every fifth a stake on hotkey_.
  void SenderLoop(int i, ChainClient& client, const std::string& chain_id) {
    const SigningKey& key = senders_[i];
    absl::StatusOr<AccountInfo> acct = client.Account(key.public_key());
    if (!acct.ok()) return;
    uint64_t nonce = acct->nonce;
    for (int k = 0; !stop_.load(); ++k) {
      SentTx sent;
      sent.sender = i;
      sent.stake = k % 5 == 4;
      sent.amount = next_amount_.fetch_add(1);
      const SignedTx tx =
          sent.stake ? MakeTx(key, chain_id, kTxAddStake, nonce, StakeTx{hotkey_.public_key(), sent.amount})
                     : MakeTx(key, chain_id, kTxTransfer, nonce, TransferTx{sinks_[i].public_key(), sent.amount});
      sent.hash = TxHash(tx);
      size_t index;
      {
        std::lock_guard<std::mutex> lock(mu_);
        index = sent_.size();
        sent_.push_back(sent);
      }
      absl::StatusOr<TxReceiptMsg> r = client.Submit(tx);
      bool resync = false;
      {
        std::lock_guard<std::mutex> lock(mu_);
        SentTx& s = sent_[index];
        if (r.ok()) {
          s.state = SentTx::State::kAcked;
          s.receipt = *r;
          ++acked_;
        } else if (TxRejectOf(r.status()).has_value()) {
          s.state = SentTx::State::kRefused;
          s.refusal = TxRejectOf(r.status());
          s.refusal_text = std::string(r.status().message());
          resync = true;
        } else {
          s.state = SentTx::State::kUnknown;
          resync = true;
        }
      }
      acked_cv_.notify_all();
      if (r.ok()) {
        ++nonce;
      } else if (resync) {
        if (stop_.load()) return;
        acct = client.Account(key.public_key());
        if (!acct.ok()) return;  // the node is gone
        nonce = acct->nonce;
      }
    }
  }

  // Checks the restarted node against everything sent so far.
  void Verify(ChainClient& q, BlockHeight announced) {
    absl::StatusOr<ChainStatus> st = q.Status();
    ASSERT_TRUE(st.ok()) << st.status();
    BlockHeight max_receipt_block = 0;
    std::vector<uint64_t> committed(kSenders, 0);
    std::vector<Amount> paid(kSenders, 0), staked(kSenders, 0);
    int acked = 0, found_unacked = 0, lost = 0, refused = 0;
    for (SentTx& s : sent_) {
      absl::StatusOr<TxLookupReply> found = q.Lookup(s.hash);
      ASSERT_TRUE(found.ok()) << found.status();
      switch (s.state) {
        case SentTx::State::kAcked:
          ++acked;
          ASSERT_TRUE(found->found) << "acknowledged tx lost: sender " << s.sender << " amount " << s.amount;
          EXPECT_EQ(found->block, s.receipt.block);
          EXPECT_EQ(found->index, s.receipt.index);
          max_receipt_block = std::max(max_receipt_block, s.receipt.block);
          break;
        case SentTx::State::kRefused:
          ++refused;
          EXPECT_FALSE(found->found) << "refused tx applied: " << s.refusal_text;
          // Only a sender that lost track of its nonce (after a timeout) is refused.
          EXPECT_EQ(s.refusal, TxReject::kBadNonce) << s.refusal_text;
          break;
        case SentTx::State::kUnknown:
        case SentTx::State::kInFlight:
          s.state = found->found ? SentTx::State::kCommitted : SentTx::State::kLost;
          break;
        case SentTx::State::kCommitted:
          EXPECT_TRUE(found->found);
          break;
        case SentTx::State::kLost:
          EXPECT_FALSE(found->found);
          break;
      }
      if (s.state == SentTx::State::kCommitted) ++found_unacked;
      if (s.state == SentTx::State::kLost) ++lost;
      if (s.state == SentTx::State::kAcked || s.state == SentTx::State::kCommitted) {
        ++committed[s.sender];
        (s.stake ? staked : paid)[s.sender] += s.amount;
      }
    }
    Log(absl::StrCat("after restart: height ", st->height, " (last announced ", announced,
                     ", last receipt block ", max_receipt_block, "); ", sent_.size(), " txs sent: ",
                     acked, " acked, ", found_unacked, " committed unacked, ", lost,
                     " lost unacked, ", refused, " refused"));
    EXPECT_GE(st->height, announced);
    EXPECT_GE(st->height + 1, max_receipt_block);
    for (int i = 0; i < kSenders; ++i) {
      absl::StatusOr<AccountInfo> sender = q.Account(senders_[i].public_key());
      absl::StatusOr<AccountInfo> sink = q.Account(sinks_[i].public_key());
      ASSERT_TRUE(sender.ok() && sink.ok());
      EXPECT_EQ(sender->nonce, committed[i]) << "sender " << i;
      EXPECT_EQ(sender->balance, kInitialBalance - paid[i] - staked[i]) << "sender " << i;
      EXPECT_EQ(sink->balance, paid[i]) << "sink " << i;
      Amount stake = 0;
      for (const StakeEntry& e : sender->stakes) {
        if (e.hotkey == hotkey_.public_key() && e.coldkey == senders_[i].public_key()) stake = e.amount;
      }
      EXPECT_EQ(stake, staked[i]) << "sender " << i;
    }
  }

  std::vector<AccountInfo> Accounts(ChainClient& q) {
    std::vector<AccountInfo> out;
    for (int i = 0; i < kSenders; ++i) {
      for (const SigningKey* k : {&senders_[i], &sinks_[i]}) {
        absl::StatusOr<AccountInfo> a = q.Account(k->public_key());
        EXPECT_TRUE(a.ok()) << a.status();
        out.push_back(a.ok() ? *a : AccountInfo{});
        out.back().height = 0;  // blocks go on; the accounts must not
      }
    }
    return out;
  }

  agora::testing::TempDir dir_;
  SigningKey owner_, hotkey_;
  std::vector<SigningKey> senders_, sinks_;
  std::string genesis_text_, genesis_path_;
  std::unique_ptr<ChainProcess> node_;

  std::atomic<bool> stop_{false};
  std::atomic<Amount> next_amount_{1000};
  std::mutex mu_;
  std::condition_variable acked_cv_;
  std::vector<SentTx> sent_;  // guarded by mu_
  int acked_ = 0;             // guarded by mu_
};

bool SameAccounts(const std::vector<AccountInfo>& a, const std::vector<AccountInfo>& b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](const AccountInfo& x, const AccountInfo& y) {
           return protocol::Encode(x) == protocol::Encode(y);
         });
}

TEST_F(ChainCrashTest, AcknowledgedTransactionsSurviveSigkill) {
  const uint64_t seed = agora::testing::TestSeed();
  std::mt19937_64 rng(seed);
  Log(absl::StrCat("seed ", seed, "; data dir ", dir_.Sub("data")));
  ASSERT_TRUE(node_->Start().ok());
  Log("node started: " + node_->url());
  {
    std::unique_ptr<ChainClient> q = Connect(/*submit=*/false);
    ASSERT_NE(q, nullptr);
    absl::StatusOr<TxReceiptMsg> reg =
        q->Send(owner_, kTxRegister, RegisterTx{1, hotkey_.public_key(), false, 10 * kUnitsPerToken, 0, 0});
    ASSERT_TRUE(reg.ok()) << reg.status();
    Log(absl::StrCat("hotkey registered in block ", reg->block));
  }

  for (int cycle = 0; cycle < kCycles; ++cycle) {
    std::unique_ptr<ChainClient> q = Connect(/*submit=*/false);
    ASSERT_NE(q, nullptr);
    // One client (transport key) per sender, as each wallet has its own:
    // a sender's envelopes then arrive in nonce order.
    std::vector<std::unique_ptr<ChainClient>> submit;
    for (int i = 0; i < kSenders; ++i) {
      submit.push_back(Connect(/*submit=*/true));
      ASSERT_NE(submit.back(), nullptr);
    }
    absl::StatusOr<ChainStatus> st = q->Status();
    ASSERT_TRUE(st.ok()) << st.status();
    BlockWatcher watcher(st->events_endpoint);
    const int kill_after = 60 + static_cast<int>(rng() % 140);
    int acked_before;
    {
      std::lock_guard<std::mutex> lock(mu_);
      acked_before = acked_;
    }
    Log(absl::StrCat("cycle ", cycle, ": height ", st->height, "; ", kSenders,
                     " senders; SIGKILL after ", kill_after, " more acks"));
    stop_ = false;
    std::vector<std::thread> threads;
    for (int i = 0; i < kSenders; ++i) {
      threads.emplace_back([&, i] { SenderLoop(i, *submit[i], st->chain_id); });
    }
    bool reached;
    {
      std::unique_lock<std::mutex> lock(mu_);
      reached = acked_cv_.wait_for(lock, std::chrono::seconds(20),
                                   [&] { return acked_ >= acked_before + kill_after; });
    }
    const BlockHeight announced = watcher.last();
    node_->Kill();
    stop_ = true;
    for (std::thread& t : threads) t.join();
    ASSERT_TRUE(reached) << "only " << acked_ - acked_before << " acks in 20 s";
    Log(absl::StrCat("SIGKILL at ", acked_ - acked_before, " acks this cycle, last announced block ",
                     announced));

    ASSERT_TRUE(node_->Start().ok());
    Log("restarted: " + node_->url());
    q = Connect(/*submit=*/false);
    ASSERT_NE(q, nullptr);
    Verify(*q, announced);
    if (HasFailure()) return;
  }

  // Idle now: the state must not change across a kill, a cold open and a restart.
  std::unique_ptr<ChainClient> q = Connect(/*submit=*/false);
  ASSERT_NE(q, nullptr);
  const std::vector<AccountInfo> before = Accounts(*q);
  absl::StatusOr<ChainStatus> st = q->Status();
  ASSERT_TRUE(st.ok());
  BlockHeight announced;
  {
    BlockWatcher watcher(st->events_endpoint);
    const BlockHeight now = st->height;
    const auto deadline = Clock::now() + std::chrono::seconds(10);
    while (watcher.last() <= now && Clock::now() < deadline) {
      std::this_thread::sleep_for(milliseconds(10));  // waiting for the next block event
    }
    announced = watcher.last();
    node_->Kill();
  }
  ASSERT_GT(announced, st->height);
  Log(absl::StrCat("idle SIGKILL after block ", announced));
  {
    absl::StatusOr<Genesis> g = ParseGenesis(genesis_text_, genesis_path_);
    ASSERT_TRUE(g.ok());
    absl::StatusOr<std::unique_ptr<Ledger>> ledger =
        Ledger::Open(*g, dir_.Sub("data") + "/chain.db", LedgerOptions{});
    ASSERT_TRUE(ledger.ok()) << ledger.status();
    (*ledger)->Read([&](const ChainState& s) {
      EXPECT_GE(s.height, announced);
      EXPECT_EQ(s.total_issuance, CirculatingTotal(s));
      for (int i = 0; i < kSenders; ++i) {
        EXPECT_EQ(s.accounts.at(senders_[i].public_key()).balance, before[2 * i].balance);
        EXPECT_EQ(s.accounts.at(senders_[i].public_key()).nonce, before[2 * i].nonce);
        auto sink = s.accounts.find(sinks_[i].public_key());
        EXPECT_EQ(sink == s.accounts.end() ? 0 : sink->second.balance, before[2 * i + 1].balance);
      }
      Log(absl::StrCat("cold open: height ", s.height, ", state root ",
                       ToHex(StateRoot(s)).substr(0, 16)));
    });
  }
  ASSERT_TRUE(node_->Start().ok());
  q = Connect(/*submit=*/false);
  ASSERT_NE(q, nullptr);
  const std::vector<AccountInfo> after = Accounts(*q);
  EXPECT_TRUE(SameAccounts(before, after));
  st = q->Status();
  ASSERT_TRUE(st.ok());
  EXPECT_GE(st->height, announced);
  Log(absl::StrCat("second restart: height ", st->height, ", accounts unchanged"));
}

// BlockTxs on the real node (ChainClient::BlockTransactions): the transfers of
// a sealed block come back exactly as sent, in block order, and verify; the
// tip's hash is ChainStatus's; genesis (height 0) and heights not sealed yet
// are refused.
TEST_F(ChainCrashTest, BlockTransactionsListsTheTransfersOfASealedBlock) {
  ASSERT_TRUE(node_->Start().ok());
  std::unique_ptr<ChainClient> q = Connect(/*submit=*/false);
  ASSERT_NE(q, nullptr);
  absl::StatusOr<ChainStatus> st = q->Status();
  ASSERT_TRUE(st.ok()) << st.status();
  const SigningKey& from = senders_[0];
  absl::StatusOr<AccountInfo> acct = q->Account(from.public_key());
  ASSERT_TRUE(acct.ok()) << acct.status();

  std::vector<SignedTx> sent;
  std::vector<TxReceiptMsg> receipts;
  for (int k = 0; k < 2; ++k) {
    sent.push_back(MakeTx(from, st->chain_id, kTxTransfer, acct->nonce + k,
                          TransferTx{sinks_[k].public_key(), 4242 + static_cast<Amount>(k)}));
    absl::StatusOr<TxReceiptMsg> r = q->Submit(sent.back());
    ASSERT_TRUE(r.ok()) << r.status();
    receipts.push_back(*r);
  }
  EXPECT_LE(receipts[0].block, receipts[1].block);

  // Not sealed yet: NotFound, until the block is sealed.
  absl::StatusOr<BlockTxs> future = q->BlockTransactions(receipts[1].block + 1000);
  ASSERT_FALSE(future.ok());
  EXPECT_EQ(future.status().code(), absl::StatusCode::kNotFound) << future.status();
  EXPECT_NE(future.status().message().find("not sealed yet"), std::string::npos)
      << future.status();
  std::map<BlockHeight, BlockTxs> blocks;
  for (const TxReceiptMsg& r : receipts) {
    if (blocks.count(r.block) > 0) continue;
    const auto deadline = Clock::now() + std::chrono::seconds(10);
    absl::StatusOr<BlockTxs> b = q->BlockTransactions(r.block);
    while (!b.ok() && b.status().code() == absl::StatusCode::kNotFound &&
           Clock::now() < deadline) {
      std::this_thread::sleep_for(milliseconds(20));  // waiting for the seal
      b = q->BlockTransactions(r.block);
    }
    ASSERT_TRUE(b.ok()) << b.status();
    EXPECT_EQ(b->height, r.block);
    EXPECT_EQ(b->start, 0u);
    EXPECT_EQ(b->tx_count, b->txs.size());
    EXPECT_GT(b->timestamp_ms, 0u);
    blocks[r.block] = std::move(*b);
  }
  for (size_t k = 0; k < sent.size(); ++k) {
    const BlockTxs& b = blocks.at(receipts[k].block);
    ASSERT_LT(receipts[k].index, b.txs.size());
    const std::string& bytes = b.txs[receipts[k].index];
    EXPECT_EQ(bytes, protocol::Encode(sent[k]));
    absl::StatusOr<SignedTx> tx = DecodeSignedTx(bytes);
    ASSERT_TRUE(tx.ok()) << tx.status();
    EXPECT_EQ(TxHash(*tx), receipts[k].tx_hash);
    absl::StatusOr<TxBody> body = VerifyTx(*tx);
    ASSERT_TRUE(body.ok()) << body.status();
    EXPECT_EQ(body->type, kTxTransfer);
    EXPECT_EQ(body->signer, from.public_key());
    absl::StatusOr<TransferTx> transfer = protocol::Decode<TransferTx>(body->payload, "TransferTx");
    ASSERT_TRUE(transfer.ok()) << transfer.status();
    EXPECT_EQ(transfer->to, sinks_[k].public_key());
    EXPECT_EQ(transfer->amount, 4242 + static_cast<Amount>(k));
  }
  // Every transaction of those blocks is one of ours (only this test submits).
  size_t total = 0;
  for (const auto& [height, b] : blocks) total += b.txs.size();
  EXPECT_EQ(total, sent.size());

  // The tip block's hash is the one ChainStatus reports. (ChainStatus can show
  // a height a moment before its seal is durable: NotFound then, so retry.)
  bool matched = false;
  for (int attempt = 0; attempt < 50 && !matched; ++attempt) {
    st = q->Status();
    ASSERT_TRUE(st.ok()) << st.status();
    absl::StatusOr<BlockTxs> tip = q->BlockTransactions(st->height);
    if (!tip.ok()) {
      ASSERT_EQ(tip.status().code(), absl::StatusCode::kNotFound) << tip.status();
      continue;
    }
    EXPECT_EQ(tip->block_hash, st->block_hash);
    EXPECT_EQ(tip->timestamp_ms, st->block_time_ms);
    matched = true;
  }
  EXPECT_TRUE(matched);

  // Height 0 is the genesis state, not a block: refused as a bad request.
  absl::StatusOr<BlockTxs> genesis = q->BlockTransactions(0);
  ASSERT_FALSE(genesis.ok());
  EXPECT_EQ(genesis.status().code(), absl::StatusCode::kInvalidArgument) << genesis.status();
  EXPECT_NE(genesis.status().message().find("genesis"), std::string::npos) << genesis.status();
}

}  // namespace
}  // namespace agora::chain
