#include "chain/yuma_math.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "chain/fixed_point.h"
#include "chain/yuma_bonds.h"

namespace agora::chain::yuma_internal {
namespace {

I32F32 F(double x) { return I32F32::FromDouble(x); }

uint64_t TestSeed() {
  const char* env = std::getenv("AGORA_TEST_SEED");
  return env != nullptr ? std::strtoull(env, nullptr, 10) : 20260630;
}

TEST(TopKNonzeroTest, LowerUidsLoseTiesAndZerosNeverWin) {
  const std::vector<I32F32> s = {F(0.25), F(0.25), F(0.25), F(0.25)};
  EXPECT_EQ(TopKNonzero(s, 2), (std::vector<bool>{false, false, true, true}));
  EXPECT_EQ(TopKNonzero(s, 4), (std::vector<bool>{true, true, true, true}));
  EXPECT_EQ(TopKNonzero(s, 0), (std::vector<bool>{false, false, false, false}));
  // n < K: every nonzero uid gets a permit.
  const std::vector<I32F32> t = {F(0.5), F(0), F(0.5)};
  EXPECT_EQ(TopKNonzero(t, 5), (std::vector<bool>{true, false, true}));
  // n == K: sorted, nothing removed, zeros stay false.
  EXPECT_EQ(TopKNonzero(t, 3), (std::vector<bool>{true, false, true}));
  EXPECT_EQ(TopKNonzero(t, 1), (std::vector<bool>{false, false, true}));
}

TEST(NormalizeTest, ZeroSumUnchangedAndFloors) {
  std::vector<I32F32> zero = {I32F32::Zero(), I32F32::Zero()};
  NormalizeInPlace(zero);
  EXPECT_EQ(zero, (std::vector<I32F32>{I32F32::Zero(), I32F32::Zero()}));
  std::vector<I32F32> thirds = {I32F32::One(), I32F32::One(), I32F32::One()};
  NormalizeInPlace(thirds);
  EXPECT_EQ(thirds[0].raw(), 1431655765);
  EXPECT_LT(Sum(thirds), I32F32::One());
}

TEST(ColNormalizeTest, SkipsZeroColumnsAndKeepsZeroEntries) {
  SparseMatrix m = {{{0, F(1)}, {1, F(0)}}, {{0, F(3)}}};
  ColNormalize(m, 2);
  EXPECT_EQ(m[0][0].second, F(0.25));
  EXPECT_EQ(m[0][1].second, I32F32::Zero());
  ASSERT_EQ(m[0].size(), 2u);
  EXPECT_EQ(m[1][0].second, F(0.75));
}

TEST(ColClipTest, DropsEntriesAboveAZeroConsensus) {
  const SparseMatrix w = {{{0, F(0.6)}, {1, F(0.4)}, {2, F(0)}}};
  const SparseMatrix c = ColClip(w, {F(0.5), F(0), F(0.1)});
  ASSERT_EQ(c[0].size(), 2u);
  EXPECT_EQ(c[0][0], (std::pair<uint16_t, I32F32>{0, F(0.5)}));
  EXPECT_EQ(c[0][1], (std::pair<uint16_t, I32F32>{2, F(0)}));
}

TEST(InterpolateTest, EndpointsKeepRowsOtherwiseRebuildSorted) {
  const SparseMatrix w = {{{2, F(0.5)}, {0, F(0.5)}, {1, F(0)}}};
  const SparseMatrix c = {{{2, F(0.25)}, {0, F(0.5)}, {1, F(0)}}};
  EXPECT_EQ(Interpolate(w, c, 3, I32F32::Zero()), w);
  EXPECT_EQ(Interpolate(w, c, 3, I32F32::One()), c);
  const SparseMatrix half = Interpolate(w, c, 3, F(0.5));
  ASSERT_EQ(half[0].size(), 2u);  // zero dropped, ascending uids
  EXPECT_EQ(half[0][0], (std::pair<uint16_t, I32F32>{0, F(0.5)}));
  EXPECT_EQ(half[0][1], (std::pair<uint16_t, I32F32>{2, F(0.375)}));
}

TEST(EmaScalarTest, MergesSortedAndDropsZeros) {
  const SparseMatrix fresh = {{{3, F(1)}, {1, F(0)}}};
  const SparseMatrix old = {{{2, F(0.5)}}};
  const SparseMatrix ema = EmaScalar(fresh, old, F(0.25), 4);
  ASSERT_EQ(ema[0].size(), 2u);
  EXPECT_EQ(ema[0][0], (std::pair<uint16_t, I32F32>{2, F(0.375)}));
  EXPECT_EQ(ema[0][1], (std::pair<uint16_t, I32F32>{3, F(0.25)}));
}

TEST(WeightedMedianTest, HalfStakeTieResolvesTowardHigherScore) {
  // Two validators with equal stake disagree: kappa = 32767/65535 < 0.5, so the stake with
  // score <= 0.2 (exactly 0.5) exceeds sigma - kappa and... the higher score wins.
  const I32F32 kappa = U16ToProportion(32767);
  const SparseMatrix w = {{{0, F(0.2)}}, {{0, F(0.8)}}};
  const std::vector<I32F32> c = WeightedMedianColumns({F(0.5), F(0.5)}, w, 1, kappa);
  EXPECT_EQ(c[0], F(0.8));
  // With kappa = 0.5 + 2^-16 the lower score would win.
  const std::vector<I32F32> c2 =
      WeightedMedianColumns({F(0.5), F(0.5)}, w, 1, U16ToProportion(32769));
  EXPECT_EQ(c2[0], F(0.2));
}

// The closed form used for consensus equals the chain's mid-pivot search on random columns,
// including ties, explicit zeros, tiny stakes and extreme kappas.
TEST(WeightedMedianTest, MatchesTheChainAlgorithmOnRandomColumns) {
  const uint64_t seed = TestSeed();
  SCOPED_TRACE("AGORA_TEST_SEED=" + std::to_string(seed));
  std::mt19937_64 rng(seed);
  for (int trial = 0; trial < 3000; ++trial) {
    const uint32_t rows = 1 + rng() % 12;
    const uint32_t cols = 1 + rng() % 6;
    std::vector<I32F32> stake(rows);
    for (auto& s : stake) {
      switch (rng() % 4) {
        case 0:
          s = I32F32::Zero();
          break;
        case 1:
          s = I32F32::FromRaw(1 + rng() % 3);
          break;  // normalizes to ~0
        default:
          s = I32F32::FromRaw(static_cast<int64_t>(rng() % (int64_t{1} << 32)));
      }
    }
    NormalizeInPlace(stake);
    SparseMatrix w(rows);
    const int levels = 1 + rng() % 4;  // few distinct values -> many ties
    for (uint32_t i = 0; i < rows; ++i) {
      for (uint32_t j = 0; j < cols; ++j) {
        if (rng() % 3 == 0) continue;
        w[i].emplace_back(j, I32F32::FromRaw((rng() % (levels + 1)) * (I32F32::kOneRaw / 4)));
      }
    }
    const uint16_t kappa_u16 =
        std::vector<uint16_t>{0, 1, 32767, 32768, 45000, 65534, 65535}[rng() % 7];
    const I32F32 kappa = U16ToProportion(kappa_u16);
    const std::vector<I32F32> fast = WeightedMedianColumns(stake, w, cols, kappa);

    std::vector<I32F32> use_stake;
    std::vector<uint32_t> use_rows;
    for (uint32_t i = 0; i < rows; ++i) {
      if (stake[i] > I32F32::Zero()) {
        use_stake.push_back(stake[i]);
        use_rows.push_back(i);
      }
    }
    NormalizeInPlace(use_stake);
    const I32F32 sigma = Sum(use_stake);
    for (uint32_t j = 0; j < cols; ++j) {
      std::vector<I32F32> score(use_rows.size());
      for (size_t k = 0; k < use_rows.size(); ++k) {
        for (const auto& [c, v] : w[use_rows[k]]) {
          if (c == j) score[k] = v;
        }
      }
      const I32F32 want =
          WeightedMedianReference(use_stake, score, sigma.SaturatingSub(kappa), sigma);
      ASSERT_EQ(fast[j], want) << "trial " << trial << " column " << j << " kappa " << kappa_u16;
    }
  }
}

TEST(LiquidAlphaTest, SigmoidStaysWithinBoundsAndMovesWithDisagreement) {
  const I32F32 low = U16ToProportion(45875), high = U16ToProportion(58982);
  const I32F32 steep = I32F32::FromInt(1000);
  // Agreement (w == c == b): x = 0, sigmoid ~ 1/(1 + e^5) -> close to low.
  const I32F32 agree = LiquidAlphaSigmoid(F(0.5), F(0.5), F(0.5), low, high, steep);
  // Full disagreement: x = 1 -> close to high.
  const I32F32 disagree = LiquidAlphaSigmoid(F(0), F(1), F(0), low, high, steep);
  EXPECT_GE(agree, low);
  EXPECT_LE(disagree, high);
  EXPECT_LT(agree, disagree);
  const double lo = low.ToDouble(), span = high.ToDouble() - lo;
  EXPECT_NEAR(agree.ToDouble(), lo + span / (1 + std::exp(5.0)), 1e-8);
  EXPECT_NEAR(disagree.ToDouble(), lo + span / (1 + std::exp(-5.0)), 1e-8);
}

TEST(BondsMovingAverageAlphaTest, IsOneMinusBmaUpTo2Pow32) {
  EXPECT_EQ(BondsMovingAverageAlpha(900000).raw(), 429496730);  // 0.1 + 0.6 * 2^-32
  EXPECT_EQ(BondsMovingAverageAlpha(975000).raw(), (int64_t{1} << 32) - 4187593113);
  EXPECT_EQ(BondsMovingAverageAlpha(0), I32F32::One());
  EXPECT_EQ(BondsMovingAverageAlpha(1000000), I32F32::Zero());
}

}  // namespace
}  // namespace agora::chain::yuma_internal
