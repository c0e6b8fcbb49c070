// The fixture of the transaction tests (ledger_apply_test.cc,
// ledger_refusal_test.cc): a state built from a genesis text plus a few good
// transactions in block 1, and helpers to submit more.
#ifndef AGORA_TESTS_CHAIN_LEDGER_APPLY_FIXTURE_H_
#define AGORA_TESTS_CHAIN_LEDGER_APPLY_FIXTURE_H_

#include <optional>
#include <vector>

#include "gtest/gtest.h"
#include "tests/chain/ledger_test_util.h"

namespace agora::chain::testing {

constexpr Amount kToken = kUnitsPerToken;
constexpr NetUid kNet = 1;    // set_weights subnet
constexpr NetUid kCrNet = 2;  // commit-reveal subnet

// Subnet 1: owner hotkey registered as uid 0, alice's hotkey uid 1 (staked),
// bob's hotkey uid 2. Subnet 2 (commit-reveal): alice's hotkey uid 0.
class ApplyTest : public ::testing::Test {
 protected:
  ApplyTest()
      : owner_(TestKey("owner")),
        owner_hot_(TestKey("owner-hot")),
        alice_(TestKey("alice")),
        alice_hot_(TestKey("alice-hot")),
        bob_(TestKey("bob")),
        bob_hot_(TestKey("bob-hot")),
        carol_(TestKey("carol")),
        stranger_(TestKey("stranger")) {}

  void SetUp() override {
    GenesisText g;
    g.Account(owner_, 1'000'000 * kToken)
        .Account(alice_, 1000 * kToken)
        .Account(bob_, 1000 * kToken)
        .Account(carol_, 10 * kToken)
        .Subnet(kNet, owner_, &owner_hot_,
                "tempo = 5\nweights_set_rate_limit = 3\nserving_rate_limit = 4\n"
                "min_allowed_weights = 2\nburn = 1000000000\nmax_allowed_uids = 8\n"
                "immunity_period = 100\nactivity_cutoff = 1000\npow_difficulty = 4\n"
                "min_pow_difficulty = 0\nmax_regs_per_block = 3\nadjustment_interval = 0\n"
                "weights_version = 7")
        .Subnet(kCrNet, owner_, nullptr,
                "tempo = 3\ncommit_reveal = true\nreveal_period_epochs = 1\nburn = 1000000000\n"
                "adjustment_interval = 0");
    state_ = g.Parse().state;
    ASSERT_EQ(state_.total_issuance, CirculatingTotal(state_));
    // A few good transactions, in block 1.
    ASSERT_TRUE(Register(owner_, owner_hot_, kNet).ok());
    ASSERT_TRUE(Register(alice_, alice_hot_, kNet).ok());
    ASSERT_TRUE(Register(bob_, bob_hot_, kNet).ok());
    ASSERT_TRUE(Register(alice_, alice_hot_, kCrNet).ok());
    ASSERT_TRUE(SubmitTx(state_, alice_, kTxAddStake, StakeTx{alice_hot_.public_key(), 100 * kToken}).ok());
    ASSERT_TRUE(SubmitTx(state_, bob_, kTxTransfer, TransferTx{carol_.public_key(), 5 * kToken}).ok());
    SealEmpty(state_);
    ASSERT_EQ(state_.height, 1u);
    ASSERT_EQ(state_.total_issuance, CirculatingTotal(state_));
  }

  absl::Status Register(const SigningKey& coldkey, const SigningKey& hotkey, NetUid netuid,
                        Amount max_burn = 1000 * kToken) {
    RegisterTx r;
    r.netuid = netuid;
    r.hotkey = hotkey.public_key();
    r.max_burn = max_burn;
    return SubmitTx(state_, coldkey, kTxRegister, r);
  }
  absl::Status SetWeights(const SigningKey& hotkey, NetUid netuid, std::vector<uint16_t> uids,
                          std::vector<uint16_t> weights, uint64_t version = 7) {
    return SubmitTx(state_, hotkey, kTxSetWeights,
                    SetWeightsTx{netuid, std::move(uids), std::move(weights), version});
  }
  const Neuron& NeuronOf(NetUid netuid, const SigningKey& hotkey) {
    const SubnetState& s = state_.subnets.at(netuid);
    std::optional<Uid> uid = FindUid(s, hotkey.public_key());
    EXPECT_TRUE(uid.has_value());
    return s.neurons.at(uid.value_or(0));
  }

  SigningKey owner_, owner_hot_, alice_, alice_hot_, bob_, bob_hot_, carol_, stranger_;
  ChainState state_;
};

}  // namespace agora::chain::testing

#endif  // AGORA_TESTS_CHAIN_LEDGER_APPLY_FIXTURE_H_
