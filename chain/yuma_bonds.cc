#include "chain/yuma_bonds.h"

#include <algorithm>
#include <cstdint>
#include <vector>

namespace agora::chain::yuma_internal {
namespace {

// The stored bonds without the columns of uids registered since the last epoch, as integers
// (classic) or as proportions b / 65535 (Yuma3).
SparseMatrix ReadBonds(const EpochInput& in, uint64_t last_tempo, bool as_proportion) {
  SparseMatrix bonds(in.n);
  for (uint32_t i = 0; i < in.n; ++i) {
    bonds[i].reserve(in.bonds[i].size());
    for (const auto& [j, b] : in.bonds[i]) {
      if (last_tempo <= in.block_at_registration[j]) continue;
      bonds[i].emplace_back(j, as_proportion ? U16ToProportion(b) : I32F32::FromInt(b));
    }
  }
  return bonds;
}

// The value the chain's liquid-alpha walk sees for each column of `row`: it visits columns in
// ascending order with a cursor that only moves forward, so in an unsorted row an entry behind
// the cursor is never seen. For a sorted row this is just the row. Writes vis[j] and records j
// in `touched`.
void WalkVisible(const FixedRow& row, uint32_t n, std::vector<I32F32>& vis,
                 std::vector<uint16_t>& touched) {
  size_t p = 0;
  uint32_t j = 0;
  while (j < n) {
    while (p < row.size() && row[p].first < j) ++p;
    if (p == row.size()) break;
    j = row[p].first;  // the columns before it see nothing
    vis[j] = row[p].second;
    touched.push_back(static_cast<uint16_t>(j));
    ++j;
  }
}

// Yuma3 with liquid alpha (the chain's mat_ema_alpha_sparse over the sparse alpha walk): each
// entry present in row i of `fresh` gets min(1, (1 - a) * old + max(0, a * fresh)); bonds
// without a `fresh` entry are dropped. Output rows follow the order of `fresh`.
SparseMatrix EmaLiquidAlpha(const EpochInput& in, const SparseMatrix& fresh,
                            const SparseMatrix& old, const std::vector<I32F32>& consensus) {
  const uint32_t n = in.n;
  const I32F32 low = U16ToProportion(in.alpha_low);
  const I32F32 high = U16ToProportion(in.alpha_high);
  const I32F32 slope = SigmoidSlope(I32F32::FromInt(in.alpha_sigmoid_steepness));
  const I32F32 one = I32F32::One();
  SparseMatrix out(n);
  std::vector<I32F32> w_vis(n), b_vis(n), decayed(n), alpha_of(n);
  std::vector<uint8_t> has_alpha(n, 0);
  std::vector<uint16_t> touched, cols, pending;
  std::vector<I32F32> exponents, exps;
  const I32F32 exponent_at_zero = slope.SaturatingMul(I32F32::FromRaw(-I32F32::kOneRaw / 2));
  const I32F32 alpha_at_zero = LiquidAlphaFromExp(FixedExpSafe(exponent_at_zero), low, high);
  for (uint32_t i = 0; i < n; ++i) {
    if (fresh[i].empty()) continue;
    touched.clear();
    WalkVisible(fresh[i], n, w_vis, touched);
    WalkVisible(old[i], n, b_vis, touched);
    // alpha_ij for every column of the row's bonds and weights, the exponentials in a batch.
    cols.clear();
    for (const FixedRow* row : {&old[i], &fresh[i]}) {
      for (const auto& entry : *row) {
        if (!has_alpha[entry.first]) {
          has_alpha[entry.first] = 1;
          cols.push_back(entry.first);
        }
      }
    }
    // x is often exactly 0 (a weight at or below consensus and above the bond), whose alpha
    // is computed once per epoch; the others need their own exponential.
    exponents.clear();
    pending.clear();
    for (uint16_t j : cols) {
      const I32F32 exponent = LiquidAlphaExponent(consensus[j], w_vis[j], b_vis[j], slope);
      if (exponent == exponent_at_zero) {
        alpha_of[j] = alpha_at_zero;
      } else {
        exponents.push_back(exponent);
        pending.push_back(j);
      }
    }
    exps.resize(exponents.size());
    FixedExpSafeBatch(exponents.data(), exps.data(), exponents.size());
    for (size_t k = 0; k < pending.size(); ++k) {
      alpha_of[pending[k]] = LiquidAlphaFromExp(exps[k], low, high);
    }
    for (const auto& [j, b] : old[i]) decayed[j] = one.SaturatingSub(alpha_of[j]).SaturatingMul(b);
    out[i].reserve(fresh[i].size());
    for (const auto& [j, w] : fresh[i]) {
      const I32F32 increment = std::max(alpha_of[j].SaturatingMul(w), I32F32::Zero());
      const I32F32 value = std::min(decayed[j].SaturatingAdd(increment), one);
      if (value > I32F32::Zero()) out[i].emplace_back(j, value);
    }
    for (uint16_t j : touched) w_vis[j] = b_vis[j] = I32F32::Zero();
    for (uint16_t j : cols) {
      decayed[j] = I32F32::Zero();
      has_alpha[j] = 0;
    }
  }
  return out;
}

BondsResult ClassicBonds(const EpochInput& in, const SparseMatrix& weights_for_bonds,
                         const std::vector<I32F32>& active_stake,
                         const std::vector<I32F32>& incentive, uint64_t last_tempo) {
  const uint32_t n = in.n;
  SparseMatrix bonds = ReadBonds(in, last_tempo, /*as_proportion=*/false);
  ColNormalize(bonds, n);
  // Instantaneous bonds: W^b scaled by the validator's active stake, column-normalized.
  SparseMatrix delta = weights_for_bonds;
  for (uint32_t i = 0; i < n; ++i) {
    for (auto& entry : delta[i]) entry.second = entry.second.SaturatingMul(active_stake[i]);
  }
  ColNormalize(delta, n);
  BondsResult r;
  r.ema = EmaScalar(delta, bonds, BondsMovingAverageAlpha(in.bonds_moving_average), n);
  ColNormalize(r.ema, n);
  r.dividends = MatMulTranspose(r.ema, incentive);
  NormalizeInPlace(r.dividends);
  r.storage = r.ema;
  ColMaxUpscale(r.storage, n);
  return r;
}

BondsResult Yuma3Bonds(const EpochInput& in, const SparseMatrix& weights_for_bonds,
                       const std::vector<I32F32>& active_stake,
                       const std::vector<I32F32>& consensus, const std::vector<I32F32>& incentive,
                       uint64_t last_tempo) {
  const uint32_t n = in.n;
  const SparseMatrix bonds = ReadBonds(in, last_tempo, /*as_proportion=*/true);
  const bool any_consensus =
      std::any_of(consensus.begin(), consensus.end(), [](I32F32 c) { return c != I32F32::Zero(); });
  BondsResult r;
  if (in.liquid_alpha && any_consensus) {
    r.ema = EmaLiquidAlpha(in, weights_for_bonds, bonds, consensus);
  } else {
    r.ema =
        EmaScalar(weights_for_bonds, bonds, BondsMovingAverageAlpha(in.bonds_moving_average), n);
  }
  SparseMatrix normalized = r.ema;
  ColNormalize(normalized, n);
  r.dividends.assign(n, I32F32::Zero());
  for (uint32_t i = 0; i < n; ++i) {
    I32F32 total;
    for (const auto& [j, b] : normalized[i]) total += b.SaturatingMul(incentive[j]);
    r.dividends[i] = total.CheckedMul(active_stake[i]).value_or(I32F32::Zero());
  }
  NormalizeInPlace(r.dividends);
  r.storage = r.ema;
  return r;
}

}  // namespace

I32F32 BondsMovingAverageAlpha(uint64_t bonds_moving_average) {
  const I64F64 bma = I64F64::FromUint(bonds_moving_average).SafeDiv(I64F64::FromUint(1'000'000));
  return I32F32::One().SaturatingSub(bma.ToI32F32());
}

I32F32 SigmoidSlope(I32F32 steepness) { return steepness.SaturatingDiv(I32F32::FromInt(-100)); }

I32F32 LiquidAlphaExponent(I32F32 consensus, I32F32 weight, I32F32 bond, I32F32 slope) {
  const I32F32 zero = I32F32::Zero();
  const I32F32 one = I32F32::One();
  auto clamp = [](I32F32 v, I32F32 lo, I32F32 hi) { return std::max(std::min(v, hi), lo); };
  const I32F32 diff_buy = clamp(weight.SaturatingSub(consensus), zero, one);
  const I32F32 diff_sell = clamp(bond.SaturatingSub(weight), zero, one);
  const I32F32 x = weight >= bond ? diff_buy : diff_sell;
  const I32F32 half = I32F32::FromRaw(I32F32::kOneRaw / 2);
  return slope.SaturatingMul(x.SaturatingSub(half));
}

I32F32 LiquidAlphaFromExp(I32F32 exp, I32F32 alpha_low, I32F32 alpha_high) {
  const I32F32 one = I32F32::One();
  const I32F32 sigmoid = one.SaturatingDiv(one.SaturatingAdd(exp));
  const I32F32 alpha =
      alpha_low.SaturatingAdd(sigmoid.SaturatingMul(alpha_high.SaturatingSub(alpha_low)));
  return std::max(std::min(alpha, alpha_high), alpha_low);
}

I32F32 LiquidAlphaSigmoid(I32F32 consensus, I32F32 weight, I32F32 bond, I32F32 alpha_low,
                          I32F32 alpha_high, I32F32 steepness) {
  const I32F32 exponent = LiquidAlphaExponent(consensus, weight, bond, SigmoidSlope(steepness));
  return LiquidAlphaFromExp(FixedExpSafe(exponent), alpha_low, alpha_high);
}

BondsResult ComputeBonds(const EpochInput& input, const SparseMatrix& weights_for_bonds,
                         const std::vector<I32F32>& active_stake,
                         const std::vector<I32F32>& consensus, const std::vector<I32F32>& incentive,
                         uint64_t last_tempo) {
  if (input.yuma3) {
    return Yuma3Bonds(input, weights_for_bonds, active_stake, consensus, incentive, last_tempo);
  }
  return ClassicBonds(input, weights_for_bonds, active_stake, incentive, last_tempo);
}

}  // namespace agora::chain::yuma_internal
