// Hand-built cases for the subtleties of yuma.md §10, each small enough to check by hand.
#include <gtest/gtest.h>

#include <cstdint>
#include <optional>
#include <vector>

#include "chain/fixed_point.h"
#include "chain/yuma.h"
#include "tests/chain/yuma_test_util.h"

namespace agora::chain {
namespace {

constexpr uint16_t kMax = 65535;

EpochOutput RunOk(const EpochInput& in) {
  absl::StatusOr<EpochOutput> out = RunEpoch(in);
  EXPECT_TRUE(out.ok()) << out.status();
  return out.ok() ? *std::move(out) : EpochOutput{};
}

// Two validators (0, 1) with stake and permits; miners 2, 3.
EpochInput TwoValidators(uint64_t stake0, uint64_t stake1) {
  EpochInput in = SmallSubnet(4);
  in.stake = {stake0, stake1, 0, 0};
  in.validator_permit = {true, true, false, false};
  return in;
}

// §10.4: kappa = 32767/65535 is just below 1/2, so at exactly 50% stake the higher score wins.
TEST(YumaSubtletiesTest, HalfStakeTieResolvesTowardHigherScore) {
  EpochInput in = TwoValidators(1, 1);
  in.weights[0] = {{2, kMax}, {3, 21845}};  // 0.75 / 0.25
  in.weights[1] = {{2, 21845}, {3, kMax}};  // 0.25 / 0.75
  EpochOutput out = RunOk(in);
  EXPECT_EQ(out.consensus[2], out.weights_normalized[0][0].second);  // 0.75, not 0.25
  EXPECT_EQ(out.consensus[3], out.weights_normalized[1][1].second);
  EXPECT_NEAR(out.consensus[2].ToDouble(), 0.75, 1e-4);

  // Slightly more stake on validator 1: it decides both columns.
  in.stake = {1000, 1001, 0, 0};
  out = RunOk(in);
  EXPECT_EQ(out.consensus[2], out.weights_normalized[1][0].second);  // 0.25
  EXPECT_EQ(out.consensus[3], out.weights_normalized[1][1].second);  // 0.75
}

// §10.1: weights count only for validators that held a permit in the previous epoch.
TEST(YumaSubtletiesTest, MaskingUsesThePreviousEpochsPermits) {
  EpochInput in = SmallSubnet(3);
  in.stake = {1, 1, 0};
  in.validator_permit = {true, false, false};  // uid 1 is newly staked
  in.weights[0] = {{2, kMax}};
  in.weights[1] = {{2, kMax}};
  const EpochOutput out = RunOk(in);
  EXPECT_TRUE(out.weights_normalized[1].empty());
  EXPECT_EQ(out.active_stake[1], I32F32::Zero());
  EXPECT_EQ(out.active_stake[0], I32F32::One());
  EXPECT_TRUE(out.new_validator_permit[1]);  // stored for the next epoch
  EXPECT_EQ(out.incentive[2], I32F32::One());
  EXPECT_TRUE(out.bonds_u16[1].empty());
  EXPECT_EQ(out.dividends[1], I32F32::Zero());
}

// §10.3: weights set at or before the target's registration block are dropped (<=).
TEST(YumaSubtletiesTest, OutdatedWeightsUseLessOrEqual) {
  EpochInput in = SmallSubnet(3);
  in.stake = {1, 0, 0};
  in.validator_permit = {true, false, false};
  in.last_update = {50, 0, 0};
  in.current_block = 60;
  in.block_at_registration = {0, 49, 50};
  in.weights[0] = {{1, kMax}, {2, kMax}};
  const EpochOutput out = RunOk(in);
  ASSERT_EQ(out.weights_normalized[0].size(), 1u);
  EXPECT_EQ(out.weights_normalized[0][0].first, 1);
  EXPECT_EQ(out.weights_normalized[0][0].second, I32F32::One());
}

// §10.11: stable ascending sort, so with equal stake the lower uids lose; n < K permits every
// staked uid.
TEST(YumaSubtletiesTest, TopKTiesLowerUidLosesAndSmallSubnetsPermitAllStaked) {
  EpochInput in = SmallSubnet(3);
  in.stake = {5, 5, 5};
  in.max_allowed_validators = 2;
  EXPECT_EQ(RunOk(in).new_validator_permit, (std::vector<bool>{false, true, true}));
  in.stake = {5, 0, 5};
  in.max_allowed_validators = 5;
  EXPECT_EQ(RunOk(in).new_validator_permit, (std::vector<bool>{true, false, true}));
  in.max_allowed_validators = 0;
  EXPECT_EQ(RunOk(in).new_validator_permit, (std::vector<bool>{false, false, false}));
}

// §10.11: the threshold compares raw stake; the subnet owner is exempt and always permitted.
TEST(YumaSubtletiesTest, StakeThresholdWithOwnerExempt) {
  EpochInput in = SmallSubnet(4);
  in.stake = {50, 200, 50, 100};
  in.stake_threshold = 100;
  EpochOutput out = RunOk(in);
  EXPECT_EQ(out.stake_normalized[0], I32F32::Zero());
  EXPECT_EQ(out.stake_normalized[2], I32F32::Zero());
  EXPECT_GT(out.stake_normalized[3], I32F32::Zero());  // 100 is not below 100
  EXPECT_EQ(out.new_validator_permit, (std::vector<bool>{false, true, false, true}));

  in.owner_uid = 2;
  out = RunOk(in);
  EXPECT_EQ(out.stake_normalized[0], I32F32::Zero());
  EXPECT_EQ(out.stake_normalized[2], I32F32::FromRaw(int64_t{50} * (int64_t{1} << 32) / 350));
  EXPECT_TRUE(out.new_validator_permit[2]);

  // The owner keeps its permit even with no stake at all.
  in.stake[2] = 0;
  out = RunOk(in);
  EXPECT_TRUE(out.new_validator_permit[2]);
}

// §10.7: no effective weights -> everything to validators by active stake, else by stake.
TEST(YumaSubtletiesTest, NoWeightsFallBackToActiveStakeThenStake) {
  EpochInput in = SmallSubnet(3);
  in.stake = {1, 3, 0};
  in.validator_permit = {true, true, false};
  in.last_update = {99, 10, 99};  // uid 1 is inactive
  EpochOutput out = RunOk(in);
  EXPECT_EQ(out.validator_emission, (std::vector<uint64_t>{1'000'000'000, 0, 0}));
  EXPECT_EQ(out.emission, out.validator_emission);
  EXPECT_EQ(out.server_emission, (std::vector<uint64_t>{0, 0, 0}));

  in.validator_permit = {false, false, false};  // no active stake at all
  out = RunOk(in);
  EXPECT_EQ(out.validator_emission, (std::vector<uint64_t>{250'000'000, 750'000'000, 0}));
  EXPECT_EQ(out.emission, out.validator_emission);

  in.stake = {0, 0, 0};  // nothing at all: nobody is paid, nothing is NaN
  out = RunOk(in);
  EXPECT_EQ(out.emission, (std::vector<uint64_t>{0, 0, 0}));
}

// §10.9: an inactive validator keeps earning through its bonds in classic Yuma, not in Yuma3.
TEST(YumaSubtletiesTest, InactiveValidatorDividendsClassicVersusYuma3) {
  EpochInput in = TwoValidators(1, 1);
  in.last_update = {99, 20, 0, 0};  // validator 1 inactive (20 + 50 < 100), weights still valid
  in.weights[0] = {{2, kMax}};
  in.weights[1] = {{2, kMax}};
  in.bonds[0] = {{2, kMax}};
  in.bonds[1] = {{2, kMax}};
  EpochOutput classic = RunOk(in);
  EXPECT_FALSE(classic.active[1]);
  EXPECT_GT(classic.dividends[1], I32F32::Zero());
  EXPECT_GT(classic.validator_emission[1], 0u);

  in.yuma3 = true;
  in.bonds[0] = {{2, 30000}};
  in.bonds[1] = {{2, 30000}};
  EpochOutput y3 = RunOk(in);
  EXPECT_EQ(y3.dividends[1], I32F32::Zero());
  EXPECT_EQ(y3.dividends[0], I32F32::One());
  EXPECT_EQ(y3.validator_emission[1], 0u);
}

// §10.10: with liquid alpha, a bond is dropped where the validator's row has no entry for the
// miner, while an explicit zero weight lets it decay. With the scalar alpha both decay.
TEST(YumaSubtletiesTest, LiquidAlphaDropsBondsWithoutAWeightEntry) {
  EpochInput in = TwoValidators(1, 1);
  in.yuma3 = true;
  in.liquid_alpha = true;
  in.bonds_penalty = 0;  // W^b = W, explicit zeros kept
  in.weights[0] = {{2, kMax}, {3, 0}};
  in.weights[1] = {{2, kMax}};
  in.bonds[0] = {{2, 30000}, {3, 30000}};
  in.bonds[1] = {{2, 30000}, {3, 30000}};
  EpochOutput out = RunOk(in);
  const std::optional<I32F32> decayed = At(out.ema_bonds[0], 3);
  ASSERT_TRUE(decayed.has_value());
  EXPECT_LT(*decayed, I32F32::FromInt(30000).SafeDiv(I32F32::FromInt(kMax)));
  EXPECT_GT(*decayed, I32F32::Zero());
  EXPECT_FALSE(At(out.ema_bonds[1], 3).has_value());
  EXPECT_TRUE(At(out.ema_bonds[1], 2).has_value());

  in.liquid_alpha = false;
  out = RunOk(in);
  EXPECT_TRUE(At(out.ema_bonds[0], 3).has_value());
  EXPECT_TRUE(At(out.ema_bonds[1], 3).has_value());
}

// 2025-03: the subnet owner keeps its self-weight; everyone else's diagonal is removed.
TEST(YumaSubtletiesTest, OwnerSelfWeightIsKept) {
  EpochInput in = SmallSubnet(3);
  in.stake = {1, 1, 0};
  in.validator_permit = {false, true, false};  // the owner's old permit is forced
  in.owner_uid = 0;
  in.weights[0] = {{0, kMax}, {2, kMax}};
  in.weights[1] = {{1, kMax}, {2, kMax}};
  const EpochOutput out = RunOk(in);
  ASSERT_EQ(out.weights_normalized[0].size(), 2u);
  EXPECT_EQ(out.weights_normalized[0][0], (std::pair<uint16_t, I32F32>{0, Prop(0.5)}));
  ASSERT_EQ(out.weights_normalized[1].size(), 1u);
  EXPECT_EQ(out.weights_normalized[1][0], (std::pair<uint16_t, I32F32>{2, I32F32::One()}));
  EXPECT_GT(out.active_stake[0], I32F32::Zero());
}

// §10.3: once an epoch has run, bond columns are reset for uids registered after
// LastMechanismStepBlock + 1 (not current_block - tempo).
TEST(YumaSubtletiesTest, BondColumnsResetFromLastMechanismStepBlock) {
  EpochInput in = SmallSubnet(3);
  in.stake = {1, 0, 0};
  in.validator_permit = {true, false, false};
  in.current_block = 60;
  in.last_update = {59, 0, 0};
  in.block_at_registration = {0, 0, 41};
  in.weights[0] = {{1, kMax}};
  in.bonds[0] = {{1, kMax}, {2, kMax}};
  EpochOutput out = RunOk(in);  // last_tempo = 60 - 10 = 50 > 41: column 2 kept
  EXPECT_TRUE(At(out.ema_bonds[0], 2).has_value());
  in.last_mechanism_step_block = 40;  // last_tempo = 41 <= 41: column 2 reset
  out = RunOk(in);
  EXPECT_FALSE(At(out.ema_bonds[0], 2).has_value());
  EXPECT_TRUE(At(out.ema_bonds[0], 1).has_value());
}

// S5.4: with commit-reveal, weights committed before the target registered are dropped.
TEST(YumaSubtletiesTest, CommitRevealMasksWeightsCommittedBeforeRegistration) {
  EpochInput in = SmallSubnet(3);
  in.stake = {1, 0, 0};
  in.validator_permit = {true, false, false};
  in.block_at_registration = {0, 10, 46};
  in.last_update = {99, 0, 0};
  in.weights[0] = {{1, kMax}, {2, kMax}};
  EXPECT_EQ(RunOk(in).weights_normalized[0].size(), 2u);
  in.commit_block = {45, UINT64_MAX, UINT64_MAX};
  const EpochOutput out = RunOk(in);
  ASSERT_EQ(out.weights_normalized[0].size(), 1u);
  EXPECT_EQ(out.weights_normalized[0][0].first, 1);
}

// Liquid alpha end to end: subtensor's test_yuma_3_kappa_moves_first (stakes 8/1/1, liquid
// alpha 0.1..0.3), run epoch after epoch with the stored state carried over. The chain test
// asserts dividends within 1e-3; bonds are checked here against its targets too.
TEST(YumaSubtletiesTest, LiquidAlphaTrajectoryMatchesTheChainTest) {
  EpochInput in = SmallSubnet(5);
  in.stake = {8, 1, 1, 0, 0};
  in.tempo = 1;
  in.activity_cutoff = 13;
  in.bonds_penalty = 0;
  in.bonds_moving_average = 975000;
  in.alpha_sigmoid_steepness = 1000;
  in.yuma3 = true;
  in.liquid_alpha = true;
  in.alpha_low = 6553;
  in.alpha_high = 19660;
  in.max_allowed_validators = 3;
  in.block_at_registration.assign(5, 1);
  in.last_update.assign(5, 1);
  in.current_block = 2;
  // The setup epoch sets the permits.
  EpochOutput out = RunOk(in);
  in.validator_permit = out.new_validator_permit;

  const std::vector<std::vector<std::vector<double>>> target_bonds = {
      {{0.1013, 0.0000}, {0.1013, 0.0000}, {0.1013, 0.0000}},
      {{0.0908, 0.1013}, {0.3697, 0.0000}, {0.3697, 0.0000}},
      {{0.0815, 0.1924}, {0.3170, 0.1013}, {0.5580, 0.0000}},
      {{0.0731, 0.2742}, {0.2765, 0.1924}, {0.4306, 0.1013}},
      {{0.0656, 0.3478}, {0.2435, 0.2742}, {0.3589, 0.1924}},
      {{0.0588, 0.4139}, {0.2157, 0.3478}, {0.3089, 0.2742}},
  };
  const std::vector<std::vector<double>> target_dividends = {
      {0.8000, 0.1000, 0.1000}, {1.0000, 0.0000, 0.0000}, {0.9382, 0.0618, 0.0000},
      {0.8819, 0.0773, 0.0407}, {0.8564, 0.0844, 0.0592}, {0.8418, 0.0884, 0.0697},
  };
  const std::vector<std::vector<std::vector<uint16_t>>> weights_by_epoch = {
      {{kMax, 0}, {kMax, 0}, {kMax, 0}},
      {{0, kMax}, {kMax, 0}, {kMax, 0}},
      {{0, kMax}, {0, kMax}, {kMax, 0}},
      {{0, kMax}, {0, kMax}, {0, kMax}},
  };
  for (size_t epoch = 0; epoch < target_bonds.size(); ++epoch) {
    SCOPED_TRACE("epoch " + std::to_string(epoch));
    if (epoch < weights_by_epoch.size()) {  // set_weights at the current block
      for (uint16_t v = 0; v < 3; ++v) {
        in.weights[v] = {{3, weights_by_epoch[epoch][v][0]}, {4, weights_by_epoch[epoch][v][1]}};
        in.last_update[v] = in.current_block;
      }
    }
    ++in.current_block;  // next block, then the epoch
    out = RunOk(in);
    for (uint16_t v = 0; v < 3; ++v) {
      EXPECT_NEAR(out.dividends_u16[v] / 65535.0, target_dividends[epoch][v], 1e-3) << v;
      for (uint16_t m = 0; m < 2; ++m) {
        double bond = 0;
        for (const auto& [j, b] : out.bonds_u16[v]) {
          if (j == 3 + m) bond = b / 65535.0;
        }
        EXPECT_NEAR(bond, target_bonds[epoch][v][m], 1e-3) << "bond " << v << "->" << 3 + m;
      }
    }
    in.bonds = out.bonds_u16;
    in.validator_permit = out.new_validator_permit;
  }
}

// Classic Yuma bonds over several epochs: subtensor's test_bonds (stakes 1/2/3/4, validators
// turn to self-weights one by one), whose stored u16 bonds it asserts exactly. It shows the
// one-u16-per-epoch decay of §10.14 (12603 -> 12602). The test ran before the bond-column
// reset keyed on LastMechanismStepBlock; last_mechanism_step_block = block - 1 keeps it off.
TEST(YumaSubtletiesTest, ClassicBondsTrajectoryMatchesTheChainTestExactly) {
  EpochInput in = SmallSubnet(8);
  in.stake = {1, 2, 3, 4, 0, 0, 0, 0};
  in.tempo = 65534;
  in.activity_cutoff = 5000;
  in.max_allowed_validators = 8;
  in.block_at_registration.assign(8, 0);
  in.last_update.assign(8, 0);
  in.current_block = 0;
  EpochOutput out = RunOk(in);  // sets the permits
  in.validator_permit = out.new_validator_permit;

  const U16Row to_servers = {{4, 16383}, {5, 32767}, {6, 49149}, {7, 65535}};
  struct Epoch {
    int set_uid;  // -1: every validator weights the servers
    U16Row row;
    uint16_t column;
    std::vector<uint16_t> bonds;
  };
  const std::vector<Epoch> epochs = {
      {-1, to_servers, 4, {16383, 32767, 49151, 65535}},
      {0, {{0, kMax}}, 4, {14582, 32767, 49151, 65535}},
      {1, {{1, kMax}}, 4, {12603, 28321, 49151, 65535}},
      {2, {{2, kMax}}, 7, {12602, 28320, 49150, 65535}},
      {2, {{7, kMax}}, 7, {10951, 24609, 49150, 65535}},
  };
  for (size_t e = 0; e < epochs.size(); ++e) {
    SCOPED_TRACE("epoch " + std::to_string(e));
    ++in.current_block;  // set_weights in this block, then the epoch
    for (uint16_t v = 0; v < 4; ++v) {
      if (epochs[e].set_uid == -1 || epochs[e].set_uid == v) {
        in.weights[v] = epochs[e].set_uid == -1 ? to_servers : epochs[e].row;
        in.last_update[v] = in.current_block;
      }
    }
    in.last_mechanism_step_block = in.current_block - 1;
    out = RunOk(in);
    for (uint16_t v = 0; v < 4; ++v) {
      uint16_t bond = 0;
      for (const auto& [j, b] : out.bonds_u16[v]) {
        if (j == epochs[e].column) bond = b;
      }
      EXPECT_EQ(bond, epochs[e].bonds[v]) << "validator " << v;
    }
    in.bonds = out.bonds_u16;
    in.validator_permit = out.new_validator_permit;
  }
}

}  // namespace
}  // namespace agora::chain
