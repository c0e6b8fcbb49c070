// Registration into a full subnet (yuma.md §7): which uid NeuronToPrune picks
// (lowest emission, then earliest registration, then lowest uid; non-immune
// first while more than min_non_immune_uids are; the owner never), and what
// replacing it does to the state.
#include <string>
#include <vector>

#include "chain/apply.h"
#include "gtest/gtest.h"
#include "tests/chain/ledger_test_util.h"

namespace agora::chain {
namespace {

using testing::GenesisText;
using testing::SealEmpty;
using testing::StakeOf;
using testing::SubmitTx;
using testing::TestKey;

constexpr Amount kToken = kUnitsPerToken;

struct Spec {
  Amount emission;
  BlockHeight registered_at;
};

// A subnet whose uid i has hotkey byte i, the given emission and registration block.
SubnetState MakeSubnet(const std::vector<Spec>& specs, uint64_t immunity_period,
                       uint16_t min_non_immune = 0, std::optional<Uid> owner = std::nullopt) {
  SubnetState s;
  s.params.immunity_period = immunity_period;
  s.params.min_non_immune_uids = min_non_immune;
  s.params.max_allowed_uids = static_cast<uint16_t>(specs.size());
  for (size_t i = 0; i < specs.size(); ++i) {
    Neuron n;
    n.hotkey[0] = static_cast<uint8_t>(i + 1);
    n.emission = specs[i].emission;
    n.registered_at = specs[i].registered_at;
    s.neurons.push_back(n);
  }
  if (owner) s.owner_hotkey = s.neurons[*owner].hotkey;
  return s;
}

TEST(NeuronToPruneTest, LowestEmissionFirst) {
  // All registered at block 1; immunity over by block 100.
  SubnetState s = MakeSubnet({{50, 1}, {20, 1}, {30, 1}, {20, 1}}, 10);
  EXPECT_EQ(NeuronToPrune(s, 100), Uid{1}) << "lowest emission; tie broken by lowest uid";
}

TEST(NeuronToPruneTest, ThenEarliestRegistrationThenLowestUid) {
  SubnetState s = MakeSubnet({{20, 9}, {20, 5}, {20, 7}, {20, 5}}, 1);
  EXPECT_EQ(NeuronToPrune(s, 100), Uid{1});
  s = MakeSubnet({{20, 5}, {20, 5}, {20, 5}}, 1);
  EXPECT_EQ(NeuronToPrune(s, 100), Uid{0});
}

TEST(NeuronToPruneTest, ImmuneUidsAreSparedWhileOthersExist) {
  // immunity 10 at block 20: uids registered after block 10 are immune.
  SubnetState s = MakeSubnet({{90, 1}, {0, 15}, {5, 20}, {80, 10}}, 10);
  EXPECT_EQ(NeuronToPrune(s, 20), Uid{3}) << "uid 3 (reg 10) left immunity exactly at block 20";
  // All immune: the best immune uid goes.
  s = MakeSubnet({{90, 15}, {7, 16}, {7, 12}}, 10);
  EXPECT_EQ(NeuronToPrune(s, 20), Uid{2});
}

TEST(NeuronToPruneTest, MinNonImmuneUidsKeepsTheLastMortalsAlive) {
  // Two mortal uids (0, 3), two immune (1, 2).
  SubnetState s = MakeSubnet({{50, 1}, {0, 15}, {5, 18}, {60, 2}}, 10, /*min_non_immune=*/1);
  EXPECT_EQ(NeuronToPrune(s, 20), Uid{0}) << "2 mortal > 1: a mortal uid goes";
  s.params.min_non_immune_uids = 2;
  EXPECT_EQ(NeuronToPrune(s, 20), Uid{1}) << "2 mortal == 2: the best immune uid goes";
}

TEST(NeuronToPruneTest, OwnerIsImmortal) {
  SubnetState s = MakeSubnet({{0, 1}, {10, 1}, {20, 1}}, 10, 0, /*owner=*/Uid{0});
  EXPECT_EQ(NeuronToPrune(s, 100), Uid{1});
  s = MakeSubnet({{0, 1}}, 10, 0, Uid{0});
  EXPECT_EQ(NeuronToPrune(s, 100), std::nullopt) << "only the owner: nothing to replace";
}

// A full subnet through ApplyTx: register replaces the chosen uid, clears it
// (yuma.md §7 clear_neuron) and leaves stake with the old hotkey.
TEST(RegisterIntoFullSubnetTest, ReplacesAndClearsThePrunedUid) {
  const SigningKey owner = TestKey("owner"), owner_hot = TestKey("owner-hot");
  const SigningKey alice = TestKey("alice"), a1 = TestKey("a1"), a2 = TestKey("a2"),
                   a3 = TestKey("a3"), newcomer = TestKey("newcomer");
  GenesisText g;
  g.Account(owner, 1000 * kToken)
      .Account(alice, 1000 * kToken)
      .Subnet(1, owner, &owner_hot,
              "max_allowed_uids = 4\nimmunity_period = 3\ntempo = 1000\nburn = 1000000000\n"
              "adjustment_interval = 0\nmin_allowed_weights = 1");
  ChainState state = g.Parse().state;
  auto reg = [&](const SigningKey& cold, const SigningKey& hot) {
    return SubmitTx(state, cold, kTxRegister, RegisterTx{1, hot.public_key(), false, kToken, 0, 0});
  };
  ASSERT_TRUE(reg(owner, owner_hot).ok());  // uid 0, block 1
  ASSERT_TRUE(reg(alice, a1).ok());         // uid 1, block 1
  SealEmpty(state);
  ASSERT_TRUE(reg(alice, a2).ok());         // uid 2, block 2
  ASSERT_TRUE(reg(alice, a3).ok());         // uid 3, block 2
  ASSERT_TRUE(SubmitTx(state, alice, kTxAddStake, StakeTx{a2.public_key(), 5 * kToken}).ok());
  SealEmpty(state, 9);
  // Emissions as an epoch would have left them: the owner earns least but is
  // immortal; uids 2 and 3 tie on emission and registration block, so the
  // lower uid (2) goes.
  SubnetState& sn = state.subnets.at(1);
  sn.neurons[0].emission = 0;
  sn.neurons[1].emission = 30;
  sn.neurons[2].emission = 10;
  sn.neurons[3].emission = 10;
  sn.neurons[2].bonds = {{1, 100}};
  sn.neurons[2].validator_permit = true;
  // The owner weights uid 2 and uid 3.
  ASSERT_TRUE(SubmitTx(state, owner_hot, kTxSetWeights, SetWeightsTx{1, {2, 3}, {10, 20}, 0}).ok());
  const BlockHeight block = state.height + 1;

  ASSERT_TRUE(reg(alice, newcomer).ok());
  const SubnetState& after = state.subnets.at(1);
  ASSERT_EQ(after.neurons.size(), 4u);
  const Neuron& n = after.neurons[2];
  EXPECT_EQ(n.hotkey, newcomer.public_key());
  EXPECT_EQ(n.registered_at, block);
  EXPECT_EQ(n.last_update, block);
  EXPECT_EQ(n.emission, 0u);
  EXPECT_FALSE(n.validator_permit);
  EXPECT_TRUE(n.bonds.empty());
  EXPECT_TRUE(n.weights.empty());
  // Weights to the replaced uid are zeroed (kept in storage order), the rest kept.
  EXPECT_EQ(after.neurons[0].weights, (SparseRow{{2, 0}, {3, 65535}}));
  // Stake stays with the old hotkey, which is no longer on the subnet.
  EXPECT_EQ(StakeOf(state, a2.public_key(), alice.public_key()), 5 * kToken);
  EXPECT_FALSE(FindUid(after, a2.public_key()).has_value());
  EXPECT_EQ(state.total_issuance, CirculatingTotal(state));
  // The replaced hotkey can come back (replacing the next candidate, uid 3).
  ASSERT_TRUE(reg(alice, a2).ok());
  EXPECT_EQ(FindUid(state.subnets.at(1), a2.public_key()), Uid{3});
}

// A replaced uid's model registration goes with it (ReplaceNeuron makes a
// fresh Neuron): the newcomer starts with none, and the content hash is free.
TEST(RegisterIntoFullSubnetTest, ReplacingAUidClearsItsModel) {
  const SigningKey owner = TestKey("owner"), owner_hot = TestKey("owner-hot");
  const SigningKey alice = TestKey("alice"), a1 = TestKey("a1"), newcomer = TestKey("newcomer");
  GenesisText g;
  g.Account(owner, 1000 * kToken)
      .Account(alice, 1000 * kToken)
      .Subnet(1, owner, &owner_hot,
              "max_allowed_uids = 2\nimmunity_period = 0\ntempo = 1000\nburn = 1000000000\n"
              "adjustment_interval = 0\nserving_rate_limit = 0");
  ChainState state = g.Parse().state;
  auto reg = [&](const SigningKey& cold, const SigningKey& hot) {
    return SubmitTx(state, cold, kTxRegister, RegisterTx{1, hot.public_key(), false, kToken, 0, 0});
  };
  RegisterModelTx model;
  model.netuid = 1;
  model.content_hash.fill(0x5a);
  model.size_bytes = 4096;
  model.format = kModelFormatAgoraGpt;
  ASSERT_TRUE(reg(owner, owner_hot).ok());  // uid 0 (immortal)
  ASSERT_TRUE(reg(alice, a1).ok());         // uid 1
  ASSERT_TRUE(SubmitTx(state, a1, kTxRegisterModel, model).ok());
  EXPECT_EQ(state.subnets.at(1).neurons[1].model.block, 1u);
  // The owner cannot take a1's model while a1 holds uid 1.
  EXPECT_EQ(TxRejectOf(SubmitTx(state, owner_hot, kTxRegisterModel, model)), TxReject::kModelTaken);
  SealEmpty(state, 2);

  ASSERT_TRUE(reg(alice, newcomer).ok());
  const Neuron& n = state.subnets.at(1).neurons[1];
  ASSERT_EQ(n.hotkey, newcomer.public_key());
  EXPECT_EQ(n.model.block, 0u);
  EXPECT_EQ(n.model.content_hash, Hash256{});
  EXPECT_EQ(n.model.size_bytes, 0u);
  EXPECT_TRUE(n.model.format.empty());
  // The old hotkey is gone, so is its claim: the newcomer may register the model.
  EXPECT_EQ(TxRejectOf(SubmitTx(state, a1, kTxRegisterModel, model)),
            TxReject::kUnregisteredHotkey);
  ASSERT_TRUE(SubmitTx(state, newcomer, kTxRegisterModel, model).ok());
  EXPECT_EQ(state.subnets.at(1).neurons[1].model.block, state.height + 1);
}

TEST(RegisterIntoFullSubnetTest, FullSubnetOfOnlyTheOwnerRefuses) {
  const SigningKey owner = TestKey("owner"), owner_hot = TestKey("owner-hot");
  GenesisText g;
  g.Account(owner, 1000 * kToken)
      .Subnet(1, owner, &owner_hot, "max_allowed_uids = 1\nburn = 1000000000\nadjustment_interval = 0");
  ChainState state = g.Parse().state;
  ASSERT_TRUE(SubmitTx(state, owner, kTxRegister,
                       RegisterTx{1, owner_hot.public_key(), false, kToken, 0, 0}).ok());
  const std::string before = testing::StateBytes(state);
  const absl::Status s = SubmitTx(state, owner, kTxRegister,
                                  RegisterTx{1, TestKey("x").public_key(), false, kToken, 0, 0});
  EXPECT_EQ(TxRejectOf(s), TxReject::kRegistrationLimit) << s;
  EXPECT_EQ(RetryBlockOf(s), std::nullopt) << "no number of blocks frees a uid here: " << s;
  EXPECT_EQ(testing::StateBytes(state), before);
}

}  // namespace
}  // namespace agora::chain
