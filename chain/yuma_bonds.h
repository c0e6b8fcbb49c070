// Bonds and dividends of the Yuma epoch (yuma.md S11): classic Yuma and Yuma3, the latter with
// or without liquid alpha. Internal to agora_chain_yuma; pure and thread-safe.
#ifndef AGORA_CHAIN_YUMA_BONDS_H_
#define AGORA_CHAIN_YUMA_BONDS_H_

#include <cstdint>
#include <vector>

#include "chain/fixed_point.h"
#include "chain/yuma.h"
#include "chain/yuma_math.h"

namespace agora::chain::yuma_internal {

struct BondsResult {
  // B' as the epoch reports it: classic, column-normalized; Yuma3, absolute proportions.
  SparseMatrix ema;
  // The values whose to_u16 is stored: classic, B' column-max-upscaled; Yuma3, B' itself.
  SparseMatrix storage;
  std::vector<I32F32> dividends;  // D, normalized
};

// alpha = 1 - bma / 1e6, computed in I64F64 and truncated to I32F32.
I32F32 BondsMovingAverageAlpha(uint64_t bonds_moving_average);

// The liquid-alpha sigmoid for one (validator, miner) pair: x = clamp(w - c, 0, 1) if w >= b,
// else clamp(b - w, 0, 1); alpha = clamp(low + (high - low) / (1 + exp(steepness / -100 *
// (x - 0.5))), low, high), with the chain's exp_safe.
I32F32 LiquidAlphaSigmoid(I32F32 consensus, I32F32 weight, I32F32 bond, I32F32 alpha_low,
                          I32F32 alpha_high, I32F32 steepness);
// LiquidAlphaSigmoid in three parts, so that an epoch computes the slope once and the
// exponentials in batches: slope = steepness / -100; the exponent slope * (x - 0.5); and
// alpha from exp_safe(exponent).
I32F32 SigmoidSlope(I32F32 steepness);
I32F32 LiquidAlphaExponent(I32F32 consensus, I32F32 weight, I32F32 bond, I32F32 slope);
I32F32 LiquidAlphaFromExp(I32F32 exp, I32F32 alpha_low, I32F32 alpha_high);

// S11: reads input.bonds (dropping the columns j with last_tempo <= block_at_registration[j]),
// takes the EMA toward weights_for_bonds and computes the dividends.
// Requires: input is valid (ValidateEpochInput) and every vector has length input.n.
BondsResult ComputeBonds(const EpochInput& input, const SparseMatrix& weights_for_bonds,
                         const std::vector<I32F32>& active_stake,
                         const std::vector<I32F32>& consensus, const std::vector<I32F32>& incentive,
                         uint64_t last_tempo);

}  // namespace agora::chain::yuma_internal

#endif  // AGORA_CHAIN_YUMA_BONDS_H_
