#include "chain/fixed_point.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>

#include "absl/strings/str_format.h"

namespace agora::chain {
namespace {

constexpr uint128_t kLow64 = ~uint64_t{0};

// |v| as an unsigned value (well defined for kInt128Min).
constexpr uint128_t Magnitude(int128_t v) {
  return v < 0 ? ~static_cast<uint128_t>(v) + 1 : static_cast<uint128_t>(v);
}

// The 256-bit product a*b as (hi, lo).
struct U256 {
  uint128_t hi = 0;
  uint128_t lo = 0;
};

U256 MulWide(uint128_t a, uint128_t b) {
  const uint128_t a0 = a & kLow64, a1 = a >> 64;
  const uint128_t b0 = b & kLow64, b1 = b >> 64;
  const uint128_t p00 = a0 * b0, p01 = a0 * b1, p10 = a1 * b0, p11 = a1 * b1;
  // Middle column: the high half of p00 plus the low halves of the cross terms (< 3*2^64).
  const uint128_t mid = (p00 >> 64) + (p01 & kLow64) + (p10 & kLow64);
  U256 r;
  r.lo = (mid << 64) | (p00 & kLow64);
  r.hi = p11 + (p01 >> 64) + (p10 >> 64) + (mid >> 64);
  return r;
}

// floor((hi*2^128 + lo) / d) for hi < d, by shift-and-subtract over the 128 low bits.
uint128_t DivWide(uint128_t hi, uint128_t lo, uint128_t d) {
  uint128_t rem = hi;
  uint128_t q = 0;
  for (int i = 127; i >= 0; --i) {
    const bool carry = (rem >> 127) != 0;
    rem = (rem << 1) | ((lo >> i) & 1);
    q <<= 1;
    if (carry || rem >= d) {
      rem -= d;
      q |= 1;
    }
  }
  return q;
}

// e = 2.71828... as the chain's I9F23 constant (23 fractional bits), widened to I32F32.
constexpr int64_t kERaw = int64_t{22802600} << 9;

// One Taylor step of the chain's exp for term i = I: term = floor(term * x / 2^32) (checked),
// then term / I (the fixed-point division (p << 32) / (I << 32) is exactly the integer
// division p / I, and a constant divisor compiles to a multiply), then result += term
// (checked). Once a term is 0 every later term is 0 too, so skipping them changes nothing.
template <int64_t I>
bool ExpStep(int64_t x, int64_t& term, int64_t& result) {
  if (term == 0) return true;
  const int128_t product = (static_cast<int128_t>(term) * x) >> I32F32::kFracBits;
  if (product > INT64_MAX || product < INT64_MIN) return false;
  term = static_cast<int64_t>(product) / I;
  return !__builtin_add_overflow(result, term, &result);
}

// The terms 2..31 (the chain loops `for i in 2..32`).
template <int64_t... Is>
bool ExpSeries(int64_t x, int64_t& term, int64_t& result, std::integer_sequence<int64_t, Is...>) {
  return (ExpStep<Is + 2>(x, term, result) && ...);
}

}  // namespace

I32F32 I32F32::FromDouble(double v) {
  if (std::isnan(v)) return Zero();
  const double scaled = std::nearbyint(std::ldexp(v, kFracBits));  // ties to even
  if (scaled >= 9223372036854775808.0) return Max();
  if (scaled < -9223372036854775808.0) return Min();
  return I32F32(static_cast<int64_t>(scaled));
}

std::string I32F32::DebugString() const {
  return absl::StrFormat("%.17g (raw %d)", ToDouble(), raw_);
}

std::optional<I64F64> I64F64::CheckedDiv(I64F64 o) const {
  if (o.raw_ == 0) return std::nullopt;
  const bool negative = (raw_ < 0) != (o.raw_ < 0);
  const uint128_t a = Magnitude(raw_);
  const uint128_t b = Magnitude(o.raw_);
  uint128_t q = 0;
  if ((a >> 64) == 0) {
    q = (a << 64) / b;  // the dividend a*2^64 fits in 128 bits
  } else if ((b & kLow64) == 0) {
    q = a / (b >> 64);  // a*2^64 / (B*2^64) == a / B exactly
  } else {
    const uint128_t hi = a >> 64;
    const uint128_t lo = a << 64;
    if (hi >= b) return std::nullopt;  // quotient >= 2^128
    q = DivWide(hi, lo, b);
  }
  const uint128_t limit = negative ? Magnitude(kInt128Min) : static_cast<uint128_t>(kInt128Max);
  if (q > limit) return std::nullopt;
  if (!negative) return I64F64(static_cast<int128_t>(q));
  return I64F64(static_cast<int128_t>(~q + 1));
}

I96F32 I96F32::SaturatingMul(I96F32 o) const {
  const bool negative = (raw_ < 0) != (o.raw_ < 0);
  const U256 p = MulWide(Magnitude(raw_), Magnitude(o.raw_));
  // Shift the magnitude right by 32; a negative product rounds toward -infinity, i.e. its
  // magnitude rounds up.
  uint128_t hi = p.hi >> kFracBits;
  uint128_t lo = (p.lo >> kFracBits) | (p.hi << (128 - kFracBits));
  if (negative && (p.lo & ((uint128_t{1} << kFracBits) - 1)) != 0) {
    if (++lo == 0) ++hi;
  }
  if (p.hi == 0 && p.lo == 0) return I96F32(0);
  if (!negative) {
    if (hi != 0 || lo > static_cast<uint128_t>(kInt128Max)) return Max();
    return I96F32(static_cast<int128_t>(lo));
  }
  if (hi != 0 || lo > Magnitude(kInt128Min)) return Min();
  return I96F32(static_cast<int128_t>(~lo + 1));
}

std::optional<I32F32> FixedExp(I32F32 x) {
  if (x == I32F32::Zero()) return I32F32::One();
  if (x == I32F32::One()) return I32F32::FromRaw(kERaw);
  const bool negative = x < I32F32::Zero();
  if (negative) x = x.Neg();
  int64_t result = x.SaturatingAdd(I32F32::One()).raw();
  int64_t term = x.raw();
  if (!ExpSeries(x.raw(), term, result, std::make_integer_sequence<int64_t, 30>())) {
    return std::nullopt;
  }
  if (negative) return I32F32::One().CheckedDiv(I32F32::FromRaw(result));
  return I32F32::FromRaw(result);
}

namespace {

constexpr int kExpLanes = 8;

// One Taylor step on kExpLanes values at once, without overflow checks: the inputs are clamped
// to |x| <= 20, where every term and partial sum stays far inside int64 (the largest is at
// x = 20, which FixedExp computes without error).
template <int64_t I>
void ExpStepLanes(const int64_t* x, int64_t* term, int64_t* result) {
  for (int k = 0; k < kExpLanes; ++k) {
    term[k] =
        static_cast<int64_t>((static_cast<int128_t>(term[k]) * x[k]) >> I32F32::kFracBits) / I;
    result[k] += term[k];
  }
}

template <int64_t... Is>
void ExpSeriesLanes(const int64_t* x, int64_t* term, int64_t* result,
                    std::integer_sequence<int64_t, Is...>) {
  (ExpStepLanes<Is + 2>(x, term, result), ...);
}

}  // namespace

void FixedExpSafeBatch(const I32F32* in, I32F32* out, size_t count) {
  const I32F32 lo = I32F32::FromInt(-20);
  const I32F32 hi = I32F32::FromInt(20);
  for (size_t base = 0; base < count; base += kExpLanes) {
    const size_t lanes = std::min<size_t>(kExpLanes, count - base);
    int64_t x[kExpLanes] = {}, term[kExpLanes] = {}, result[kExpLanes] = {};
    bool negative[kExpLanes] = {};
    for (size_t k = 0; k < lanes; ++k) {
      const I32F32 v = in[base + k];
      const I32F32 clamped = v < lo ? lo : (hi < v ? hi : v);
      negative[k] = clamped < I32F32::Zero();
      x[k] = negative[k] ? -clamped.raw() : clamped.raw();
      term[k] = x[k];
      result[k] = x[k] + I32F32::kOneRaw;
    }
    ExpSeriesLanes(x, term, result, std::make_integer_sequence<int64_t, 30>());
    for (size_t k = 0; k < lanes; ++k) {
      const I32F32 v = in[base + k];
      const I32F32 clamped = v < lo ? lo : (hi < v ? hi : v);
      if (clamped == I32F32::Zero()) {
        out[base + k] = I32F32::One();
      } else if (clamped == I32F32::One()) {
        out[base + k] = I32F32::FromRaw(kERaw);
      } else if (negative[k]) {
        out[base + k] = I32F32::One().SafeDiv(I32F32::FromRaw(result[k]));
      } else {
        out[base + k] = I32F32::FromRaw(result[k]);
      }
    }
  }
}

I32F32 FixedExpSafe(I32F32 x) {
  const I32F32 lo = I32F32::FromInt(-20);
  const I32F32 hi = I32F32::FromInt(20);
  const I32F32 safe = x < lo ? lo : (hi < x ? hi : x);
  const std::optional<I32F32> e = FixedExp(safe);
  if (e) return *e;
  return safe <= I32F32::Zero() ? I32F32::Zero() : I32F32::Max();
}

}  // namespace agora::chain
