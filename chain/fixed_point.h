// Fixed-point numbers with the exact rounding of the chain's library (substrate-fixed 0.6).
//
// Yuma Consensus must give the same bits on every node, so the epoch computes with integers
// only. These types reproduce the three formats the reference chain uses (docs/YUMA.md,
// shared/design/yuma.md §1):
//
//   I32F32  int64 raw,   value = raw / 2^32   nearly all epoch math
//   I64F64  int128 raw,  value = raw / 2^64   stake normalization, bonds_moving_average / 1e6
//   I96F32  int128 raw,  value = raw / 2^32   emission share x rao amount
//
// Rounding rules (each one is the chain's):
//   - multiplication floors: (a*b) >> frac with a wide intermediate, an arithmetic shift, so a
//     negative product rounds toward -infinity too;
//   - division is (a << frac) / b and truncates toward zero;
//   - CheckedDiv returns nullopt and SafeDiv returns 0 when the divisor is 0 or the quotient
//     does not fit;
//   - fixed -> integer and fixed -> narrower fixed truncate toward -infinity (floor);
//   - double -> fixed rounds to nearest, ties to even (tests and parameters only);
//   - Round() rounds to nearest, ties away from zero;
//   - Saturating* clamp at the type's bounds. The plain operators + and - also saturate, so
//     that no input can cause signed overflow (the chain never overflows in practice).
//
// All types are trivially copyable values; every function is pure and thread-safe.
#ifndef AGORA_CHAIN_FIXED_POINT_H_
#define AGORA_CHAIN_FIXED_POINT_H_

#include <compare>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <type_traits>

namespace agora::chain {

using int128_t = __int128;
using uint128_t = unsigned __int128;

inline constexpr int128_t kInt128Max = static_cast<int128_t>(~static_cast<uint128_t>(0) >> 1);
inline constexpr int128_t kInt128Min = -kInt128Max - 1;

// Signed 64-bit fixed point with 32 fractional bits.
class I32F32 {
 public:
  static constexpr int kFracBits = 32;
  static constexpr int64_t kOneRaw = int64_t{1} << kFracBits;

  constexpr I32F32() = default;

  static constexpr I32F32 FromRaw(int64_t raw) { return I32F32(raw); }
  // The integer v, saturating at the bounds (|v| >= 2^31 saturates).
  static constexpr I32F32 FromInt(int64_t v) {
    if (v > (std::numeric_limits<int64_t>::max() >> kFracBits)) return Max();
    if (v < (std::numeric_limits<int64_t>::min() >> kFracBits)) return Min();
    return I32F32(static_cast<int64_t>(static_cast<uint64_t>(v) << kFracBits));
  }
  static constexpr I32F32 FromUint(uint64_t v) {
    if (v > static_cast<uint64_t>(std::numeric_limits<int64_t>::max() >> kFracBits)) {
      return Max();
    }
    return FromInt(static_cast<int64_t>(v));
  }
  // Nearest value, ties to even; saturates; NaN gives 0. Not for the epoch path.
  static I32F32 FromDouble(double v);
  static constexpr I32F32 Zero() { return I32F32(0); }
  static constexpr I32F32 One() { return I32F32(kOneRaw); }
  static constexpr I32F32 Max() { return I32F32(std::numeric_limits<int64_t>::max()); }
  static constexpr I32F32 Min() { return I32F32(std::numeric_limits<int64_t>::min()); }

  constexpr int64_t raw() const { return raw_; }
  // raw / 2^32 as a double: exact while |raw| < 2^53 (every proportion the epoch prints).
  double ToDouble() const { return static_cast<double>(raw_) / 4294967296.0; }

