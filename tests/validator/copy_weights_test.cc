// MeanVisibleWeights: what the copier submits from a metagraph.
#include "validator/copy_weights.h"

#include "gtest/gtest.h"

namespace agora::validator {
namespace {

chain::NeuronInfo Validator(uint16_t uid, chain::Amount stake, chain::SparseRow weights) {
  chain::NeuronInfo n;
  n.uid = uid;
  n.stake = stake;
  n.validator_permit = true;
  n.weights = std::move(weights);
  return n;
}

TEST(CopyWeightsTest, StakeWeightedMeanOfNormalizedRows) {
  // uid 0 (stake 3) weighs miners 3:4 = 1:1; uid 1 (stake 1) weighs only 4.
  // The copier is uid 2.
  std::vector<chain::NeuronInfo> mg = {Validator(0, 3, {{3, 65535}, {4, 65535}}),
                                       Validator(1, 1, {{4, 100}}),
                                       Validator(2, 5, {{3, 65535}})};
  const CopiedWeights c = MeanVisibleWeights(mg, 2);
  EXPECT_EQ(c.sources, 2u);
  ASSERT_EQ(c.uids, (std::vector<uint16_t>{3, 4}));
  EXPECT_DOUBLE_EQ(c.shares[0], 3.0 / 4 * 0.5);
  EXPECT_DOUBLE_EQ(c.shares[1], 3.0 / 4 * 0.5 + 1.0 / 4);
}

TEST(CopyWeightsTest, LeavesOutSelfWeightsUnpermittedAndEmptyRows) {
  chain::NeuronInfo no_permit = Validator(1, 10, {{3, 65535}});
  no_permit.validator_permit = false;
  std::vector<chain::NeuronInfo> mg = {
      Validator(0, 1, {{0, 65535}, {2, 65535}, {4, 65535}}),  // its self-weight, the copier
      no_permit,
      Validator(5, 1, {{5, 65535}}),  // only a self-weight: nothing measured yet
      Validator(6, 0, {{3, 65535}}),  // no stake
  };
  const CopiedWeights c = MeanVisibleWeights(mg, 2);
  EXPECT_EQ(c.sources, 1u);
  ASSERT_EQ(c.uids, (std::vector<uint16_t>{4}));
  EXPECT_DOUBLE_EQ(c.shares[0], 1.0);
}

TEST(CopyWeightsTest, NothingToCopy) {
  const CopiedWeights c = MeanVisibleWeights({Validator(0, 1, {}), Validator(1, 1, {{1, 9}})}, 3);
  EXPECT_EQ(c.sources, 0u);
  EXPECT_TRUE(c.uids.empty());
}

}  // namespace
}  // namespace agora::validator
