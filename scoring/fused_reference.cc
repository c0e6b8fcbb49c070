#include "scoring/fused_reference.h"

namespace agora::scoring::fused {

void PredictChecksCpu(const float* probs, int64_t m, int64_t n, int64_t v, const int64_t* targets,
                      double sum_tolerance, double probability_floor, int32_t* kind, double* sum,
                      double* loss_term) {
  for (int64_t r = 0; r < m * n; ++r) {
    const float* p = probs + r * v;
    DistAccum a;
    for (int64_t i = 0; i < v; ++i) Accumulate(a, p[i]);
    kind[r] = Classify(a, sum_tolerance);
    sum[r] = a.sum;
    loss_term[r] = LossTerm(p[targets[r % n]], probability_floor);
  }
}

std::vector<MinerVerdict> CombineMiners(const int32_t* kind, const double* sum,
                                        const double* loss_term, const bool* present, int64_t m,
                                        int64_t n) {
  std::vector<MinerVerdict> out(static_cast<size_t>(m));
  for (int64_t j = 0; j < m; ++j) {
    if (!present[j]) continue;
    MinerVerdict& r = out[static_cast<size_t>(j)];
    double total = 0;
    for (int64_t i = 0; i < n; ++i) {
      const int64_t row = j * n + i;
      if (kind[row] != kNone) {
        r.bad_index = i;
        r.bad_kind = kind[row];
        r.bad_sum = sum[row];
        break;
      }
      total += loss_term[row];
    }
    if (r.bad_index < 0 && n > 0) r.loss = total / static_cast<double>(n);
  }
  return out;
}

void TokenLogprobsCpu(const float* logits, const int64_t* ids, int64_t b, int64_t t, int64_t v,
                      float* out) {
  if (t < 2) return;
  for (int64_t bi = 0; bi < b; ++bi) {
    for (int64_t j = 0; j + 1 < t; ++j) {
      const float* x = logits + (bi * t + j) * v;
      LseAccum a;
      for (int64_t i = 0; i < v; ++i) LseStep(a, x[i]);
      out[bi * (t - 1) + j] = TokenLogprob(x[ids[bi * t + j + 1]], a);
    }
  }
}

}  // namespace agora::scoring::fused
