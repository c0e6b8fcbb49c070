// Tests of chain/block.h: SealBlock keeps total_issuance equal to what
// circulates after every block (over many seeded random blocks), runs each
// subnet's epoch every `tempo` blocks, pays emission into the stake of the
// miners and validators that earned it, chains block hashes and adjusts the
// registration cost.
#include <cstdint>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "chain/block.h"
#include "common/wire.h"
#include "gtest/gtest.h"
#include "tests/chain/ledger_test_util.h"
#include "tests/test_seed.h"

namespace agora::chain {
namespace {

using testing::Balance;
using testing::GenesisText;
using testing::NextNonce;
using testing::SealEmpty;
using testing::StakeOf;
using testing::StateBytes;
using testing::SubmitSigned;
using testing::SubmitTx;
using testing::TestKey;

constexpr Amount kToken = kUnitsPerToken;

// The block hash as docs/CHAIN.md defines it.
Hash256 ExpectedBlockHash(const Hash256& prev, BlockHeight height, uint64_t ts,
                          const Hash256& tx_root, const Hash256& state_root) {
  uint8_t numbers[16];
  wire::PutU64(numbers, height);
  wire::PutU64(numbers + 8, ts);
  return Blake2b256(absl::StrCat("agora-block-v1", AsStringView(prev),
                                 absl::string_view(reinterpret_cast<const char*>(numbers), 16),
                                 AsStringView(tx_root), AsStringView(state_root)));
}

// Many blocks of random transactions (valid and not) from several accounts.
// After every transaction: a refusal changed nothing. After every block: the
// supply invariant, the hash chain and the epoch schedule hold.
TEST(SealBlockTest, RandomBlocksKeepEveryInvariant) {
  const uint64_t seed = agora::testing::TestSeed();
  std::mt19937_64 rng(seed);
  const SigningKey owner = TestKey("owner");
  std::vector<SigningKey> coldkeys;
  for (int i = 0; i < 6; ++i) coldkeys.push_back(TestKey(absl::StrCat("cold-", i)));
  GenesisText g;
  g.Account(owner, 1000 * kToken);
  for (const SigningKey& c : coldkeys) g.Account(c, 1000 * kToken);
  const std::string common =
      "weights_set_rate_limit = 2\nserving_rate_limit = 3\nimmunity_period = 5\n"
      "burn = 1000000000\nmin_burn = 100000000\nmax_regs_per_block = 2\nadjustment_interval = 20\n"
      "activity_cutoff = 100\n";
  g.Subnet(1, owner, nullptr, "tempo = 7\nmax_allowed_uids = 12\n" + common)
      .Subnet(2, owner, nullptr, "tempo = 4\nmax_allowed_uids = 5\n" + common);
  ChainState state = g.Parse().state;
  const std::map<NetUid, uint64_t> tempo = {{1, 7}, {2, 4}};

  std::vector<SigningKey> hotkeys;  // every hotkey ever created, index = creation order
  std::map<PublicKey, size_t> hotkey_index;
  int accepted = 0, refused = 0, epochs = 0;
  std::map<std::string, int> accepted_by_type;
  const std::string id = state.chain_id;
  auto pick = [&](size_t n) { return static_cast<size_t>(rng() % n); };

  for (int b = 0; b < 200; ++b) {
    std::vector<Hash256> tx_hashes;
    const int txs = static_cast<int>(pick(7));
    for (int t = 0; t < txs; ++t) {
      const SigningKey& cold = coldkeys[pick(coldkeys.size())];
      const Amount bal = Balance(state, cold.public_key());
      SignedTx tx;
      switch (pick(6)) {
        case 0: {
          const SigningKey& to = coldkeys[pick(coldkeys.size())];
          tx = MakeTx(cold, id, kTxTransfer, NextNonce(state, cold.public_key()),
                      TransferTx{to.public_key(), 1 + rng() % (bal / 2 + 2)});
          break;
        }
        case 1: {
          if (hotkeys.empty()) continue;
          const SigningKey& hot = hotkeys[pick(hotkeys.size())];
          tx = MakeTx(cold, id, kTxAddStake, NextNonce(state, cold.public_key()),
                      StakeTx{hot.public_key(), 1 + rng() % (bal / 4 + 2)});
          break;
        }
        case 2: {
          if (hotkeys.empty()) continue;
          const SigningKey& hot = hotkeys[pick(hotkeys.size())];
          const Amount staked = StakeOf(state, hot.public_key(), cold.public_key());
          tx = MakeTx(cold, id, kTxRemoveStake, NextNonce(state, cold.public_key()),
                      StakeTx{hot.public_key(), 1 + rng() % (staked + 1)});
          break;
        }
        case 3: {
          // A new hotkey, or re-registering an old one of any owner.
          const bool fresh = hotkeys.empty() || pick(3) != 0;
          if (fresh) {
            hotkeys.push_back(TestKey(absl::StrCat("hot-", hotkeys.size())));
            hotkey_index[hotkeys.back().public_key()] = hotkeys.size() - 1;
          }
          const SigningKey& hot = fresh ? hotkeys.back() : hotkeys[pick(hotkeys.size())];
          tx = MakeTx(cold, id, kTxRegister, NextNonce(state, cold.public_key()),
                      RegisterTx{static_cast<NetUid>(1 + pick(2)), hot.public_key(), false,
                                 5 * kToken, 0, 0});
          break;
        }
        case 4:
        case 5: {
          const NetUid netuid = static_cast<NetUid>(1 + pick(2));
          const SubnetState& sn = state.subnets.at(netuid);
          if (sn.neurons.empty()) continue;
          const Neuron& n = sn.neurons[pick(sn.neurons.size())];
          const SigningKey& hot = hotkeys[hotkey_index.at(n.hotkey)];
          if (pick(4) == 0) {
            tx = MakeTx(hot, id, kTxServeAxon, NextNonce(state, hot.public_key()),
                        ServeAxonTx{netuid, absl::StrCat("tcp://10.0.0.", pick(255), ":80"), 1});
            break;
          }
          SetWeightsTx w{netuid, {}, {}, 0};
          for (size_t j = 0; j < sn.neurons.size(); ++j) {
            if (pick(2)) {
              w.uids.push_back(static_cast<uint16_t>(j));
              w.weights.push_back(static_cast<uint16_t>(rng()));
            }
          }
          if (pick(20) == 0 && !w.uids.empty()) w.uids.push_back(w.uids[0]);  // refused
          tx = MakeTx(hot, id, kTxSetWeights, NextNonce(state, hot.public_key()), w);
          break;
        }
      }
      const std::string before = StateBytes(state);
      const absl::Status s = SubmitSigned(state, tx);
      if (s.ok()) {
        ++accepted;
        ++accepted_by_type[protocol::Decode<TxBody>(tx.body, "TxBody")->type];
        tx_hashes.push_back(TxHash(tx));
      } else {
        ++refused;
        ASSERT_TRUE(TxRejectOf(s).has_value()) << s;
        ASSERT_EQ(StateBytes(state), before) << "refused tx changed the state: " << s;
      }
      ASSERT_EQ(state.total_issuance, CirculatingTotal(state)) << "after a tx in block " << b;
    }
    const Hash256 prev = state.block_hash;
    const uint64_t ts = 1'700'000'000'000 + static_cast<uint64_t>(b) * 100;
    const Hash256 tx_root = TxRoot(tx_hashes);
    absl::StatusOr<BlockReport> r = SealBlock(state, ts, tx_root);
    ASSERT_TRUE(r.ok()) << r.status();
    const BlockHeight h = r->height;
    ASSERT_EQ(h, static_cast<BlockHeight>(b + 1));
    ASSERT_EQ(state.total_issuance, CirculatingTotal(state)) << "after block " << h;
    ASSERT_NE(r->block_hash, prev);
    ASSERT_EQ(r->block_hash, ExpectedBlockHash(prev, h, ts, tx_root, r->state_root));
    ASSERT_EQ(state.block_hash, r->block_hash);
    ASSERT_EQ(state.recent_blocks.at(h), r->block_hash);
    ASSERT_LE(state.recent_blocks.size(), kRecentBlocks);
    std::map<NetUid, bool> ran;
    for (const EpochReport& e : r->epochs) ran[e.netuid] = true;
    for (const auto& [netuid, t] : tempo) {
      ASSERT_EQ(ran[netuid], h % t == 0) << "netuid " << netuid << " at block " << h;
      ASSERT_EQ(state.subnets.at(netuid).epoch_index, h / t);
    }
    epochs += static_cast<int>(r->epochs.size());
  }
  std::string by_type;
  for (const auto& [type, count] : accepted_by_type) absl::StrAppend(&by_type, " ", type, "=", count);
  std::fprintf(stderr, "random blocks: %d txs accepted (%s), %d refused, %d epochs\n", accepted,
               by_type.c_str(), refused, epochs);
  EXPECT_GT(accepted, 200);
  EXPECT_GT(refused, 20);
  for (const char* type : {kTxTransfer, kTxRegister, kTxAddStake, kTxRemoveStake, kTxServeAxon,
                           kTxSetWeights}) {
    EXPECT_GT(accepted_by_type[type], 0) << type;
  }
  // More registrations than subnet 2 has room for: some replaced a pruned uid.
  EXPECT_EQ(state.subnets.at(2).neurons.size(), 5u);
}

// The state root in a block report is the root of the state after the block's
// transactions and epoch, before the header fields (height, hash) are set.
TEST(SealBlockTest, ReportedStateRootIsTheRootBeforeTheHeader) {
  const SigningKey owner = TestKey("owner");
  ChainState state = GenesisText().Account(owner, kToken).Subnet(1, owner, nullptr, "tempo = 2").Parse().state;
  ChainState expected = state;
  // Emission of block 1, as SealBlock does it, without the header fields.
  absl::StatusOr<BlockReport> r = SealBlock(state, 5, Hash256{});
  ASSERT_TRUE(r.ok());
  ChainState headerless = state;
  headerless.height = expected.height;
  headerless.block_time_ms = expected.block_time_ms;
  headerless.block_hash = expected.block_hash;
  headerless.recent_blocks = expected.recent_blocks;
  EXPECT_EQ(r->state_root, StateRoot(headerless));
}

TEST(SealBlockTest, BlockHashCommitsToEveryInput) {
  const SigningKey owner = TestKey("owner");
  const ChainState genesis =
      GenesisText().Account(owner, kToken).Subnet(1, owner, nullptr, "").Parse().state;
  auto seal = [&](ChainState s, uint64_t ts, Hash256 tx_root) {
    absl::StatusOr<BlockReport> r = SealBlock(s, ts, tx_root);
    EXPECT_TRUE(r.ok());
    return r->block_hash;
  };
  Hash256 other_root{};
  other_root[31] = 1;
  const Hash256 base = seal(genesis, 1000, Hash256{});
  EXPECT_EQ(seal(genesis, 1000, Hash256{}), base) << "deterministic";
  EXPECT_NE(seal(genesis, 1001, Hash256{}), base);
  EXPECT_NE(seal(genesis, 1000, other_root), base);
  ChainState richer = genesis;
  richer.accounts[owner.public_key()].balance += 1;
  richer.total_issuance += 1;
  EXPECT_NE(seal(richer, 1000, Hash256{}), base);
  ChainState other_prev = genesis;
  other_prev.block_hash[0] = 1;
  EXPECT_NE(seal(other_prev, 1000, Hash256{}), base);
}

TEST(SealBlockTest, TxRootHashesTheOrderedTxHashes) {
  EXPECT_EQ(TxRoot({}), Hash256{});
  Hash256 a{}, b{};
  a[0] = 1;
  b[0] = 2;
  EXPECT_NE(TxRoot({a, b}), TxRoot({b, a}));
  EXPECT_NE(TxRoot({a}), TxRoot({a, a}));
}

// One validator weights two miners 1:3. The first epoch gives the validator
// its permit; from the second on, the miners' incentive and the validator's
// dividends become their stake, the owner cut goes to the owner's balance,
// and nothing is minted or lost.
TEST(SealBlockTest, EmissionBecomesStakeOfMinersAndValidators) {
  const SigningKey owner = TestKey("owner"), val = TestKey("val"), val_hot = TestKey("val-hot"),
                   miner = TestKey("miner"), m1 = TestKey("m1"), m2 = TestKey("m2");
  ChainState state = GenesisText()
                         .Account(owner, kToken)
                         .Account(val, 1000 * kToken)
                         .Account(miner, 100 * kToken)
                         .Subnet(1, owner, nullptr,
                                 "tempo = 5\nburn = 1000000000\nadjustment_interval = 0\n"
                                 "activity_cutoff = 1000\nweights_set_rate_limit = 1")
                         .Parse()
                         .state;
  const RegisterTx reg{1, {}, false, kToken, 0, 0};
  RegisterTx r = reg;
  r.hotkey = val_hot.public_key();
  ASSERT_TRUE(SubmitTx(state, val, kTxRegister, r).ok());
  r.hotkey = m1.public_key();
  ASSERT_TRUE(SubmitTx(state, miner, kTxRegister, r).ok());
  r.hotkey = m2.public_key();
  ASSERT_TRUE(SubmitTx(state, miner, kTxRegister, r).ok());
  ASSERT_TRUE(SubmitTx(state, val, kTxAddStake, StakeTx{val_hot.public_key(), 500 * kToken}).ok());
  const Amount owner0 = Balance(state, owner.public_key());
  SealEmpty(state, 5);  // epoch 1 at block 5: permits
  ASSERT_EQ(state.subnets.at(1).epoch_index, 1u);
  ASSERT_TRUE(state.subnets.at(1).neurons[0].validator_permit);
  EXPECT_FALSE(state.subnets.at(1).neurons[1].validator_permit);
  const Amount pending5 = state.subnets.at(1).pending_emission;
  const Amount v_before = StakeOf(state, val_hot.public_key(), val.public_key());
  const Amount m1_before = StakeOf(state, m1.public_key(), miner.public_key());
  const Amount m2_before = StakeOf(state, m2.public_key(), miner.public_key());
  ASSERT_TRUE(SubmitTx(state, val_hot, kTxSetWeights, SetWeightsTx{1, {1, 2}, {1, 3}, 0}).ok());
  for (int epoch = 0; epoch < 3; ++epoch) {
    SealEmpty(state, 5);
    ASSERT_EQ(state.total_issuance, CirculatingTotal(state));
  }
  const SubnetState& sn = state.subnets.at(1);
  ASSERT_EQ(sn.epoch_index, 4u);
  const Amount m1_gain = StakeOf(state, m1.public_key(), miner.public_key()) - m1_before;
  const Amount m2_gain = StakeOf(state, m2.public_key(), miner.public_key()) - m2_before;
  const Amount v_gain = StakeOf(state, val_hot.public_key(), val.public_key()) - v_before;
  EXPECT_GT(m1_gain, 0u);
  EXPECT_GT(m2_gain, 2 * m1_gain) << "weights 1:3";
  EXPECT_GT(v_gain, 0u);
  EXPECT_GT(sn.neurons[2].incentive, sn.neurons[1].incentive);
  EXPECT_GT(sn.neurons[0].dividends, 0u);
  // Owner cut: floor(1e9 · 11796 / 65535) per block, for 20 blocks.
  const Amount cut = static_cast<Amount>(static_cast<unsigned __int128>(kToken) * 11796 / 65535);
  EXPECT_EQ(Balance(state, owner.public_key()) - owner0, 20 * cut);
  // The 15 blocks since the permit epoch emitted 15·(1e9 − cut) on top of
  // what was pending then; all of it was paid except the floor remainders.
  EXPECT_EQ(m1_gain + m2_gain + v_gain + sn.pending_emission, 15 * (kToken - cut) + pending5);
  EXPECT_LT(sn.pending_emission, 1000u);
}

TEST(SealBlockTest, EpochsRunEveryTempoBlocksPerSubnet) {
  const SigningKey owner = TestKey("owner");
  ChainState state = GenesisText()
                         .Account(owner, kToken)
                         .Subnet(1, owner, nullptr, "tempo = 3")
                         .Subnet(7, owner, nullptr, "tempo = 1")
                         .Subnet(9, owner, nullptr, "tempo = 10")
                         .Parse()
                         .state;
  std::map<NetUid, std::vector<BlockHeight>> ran;
  for (int b = 0; b < 30; ++b) {
    absl::StatusOr<BlockReport> r = SealBlock(state, 0, Hash256{});
    ASSERT_TRUE(r.ok());
    for (const EpochReport& e : r->epochs) {
      ran[e.netuid].push_back(r->height);
      EXPECT_EQ(e.epoch_index + 1, state.subnets.at(e.netuid).epoch_index);
    }
  }
  EXPECT_EQ(ran[1], (std::vector<BlockHeight>{3, 6, 9, 12, 15, 18, 21, 24, 27, 30}));
  EXPECT_EQ(ran[7].size(), 30u);
  EXPECT_EQ(ran[9], (std::vector<BlockHeight>{10, 20, 30}));
  EXPECT_EQ(state.subnets.at(9).last_epoch_block, 30u);
  // No neurons: the emission waits, nothing is lost.
  EXPECT_EQ(state.total_issuance, CirculatingTotal(state));
}

TEST(SealBlockTest, EmissionStopsAtTheSupplyLimit) {
  const SigningKey a = TestKey("a"), owner = TestKey("owner");
  ChainState state = GenesisText()
                         .Account(a, kMaxAmount - 3 * kToken / 2)
                         .Subnet(1, owner, nullptr, "owner_cut = 0")
                         .Parse()
                         .state;
  SealEmpty(state);
  EXPECT_EQ(state.total_issuance, kMaxAmount - kToken / 2);
  SealEmpty(state);
  EXPECT_EQ(state.total_issuance, kMaxAmount);
  SealEmpty(state, 3);
  EXPECT_EQ(state.total_issuance, kMaxAmount);
  EXPECT_EQ(CirculatingTotal(state), kMaxAmount);
}

TEST(SealBlockTest, RegistrationCostFollowsTheRegistrationRate) {
  const SigningKey owner = TestKey("owner"), alice = TestKey("alice");
  ChainState state = GenesisText()
                         .Account(alice, 1000 * kToken)
                         .Subnet(1, owner, nullptr,
                                 "burn = 8000000000\nmin_burn = 1000000000\nmax_burn = 100000000000\n"
                                 "adjustment_interval = 10\ntarget_regs_per_interval = 4\n"
                                 "pow_difficulty = 12\nmin_pow_difficulty = 4\nmax_allowed_uids = 64")
                         .Parse()
                         .state;
  SealEmpty(state, 10);  // no registrations: burn · (0 + 4) / 8, difficulty − 1
  EXPECT_EQ(state.subnets.at(1).params.burn, 4 * kToken);
  EXPECT_EQ(state.subnets.at(1).params.pow_difficulty, 11u);
  for (int i = 0; i < 5; ++i) {
    if (i == 3) SealEmpty(state);  // at most 4 per block
    ASSERT_TRUE(SubmitTx(state, alice, kTxRegister,
                         RegisterTx{1, TestKey(absl::StrCat("h", i)).public_key(), false,
                                    10 * kToken, 0, 0})
                    .ok());
  }
  SealEmpty(state, 20 - static_cast<int>(state.height));
  EXPECT_EQ(state.subnets.at(1).params.burn, 4 * kToken * 9 / 8);  // 5 regs > 4
  EXPECT_EQ(state.subnets.at(1).params.pow_difficulty, 12u);
  EXPECT_EQ(state.total_issuance, CirculatingTotal(state));
}

}  // namespace
}  // namespace agora::chain