  constexpr I32F32 SaturatingAdd(I32F32 o) const {
    int64_t r = 0;
    if (__builtin_add_overflow(raw_, o.raw_, &r)) return o.raw_ > 0 ? Max() : Min();
    return I32F32(r);
  }
  constexpr I32F32 SaturatingSub(I32F32 o) const {
    int64_t r = 0;
    if (__builtin_sub_overflow(raw_, o.raw_, &r)) return o.raw_ < 0 ? Max() : Min();
    return I32F32(r);
  }
  // floor(a*b / 2^32), or nullopt if that does not fit in 64 bits.
  constexpr std::optional<I32F32> CheckedMul(I32F32 o) const {
    const int128_t q = (static_cast<int128_t>(raw_) * o.raw_) >> kFracBits;
    if (q > std::numeric_limits<int64_t>::max() || q < std::numeric_limits<int64_t>::min()) {
      return std::nullopt;
    }
    return I32F32(static_cast<int64_t>(q));
  }
  constexpr I32F32 SaturatingMul(I32F32 o) const {
    const int128_t q = (static_cast<int128_t>(raw_) * o.raw_) >> kFracBits;
    if (q > std::numeric_limits<int64_t>::max()) return Max();
    if (q < std::numeric_limits<int64_t>::min()) return Min();
    return I32F32(static_cast<int64_t>(q));
  }
  // trunc((a << 32) / b), or nullopt if b == 0 or the quotient does not fit.
  constexpr std::optional<I32F32> CheckedDiv(I32F32 o) const {
    if (o.raw_ == 0) return std::nullopt;
    const int128_t q = DivRaw(raw_, o.raw_);
    if (q > std::numeric_limits<int64_t>::max() || q < std::numeric_limits<int64_t>::min()) {
      return std::nullopt;
    }
    return I32F32(static_cast<int64_t>(q));
  }
  // CheckedDiv, or 0 on a zero divisor or overflow (the chain's safe_div).
  constexpr I32F32 SafeDiv(I32F32 o) const { return CheckedDiv(o).value_or(Zero()); }
  // CheckedDiv clamped at the bounds. The chain panics on a zero divisor; here 0/0 is 0 and
  // x/0 saturates by the sign of x.
  constexpr I32F32 SaturatingDiv(I32F32 o) const {
    if (o.raw_ == 0) return raw_ == 0 ? Zero() : (raw_ > 0 ? Max() : Min());
    const int128_t q = DivRaw(raw_, o.raw_);
    if (q > std::numeric_limits<int64_t>::max()) return Max();
    if (q < std::numeric_limits<int64_t>::min()) return Min();
    return I32F32(static_cast<int64_t>(q));
  }
  constexpr I32F32 Neg() const { return raw_ == Min().raw_ ? Max() : I32F32(-raw_); }
  // Nearest integer, ties away from zero (saturating).
  constexpr I32F32 Round() const {
    constexpr int64_t kHalf = kOneRaw / 2;
    constexpr int64_t kIntMask = ~(kOneRaw - 1);
    if (raw_ >= 0) {
      if (raw_ > std::numeric_limits<int64_t>::max() - kHalf) return I32F32(Max().raw_ & kIntMask);
      return I32F32((raw_ + kHalf) & kIntMask);
    }
    if (raw_ < std::numeric_limits<int64_t>::min() + kHalf) return I32F32(Min().raw_ & kIntMask);
    return I32F32(-((-raw_ + kHalf) & kIntMask));
  }
  // floor(value) clamped to [0, 65535] / [0, 2^64-1] (the chain's saturating_to_num).
  constexpr uint16_t ToU16Saturating() const {
    const int64_t f = raw_ >> kFracBits;
    return f <= 0 ? 0 : (f >= 65535 ? 65535 : static_cast<uint16_t>(f));
  }
  constexpr uint64_t ToU64Saturating() const {
    const int64_t f = raw_ >> kFracBits;
    return f <= 0 ? 0 : static_cast<uint64_t>(f);
  }

  friend constexpr I32F32 operator+(I32F32 a, I32F32 b) { return a.SaturatingAdd(b); }
  friend constexpr I32F32 operator-(I32F32 a, I32F32 b) { return a.SaturatingSub(b); }
  constexpr I32F32& operator+=(I32F32 o) { return *this = SaturatingAdd(o); }
  friend constexpr bool operator==(I32F32, I32F32) = default;
  friend constexpr auto operator<=>(I32F32, I32F32) = default;

  std::string DebugString() const;

 private:
  constexpr explicit I32F32(int64_t raw) : raw_(raw) {}

