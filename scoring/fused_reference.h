// CPU reference of the fused scoring kernels (scoring/cuda/scoring_kernels.h):
// plain loops over the same per-element math (scoring/fused_math.h), so the
// kernels' logic is tested on machines without a GPU, and the per-miner
// combination both paths share.
//
// Torch-free. Thread-safety: pure functions.
#ifndef AGORA_SCORING_FUSED_REFERENCE_H_
#define AGORA_SCORING_FUSED_REFERENCE_H_

#include <cstdint>
#include <vector>

#include "scoring/fused_math.h"

namespace agora::scoring::fused {

// For every distribution r = miner * n + challenge of a dense [m, n, v]
// float32 tensor: kind[r] (k* codes of fused_math.h), its sum[r] (float64)
// and loss_term[r] = -log(max(p[r, targets[challenge]], floor)). Every
// target must be < v.
void PredictChecksCpu(const float* probs, int64_t m, int64_t n, int64_t v, const int64_t* targets,
                      double sum_tolerance, double probability_floor, int32_t* kind, double* sum,
                      double* loss_term);

// One miner's verdict, as scoring::PredictLossResult holds it.
struct MinerVerdict {
  int64_t bad_index = -1;  // first malformed distribution, -1 when none or absent
  int32_t bad_kind = kNone;
  double bad_sum = 0;      // that distribution's sum
  double loss = 0;         // mean loss term; 0 unless present and well-formed
};

// Per miner j of the [m, n] outputs above: its first malformed distribution
// (absent miners report none) and its mean loss when present and valid.
std::vector<MinerVerdict> CombineMiners(const int32_t* kind, const double* sum,
                                        const double* loss_term, const bool* present, int64_t m,
                                        int64_t n);

// out[bi * (t - 1) + j] = log_softmax(logits[bi, j, :])[ids[bi, j + 1]] for
// [b, t, v] float32 logits and [b, t] ids, every id in [0, v).
void TokenLogprobsCpu(const float* logits, const int64_t* ids, int64_t b, int64_t t, int64_t v,
                      float* out);

}  // namespace agora::scoring::fused

#endif  // AGORA_SCORING_FUSED_REFERENCE_H_
