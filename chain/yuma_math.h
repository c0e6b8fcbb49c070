// Vector and sparse-matrix helpers of the Yuma epoch, in I32F32 with the chain's rounding.
//
// Each function is the counterpart of one helper of the reference chain's epoch/math.rs and
// gives the same bits (shared/design/yuma.md §1): normalizations divide with SafeDiv, products
// floor, sums are exact. Sparse rows keep their entry order unless a function says otherwise.
// Internal to agora_chain_yuma (used by yuma.cc, yuma_bonds.cc and tests); pure and
// thread-safe.
#ifndef AGORA_CHAIN_YUMA_MATH_H_
#define AGORA_CHAIN_YUMA_MATH_H_

#include <cstdint>
#include <vector>

#include "chain/fixed_point.h"
#include "chain/yuma.h"

namespace agora::chain::yuma_internal {

using SparseMatrix = std::vector<FixedRow>;

// to_u16(x) = floor(x * 65535), saturating to [0, 65535].
inline uint16_t ProportionToU16(I32F32 x) {
  return x.SaturatingMul(I32F32::FromInt(65535)).ToU16Saturating();
}
// prop(x) = x / 65535 (SafeDiv).
I32F32 U16ToProportion(uint16_t x);

I32F32 Sum(const std::vector<I32F32>& v);

// v_i / sum(v); v is unchanged if its sum is 0.
void NormalizeInPlace(std::vector<I32F32>& v);
// v_i / sum; unchanged if sum is 0.
void NormalizeUsingSum(std::vector<I32F32>& v, I32F32 sum);

// Top-k permits: true where v_i != 0; if v.size() >= k, a stable ascending sort by v marks the
// first size-k uids false (equal values: lower uids lose).
std::vector<bool> TopKNonzero(const std::vector<I32F32>& v, uint32_t k);

// Divides each row by its sum where the sum is > 0 (zero entries stay in the row).
void RowNormalize(SparseMatrix& m);
// Divides each entry by its column sum where that sum is != 0. Columns are uids < n.
void ColNormalize(SparseMatrix& m, uint32_t n);
// Divides each entry by its column max where that max is != 0.
void ColMaxUpscale(SparseMatrix& m, uint32_t n);

std::vector<I32F32> RowSums(const SparseMatrix& m);
// r_j = sum_i v_i * m_ij (the product floors per entry).
std::vector<I32F32> MatMul(const SparseMatrix& m, const std::vector<I32F32>& v, uint32_t n);
// r_i = sum_j m_ij * v_j.
std::vector<I32F32> MatMulTranspose(const SparseMatrix& m, const std::vector<I32F32>& v);

// Clip (S7): min(m_ij, c_j); an entry above a c_j that is <= 0 is dropped.
SparseMatrix ColClip(const SparseMatrix& m, const std::vector<I32F32>& c);

// Interpolation (S10): a + ratio * (b - a). ratio == 0 returns a and ratio == 1 returns b
// unchanged (zero entries and order kept); otherwise each row is rebuilt in ascending uid
// order and only positive results are kept. Requires: every entry of b is also in a's row.
SparseMatrix Interpolate(const SparseMatrix& a, const SparseMatrix& b, uint32_t n, I32F32 ratio);

// Scalar EMA: alpha * fresh + (1 - alpha) * old per (i, j); each row is rebuilt in ascending
// uid order and only positive values are kept.
SparseMatrix EmaScalar(const SparseMatrix& fresh, const SparseMatrix& old, I32F32 alpha,
                       uint32_t n);

// Consensus (S6): for each column j < n, the stake-weighted kappa-quantile of the scores
// w_ij over the rows i with active_stake_i > 0 (score 0 where row i has no entry j). The
// positive stakes are normalized again (sum sigma) and mu = sigma - kappa; the result is the
// smallest score x whose cumulative stake (scores <= x) exceeds mu, or the largest score if no
// score does. This is exactly what the chain's mid-pivot search returns (every stake sum in it
// is exact), computed per column in O(k log k) for k entries instead of O(rows).
std::vector<I32F32> WeightedMedianColumns(const std::vector<I32F32>& active_stake,
                                          const SparseMatrix& weights, uint32_t n, I32F32 kappa);

// The chain's weighted_median as written (mid-pivot partitioning over `score`, all indices),
// with minority = sigma - kappa and the partition [0, sigma]. Used by tests to check
// WeightedMedianColumns; O(rows^2) worst case.
I32F32 WeightedMedianReference(const std::vector<I32F32>& stake, const std::vector<I32F32>& score,
                               I32F32 minority, I32F32 stake_sum);

}  // namespace agora::chain::yuma_internal

#endif  // AGORA_CHAIN_YUMA_MATH_H_