  // trunc(a * 2^32 / b) for b != 0, as a 128-bit value (it may not fit 64 bits). The common
  // case (a >= 0, b > 0, quotient < 2^64) is one 128-by-64-bit hardware division instead of a
  // call to the signed 128-bit division routine; both give the same bits.
  static constexpr int128_t DivRaw(int64_t a, int64_t b) {
    if (!std::is_constant_evaluated() && a >= 0 && b > 0) {
      const uint64_t hi = static_cast<uint64_t>(a) >> kFracBits;
      const uint64_t lo = static_cast<uint64_t>(a) << kFracBits;
      const uint64_t d = static_cast<uint64_t>(b);
      if (hi < d) return static_cast<int128_t>(DivWide64(hi, lo, d));
    }
    return static_cast<int128_t>(a) * kOneRaw / b;
  }
  // floor((hi * 2^64 + lo) / d). Requires: hi < d (the quotient fits 64 bits).
  static uint64_t DivWide64(uint64_t hi, uint64_t lo, uint64_t d) {
#if defined(__x86_64__)
    uint64_t q = 0, r = 0;
    __asm__("divq %[d]" : "=a"(q), "=d"(r) : "a"(lo), "d"(hi), [d] "rm"(d) : "cc");
    return q;
#else
    return static_cast<uint64_t>(((static_cast<uint128_t>(hi) << 64) | lo) / d);
#endif
  }

  int64_t raw_ = 0;
};

// Divides many I32F32 values by one divisor with exactly the bits of I32F32::SafeDiv, using a
// precomputed reciprocal (Moller & Granlund, "Improved division by invariant integers", 2011,
// Algorithm 4) instead of a hardware division per value. Used by the normalizations, which
// divide a whole row, column or vector by its sum.
class FixedDivisor {
 public:
  constexpr explicit FixedDivisor(I32F32 divisor) : divisor_(divisor) {
    if (divisor.raw() <= 0) return;
    fast_ = true;
    d_ = static_cast<uint64_t>(divisor.raw());
    shift_ = __builtin_clzll(d_);
    dn_ = d_ << shift_;
    // (2^128 - 1) / dn - 2^64 == ((2^64 - 1 - dn) * 2^64 + 2^64 - 1) / dn; 2^64-1-dn < dn.
    v_ = static_cast<uint64_t>(((static_cast<uint128_t>(~dn_) << 64) | ~uint64_t{0}) / dn_);
  }

  // Exactly numerator.SafeDiv(divisor).
  I32F32 SafeDivide(I32F32 numerator) const {
    if (!fast_ || numerator.raw() < 0) return numerator.SafeDiv(divisor_);
    const uint64_t a = static_cast<uint64_t>(numerator.raw());
    const uint64_t hi = a >> I32F32::kFracBits;
    const uint64_t lo = a << I32F32::kFracBits;
    if (hi >= d_) return I32F32::Zero();  // quotient >= 2^64: overflow
    // Normalize: shift dividend and divisor left until the divisor's top bit is set.
    const uint64_t nhi = shift_ == 0 ? hi : (hi << shift_) | (lo >> (64 - shift_));
    const uint64_t nlo = lo << shift_;
    const uint64_t q = DivPreinv(nhi, nlo);
    if (q > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return I32F32::Zero();
    return I32F32::FromRaw(static_cast<int64_t>(q));
  }

 private:
  // floor((u1 * 2^64 + u0) / dn_) for u1 < dn_, dn_ normalized, v_ its reciprocal.
  uint64_t DivPreinv(uint64_t u1, uint64_t u0) const {
    uint128_t q = static_cast<uint128_t>(v_) * u1;
    q += (static_cast<uint128_t>(u1) << 64) | u0;  // cannot wrap: u1 < dn_
    uint64_t q1 = static_cast<uint64_t>(q >> 64) + 1;
    const uint64_t q0 = static_cast<uint64_t>(q);
    uint64_t r = u0 - q1 * dn_;
    if (r > q0) {
      --q1;
      r += dn_;
    }
    if (r >= dn_) ++q1;
    return q1;
  }

  I32F32 divisor_;
  bool fast_ = false;  // divisor > 0
  uint64_t d_ = 0;     // the divisor's raw value
  uint64_t dn_ = 0;    // d_ << shift_, top bit set
  int shift_ = 0;
  uint64_t v_ = 0;  // floor((2^128 - 1) / dn_) - 2^64
};

// Signed 128-bit fixed point with 64 fractional bits.
class I64F64 {
 public:
  static constexpr int kFracBits = 64;

