#include "chain/fixed_point.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <optional>
#include <random>
#include <string>
#include <vector>

namespace agora::chain {
namespace {

constexpr int64_t kOne = int64_t{1} << 32;

I32F32 Raw(int64_t r) { return I32F32::FromRaw(r); }

TEST(I32F32Test, FromIntAndSaturation) {
  EXPECT_EQ(I32F32::FromInt(3).raw(), 3 * kOne);
  EXPECT_EQ(I32F32::FromInt(-2).raw(), -2 * kOne);
  EXPECT_EQ(I32F32::FromInt(int64_t{1} << 40), I32F32::Max());
  EXPECT_EQ(I32F32::FromInt(-(int64_t{1} << 40)), I32F32::Min());
  EXPECT_EQ(I32F32::FromUint(UINT64_MAX), I32F32::Max());
}

TEST(I32F32Test, MulFloorsAlsoForNegatives) {
  // 1 raw unit * 0.5 = 0.5 raw unit -> floor 0; -1 raw unit * 0.5 -> floor -1.
  const I32F32 half = Raw(kOne / 2);
  EXPECT_EQ(Raw(1).SaturatingMul(half).raw(), 0);
  EXPECT_EQ(Raw(-1).SaturatingMul(half).raw(), -1);
  EXPECT_EQ(Raw(3).SaturatingMul(half).raw(), 1);
  EXPECT_EQ(Raw(-3).SaturatingMul(half).raw(), -2);
  // (1/3) * 3 in raw units: floor(1431655765 * 3) = 4294967295 = 1 - 2^-32.
  const I32F32 third = I32F32::One().SafeDiv(I32F32::FromInt(3));
  EXPECT_EQ(third.raw(), 1431655765);
  EXPECT_EQ(third.SaturatingMul(I32F32::FromInt(3)).raw(), kOne - 1);
  EXPECT_EQ(I32F32::FromInt(2).SaturatingMul(I32F32::FromInt(-3)), I32F32::FromInt(-6));
}

TEST(I32F32Test, MulOverflowSaturatesOrFails) {
  const I32F32 big = I32F32::FromInt(1 << 20);
  EXPECT_EQ(big.SaturatingMul(big), I32F32::Max());
  EXPECT_EQ(big.SaturatingMul(big.Neg()), I32F32::Min());
  EXPECT_FALSE(big.CheckedMul(big).has_value());
  EXPECT_TRUE(I32F32::FromInt(40000).CheckedMul(I32F32::FromInt(40000)).has_value());
}

TEST(I32F32Test, DivTruncatesTowardZero) {
  EXPECT_EQ(I32F32::One().SafeDiv(I32F32::FromInt(3)).raw(), 1431655765);
  EXPECT_EQ(I32F32::One().Neg().SafeDiv(I32F32::FromInt(3)).raw(), -1431655765);
  EXPECT_EQ(I32F32::FromInt(2).SafeDiv(I32F32::FromInt(3)).raw(), 2863311530);  // .67 down
  EXPECT_EQ(I32F32::FromInt(-2).SafeDiv(I32F32::FromInt(3)).raw(), -2863311530);
  EXPECT_EQ(Raw(1).SafeDiv(I32F32::FromInt(2)).raw(), 0);
  EXPECT_EQ(Raw(-1).SafeDiv(I32F32::FromInt(2)).raw(), 0);  // trunc, not floor
  // kappa: 32767 / 65535.
  EXPECT_EQ(I32F32::FromInt(32767).SafeDiv(I32F32::FromInt(65535)).raw(), 2147450879);
}

TEST(I32F32Test, SafeDivGivesZeroOnZeroDivisorOrOverflow) {
  EXPECT_EQ(I32F32::One().SafeDiv(I32F32::Zero()), I32F32::Zero());
  EXPECT_FALSE(I32F32::One().CheckedDiv(I32F32::Zero()).has_value());
  EXPECT_EQ(I32F32::FromInt(1 << 20).SafeDiv(Raw(1)), I32F32::Zero());
  EXPECT_EQ(I32F32::FromInt(1 << 20).SaturatingDiv(Raw(1)), I32F32::Max());
  EXPECT_EQ(I32F32::FromInt(-(1 << 20)).SaturatingDiv(Raw(1)), I32F32::Min());
  EXPECT_EQ(I32F32::Min().SafeDiv(Raw(-kOne)), I32F32::Zero());
}

TEST(I32F32Test, ConversionsFloor) {
  EXPECT_EQ(Raw(kOne * 5 - 1).ToU16Saturating(), 4);
  EXPECT_EQ(Raw(-1).ToU16Saturating(), 0);
  EXPECT_EQ(I32F32::FromInt(70000).ToU16Saturating(), 65535);
  EXPECT_EQ(Raw(kOne * 7 + kOne / 2).ToU64Saturating(), 7u);
  EXPECT_EQ(I32F32::FromInt(-3).ToU64Saturating(), 0u);
}

TEST(I32F32Test, FromDoubleRoundsTiesToEven) {
  EXPECT_EQ(I32F32::FromDouble(0.5).raw(), kOne / 2);
  EXPECT_EQ(I32F32::FromDouble(std::ldexp(0.5, -32)).raw(), 0);  // 0.5 raw -> 0 (even)
  EXPECT_EQ(I32F32::FromDouble(std::ldexp(1.5, -32)).raw(), 2);  // 1.5 raw -> 2 (even)
  EXPECT_EQ(I32F32::FromDouble(std::ldexp(2.5, -32)).raw(), 2);  // 2.5 raw -> 2 (even)
  EXPECT_EQ(I32F32::FromDouble(std::ldexp(-1.5, -32)).raw(), -2);
  EXPECT_EQ(I32F32::FromDouble(std::ldexp(2.6, -32)).raw(), 3);
  EXPECT_EQ(I32F32::FromDouble(1e30), I32F32::Max());
  EXPECT_EQ(I32F32::FromDouble(-1e30), I32F32::Min());
  EXPECT_EQ(I32F32::FromDouble(std::nan("")), I32F32::Zero());
  EXPECT_EQ(I32F32::FromDouble(0.1).raw(), 429496730);
}

TEST(I32F32Test, RoundTiesAwayFromZero) {
  EXPECT_EQ(Raw(kOne / 2).Round(), I32F32::One());
  EXPECT_EQ(Raw(-kOne / 2).Round(), I32F32::FromInt(-1));
  EXPECT_EQ(Raw(kOne + kOne / 2 - 1).Round(), I32F32::One());
  EXPECT_EQ(Raw(-kOne - kOne / 2 + 1).Round(), I32F32::FromInt(-1));
  EXPECT_EQ(Raw(5 * kOne / 2).Round(), I32F32::FromInt(3));
}

TEST(I32F32Test, AddSubSaturate) {
  EXPECT_EQ(I32F32::Max() + I32F32::One(), I32F32::Max());
  EXPECT_EQ(I32F32::Min() - I32F32::One(), I32F32::Min());
  EXPECT_EQ(I32F32::FromInt(2) - I32F32::FromInt(5), I32F32::FromInt(-3));
  EXPECT_EQ(I32F32::Min().Neg(), I32F32::Max());
}

TEST(I32F32Test, ToDoubleIsExact) {
  EXPECT_EQ(Raw(2362232013).ToDouble(), 0.5500000000465661);
  EXPECT_EQ(Raw(-1).ToDouble(), -std::ldexp(1.0, -32));
}

TEST(I64F64Test, NormalizesIntegersExactly) {
  // 1/4 and 33/100 of integer stakes: floor(s * 2^64 / total).
  const I64F64 one = I64F64::FromUint(1);
  const I64F64 four = I64F64::FromUint(4);
  EXPECT_EQ(one.SafeDiv(four).raw(), static_cast<int128_t>(1) << 62);
  const I64F64 q = I64F64::FromUint(33).SafeDiv(I64F64::FromUint(100));
  EXPECT_EQ(q.ToI32F32().raw(), 1417339207);  // 0.32999999984167516
  // bonds_moving_average 900000 / 1e6, truncated to I32F32.
  EXPECT_EQ(I64F64::FromUint(900000).SafeDiv(I64F64::FromUint(1000000)).ToI32F32().raw(),
            3865470566);
}

TEST(I64F64Test, GeneralDivisionMatchesWideArithmetic) {
  // Non-integer divisor: 1.5 / 0.75 == 2 and 1 / 3 == floor(2^64 / 3).
  const I64F64 x = I64F64::FromRaw((static_cast<int128_t>(3) << 64) / 2);
  const I64F64 y = I64F64::FromRaw((static_cast<int128_t>(3) << 64) / 4);
  EXPECT_EQ(x.SafeDiv(y).raw(), static_cast<int128_t>(2) << 64);
  const I64F64 third = I64F64::FromUint(1).SafeDiv(I64F64::FromUint(3));
  EXPECT_EQ(third.raw(), static_cast<int128_t>(UINT64_MAX / 3));
  // A large numerator that needs the 256-bit dividend, divided by a fraction.
  const I64F64 big = I64F64::FromUint(uint64_t{1} << 40);
  const I64F64 big_third = big.SafeDiv(I64F64::FromRaw(static_cast<int128_t>(3) << 64));
  EXPECT_EQ(big_third.raw(), (static_cast<int128_t>(1) << 104) / 3);
  const I64F64 quarter = I64F64::FromRaw(static_cast<int128_t>(1) << 62);
  EXPECT_EQ(big.SafeDiv(quarter).raw(), static_cast<int128_t>(1) << 106);
  EXPECT_EQ(big.SafeDiv(I64F64::Zero()), I64F64::Zero());
  // Overflow: 2^62 / 2^-64.
  EXPECT_FALSE(I64F64::FromUint(uint64_t{1} << 62).CheckedDiv(I64F64::FromRaw(1)).has_value());
  // Sign: truncation toward zero.
  const I64F64 neg_third =
      I64F64::FromRaw(-(static_cast<int128_t>(1) << 64)).SafeDiv(I64F64::FromUint(3));
  EXPECT_EQ(neg_third.raw(), -static_cast<int128_t>(UINT64_MAX / 3));
}

TEST(I64F64Test, ConversionsFloor) {
  const I64F64 x = I64F64::FromRaw((static_cast<int128_t>(7) << 64) + 5);
  EXPECT_EQ(x.ToU64Saturating(), 7u);
  EXPECT_EQ(x.ToI32F32().raw(), 7 * kOne);
  EXPECT_EQ(I64F64::FromRaw(-1).ToI32F32().raw(), -1);  // floor, not trunc
  EXPECT_EQ(I64F64::FromUint(UINT64_MAX), I64F64::Max());
  EXPECT_EQ(I64F64::FromRaw(-5).ToU64Saturating(), 0u);
}

TEST(I96F32Test, EmissionAmountsFloor) {
  const I96F32 rao = I96F32::FromUint(1'000'000'000);
  // 0.33 (as I32F32) of 1e9 rao.
  const I96F32 share = I96F32::FromI32F32(I32F32::FromRaw(1417339207));
  EXPECT_EQ(share.SaturatingMul(rao).ToU64Saturating(), 329999999u);
  EXPECT_EQ(I96F32::FromI32F32(I32F32::One())
                .SaturatingMul(I96F32::FromUint(UINT64_MAX))
                .ToU64Saturating(),
            UINT64_MAX);
  EXPECT_EQ(I96F32::FromUint(UINT64_MAX).SaturatingMul(I96F32::FromUint(UINT64_MAX)),
            I96F32::Max());
  // Negative products floor: -1 raw * 0.5 -> -1 raw.
  EXPECT_EQ(I96F32::FromRaw(-1).SaturatingMul(I96F32::FromRaw(int128_t{1} << 31)).raw(), -1);
  EXPECT_EQ(I96F32::FromRaw(1).SaturatingMul(I96F32::FromRaw(int128_t{1} << 31)).raw(), 0);
  EXPECT_EQ(I96F32::FromRaw(-3).SaturatingMul(I96F32::FromUint(2)).raw(), -6);
  EXPECT_EQ(I96F32::FromUint(5).SaturatingMul(I96F32::FromRaw(-(int128_t{1} << 32))),
            I96F32::FromRaw(-(int128_t{5} << 32)));
  EXPECT_EQ(I96F32::FromRaw(-7).ToU64Saturating(), 0u);
}

TEST(FixedExpTest, SpecialCasesOfTheChain) {
  EXPECT_EQ(FixedExp(I32F32::Zero()), I32F32::One());
  // e truncated to 23 fractional bits.
  EXPECT_EQ(FixedExp(I32F32::One())->raw(), int64_t{22802600} << 9);
}

TEST(FixedExpTest, CloseToLibmWhereTheSeriesConverges) {
  // |x| <= 5 covers the liquid-alpha sigmoid at the default steepness (k = 10, |k(x-0.5)| <= 5).
  for (double x : {-5.0, -2.5, -1.0, -0.5, -0.001, 0.001, 0.3, 2.0, 4.75, 5.0}) {
    const std::optional<I32F32> e = FixedExp(I32F32::FromDouble(x));
    ASSERT_TRUE(e.has_value()) << x;
    const double want = std::exp(I32F32::FromDouble(x).ToDouble());
    EXPECT_NEAR(e->ToDouble(), want, 1e-8 * std::max(1.0, want)) << x;
  }
}

TEST(FixedExpTest, LargeInputsKeepTheChainsTruncatedSeries) {
  // 30 terms do not converge for large |x|: the chain's value is a partial sum, below e^x.
  const double e20 = FixedExp(I32F32::FromInt(20))->ToDouble();
  EXPECT_LT(e20, std::exp(20.0));
  EXPECT_GT(e20, 0.99 * std::exp(20.0));
  // Negative inputs are the reciprocal of the positive series.
  EXPECT_EQ(FixedExp(I32F32::FromInt(-20)),
            I32F32::One().CheckedDiv(*FixedExp(I32F32::FromInt(20))));
}

TEST(FixedExpTest, SafeVersionClampsAndNeverFails) {
  EXPECT_EQ(FixedExpSafe(I32F32::FromInt(100)), FixedExp(I32F32::FromInt(20)));
  EXPECT_EQ(FixedExpSafe(I32F32::FromInt(-100)), FixedExp(I32F32::FromInt(-20)));
  EXPECT_GT(FixedExpSafe(I32F32::FromInt(-20)), I32F32::Zero());
  // Without the clamp exp(40) overflows I32F32.
  EXPECT_FALSE(FixedExp(I32F32::FromInt(40)).has_value());
  EXPECT_EQ(FixedExpSafe(I32F32::Max()), FixedExp(I32F32::FromInt(20)));
}

uint64_t TestSeed() {
  const char* env = std::getenv("AGORA_TEST_SEED");
  return env != nullptr ? std::strtoull(env, nullptr, 10) : 20260630;
}

// A random raw value whose magnitude is spread over every bit length.
int64_t RandomRaw(std::mt19937_64& rng, bool allow_negative) {
  const int bits = static_cast<int>(rng() % 64);
  int64_t v = static_cast<int64_t>(rng() >> (64 - std::max(bits, 1)));
  if (rng() % 16 == 0)
    v = (std::vector<int64_t>{0, 1, kOne - 1, kOne, kOne + 1, INT64_MAX, 65535 * kOne,
                              kOne / 2})[rng() % 8];
  return allow_negative && rng() % 4 == 0 ? -v : v;
}

TEST(FixedDivisorTest, SameBitsAsSafeDiv) {
  const uint64_t seed = TestSeed();
  SCOPED_TRACE("AGORA_TEST_SEED=" + std::to_string(seed));
  std::mt19937_64 rng(seed);
  for (int trial = 0; trial < 2000; ++trial) {
    const I32F32 d = Raw(RandomRaw(rng, /*allow_negative=*/true));
    const FixedDivisor divisor(d);
    for (int k = 0; k < 200; ++k) {
      const I32F32 a = Raw(RandomRaw(rng, /*allow_negative=*/true));
      ASSERT_EQ(divisor.SafeDivide(a), a.SafeDiv(d)) << a.raw() << " / " << d.raw();
    }
    // The boundary where the quotient stops fitting.
    if (d.raw() > 0) {
      const int64_t r = d.raw();
      for (int64_t a :
           {r - 1, r, r == INT64_MAX ? r : r + 1, r >> 1, r > INT64_MAX / 2 ? r : 2 * r}) {
        if (a < 0) continue;
        ASSERT_EQ(divisor.SafeDivide(Raw(a)), Raw(a).SafeDiv(d)) << a << " / " << d.raw();
      }
    }
  }
}

TEST(FixedExpTest, BatchHasTheSameBitsAsOneByOne) {
  const uint64_t seed = TestSeed();
  SCOPED_TRACE("AGORA_TEST_SEED=" + std::to_string(seed));
  std::mt19937_64 rng(seed);
  std::vector<I32F32> in = {I32F32::Zero(),
                            I32F32::One(),
                            I32F32::One().Neg(),
                            I32F32::FromInt(20),
                            I32F32::FromInt(-20),
                            I32F32::FromInt(21),
                            I32F32::Min(),
                            I32F32::Max(),
                            Raw(1),
                            Raw(-1)};
  for (int k = 0; k < 5000; ++k) {
    in.push_back(Raw(static_cast<int64_t>(rng() % (int64_t{50} << 32)) - (int64_t{25} << 32)));
  }
  std::vector<I32F32> out(in.size());
  FixedExpSafeBatch(in.data(), out.data(), in.size());
  for (size_t k = 0; k < in.size(); ++k) {
    ASSERT_EQ(out[k], FixedExpSafe(in[k])) << in[k].DebugString();
  }
}

}  // namespace
}  // namespace agora::chain