  constexpr I64F64() = default;
  static constexpr I64F64 FromRaw(int128_t raw) { return I64F64(raw); }
  // The integer v; values >= 2^63 saturate to Max().
  static constexpr I64F64 FromUint(uint64_t v) {
    if (v > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return Max();
    return I64F64(static_cast<int128_t>(static_cast<uint128_t>(v) << kFracBits));
  }
  static constexpr I64F64 Zero() { return I64F64(0); }
  static constexpr I64F64 Max() { return I64F64(kInt128Max); }
  static constexpr I64F64 Min() { return I64F64(kInt128Min); }

  constexpr int128_t raw() const { return raw_; }

  constexpr I64F64 SaturatingAdd(I64F64 o) const {
    int128_t r = 0;
    if (__builtin_add_overflow(raw_, o.raw_, &r)) return o.raw_ > 0 ? Max() : Min();
    return I64F64(r);
  }
  // trunc((a << 64) / b) computed with a 256-bit dividend, or nullopt if b == 0 or the
  // quotient does not fit.
  std::optional<I64F64> CheckedDiv(I64F64 o) const;
  I64F64 SafeDiv(I64F64 o) const { return CheckedDiv(o).value_or(Zero()); }
  // floor(value) clamped to [0, 2^64-1].
  constexpr uint64_t ToU64Saturating() const {
    if (raw_ <= 0) return 0;
    return static_cast<uint64_t>(raw_ >> kFracBits);  // < 2^63, fits
  }
  // Truncates the fraction to 32 bits (floor) and saturates to the I32F32 range.
  constexpr I32F32 ToI32F32() const {
    const int128_t r = raw_ >> (kFracBits - I32F32::kFracBits);
    if (r > std::numeric_limits<int64_t>::max()) return I32F32::Max();
    if (r < std::numeric_limits<int64_t>::min()) return I32F32::Min();
    return I32F32::FromRaw(static_cast<int64_t>(r));
  }

  friend constexpr bool operator==(I64F64, I64F64) = default;
  friend constexpr auto operator<=>(I64F64, I64F64) = default;

 private:
  constexpr explicit I64F64(int128_t raw) : raw_(raw) {}
  int128_t raw_ = 0;
};

// Signed 128-bit fixed point with 32 fractional bits (used for emission amounts).
class I96F32 {
 public:
  static constexpr int kFracBits = 32;

  constexpr I96F32() = default;
  static constexpr I96F32 FromRaw(int128_t raw) { return I96F32(raw); }
  static constexpr I96F32 FromI32F32(I32F32 x) { return I96F32(x.raw()); }
  static constexpr I96F32 FromUint(uint64_t v) {
    return I96F32(static_cast<int128_t>(static_cast<uint128_t>(v) << kFracBits));
  }
  static constexpr I96F32 Max() { return I96F32(kInt128Max); }
  static constexpr I96F32 Min() { return I96F32(kInt128Min); }

  constexpr int128_t raw() const { return raw_; }

  // floor(a*b / 2^32) with a 256-bit intermediate, clamped to the bounds.
  I96F32 SaturatingMul(I96F32 o) const;
  // floor(value) clamped to [0, 2^64-1].
  constexpr uint64_t ToU64Saturating() const {
    if (raw_ <= 0) return 0;
    const uint128_t f = static_cast<uint128_t>(raw_) >> kFracBits;
    return f > std::numeric_limits<uint64_t>::max() ? std::numeric_limits<uint64_t>::max()
                                                    : static_cast<uint64_t>(f);
  }

  friend constexpr bool operator==(I96F32, I96F32) = default;
  friend constexpr auto operator<=>(I96F32, I96F32) = default;

 private:
  constexpr explicit I96F32(int128_t raw) : raw_(raw) {}
  int128_t raw_ = 0;
};

// e^x as the chain computes it (substrate-fixed `transcendental::exp` on I32F32): x == 0 gives
// 1, x == 1 gives e truncated to 23 fractional bits, otherwise a Taylor series of |x| with the
// terms 2..31 (30 terms), each term = term*|x| then /i, and 1/result for negative x. Returns
// nullopt where the chain returns Err (an overflowing term, sum or reciprocal).
std::optional<I32F32> FixedExp(I32F32 x);

// The chain's exp_safe: clamps x to [-20, 20], then FixedExp; on error 0 (x <= 0) or Max().
I32F32 FixedExpSafe(I32F32 x);

// out[k] = FixedExpSafe(in[k]) for k < count, computing several series side by side (the
// Taylor steps are a serial chain per value). Same bits as FixedExpSafe.
void FixedExpSafeBatch(const I32F32* in, I32F32* out, size_t count);

}  // namespace agora::chain

#endif  // AGORA_CHAIN_FIXED_POINT_H_
