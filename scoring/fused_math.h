// The per-element math of the fused scoring kernels, shared by the CUDA
// kernels (scoring/cuda/scoring_kernels.cu) and their CPU reference
// (scoring/fused_reference.h): one definition, so the CPU tests of the
// reference also test the arithmetic the GPU runs.
//
// Plain C++ (no torch, no CUDA headers); under nvcc every function is
// __host__ __device__.
//
// Semantics match scoring/predict_loss.h (PredictLoss) and
// scoring/token_logprobs.h (TokenLogprobs):
//  * a distribution is malformed by, in this order, a NaN, an infinite
//    probability, a negative probability, or a sum outside [1 - tol, 1 + tol];
//    its loss term is -log(max(p[target], floor)) in float64;
//  * a token's log-probability is x[id] - max - log(sum(exp(x - max))).
//
// Thread-safety: pure functions.
#ifndef AGORA_SCORING_FUSED_MATH_H_
#define AGORA_SCORING_FUSED_MATH_H_

#include <cstdint>
#include <math.h>

#if defined(__CUDACC__)
#define AGORA_HD __host__ __device__
#else
#define AGORA_HD
#endif

namespace agora::scoring::fused {

// Same values as scoring::BadKind (predict_loss.h), which includes torch.
inline constexpr int32_t kNone = 0, kNaN = 1, kInfinite = 2, kNegative = 3, kSum = 4;

// What the validity checks need from one distribution, built element by
// element and merged across threads. The sum is float64: at least as exact
// as LibTorch's float32 cascade sum, so the two agree far inside any
// sensible tolerance.
struct DistAccum {
  int32_t nan = 0;
  int32_t inf = 0;
  int32_t neg = 0;
  double sum = 0;
};

AGORA_HD inline void Accumulate(DistAccum& a, float p) {
  // Written with comparisons only: isnan/isinf differ between host and device headers.
  const bool is_nan = !(p == p);
  a.nan |= is_nan;
  a.inf |= !is_nan && (p > 3.402823466e38f || p < -3.402823466e38f);
  a.neg |= p < 0.0f;  // -0.0 is not negative, as with amin(-1).lt(0)
  a.sum += static_cast<double>(p);
}

AGORA_HD inline DistAccum Merge(DistAccum a, const DistAccum& b) {
  a.nan |= b.nan;
  a.inf |= b.inf;
  a.neg |= b.neg;
  a.sum += b.sum;
  return a;
}

// The first problem of a finished distribution, in BadKind order.
AGORA_HD inline int32_t Classify(const DistAccum& a, double sum_tolerance) {
  if (a.nan) return kNaN;
  if (a.inf) return kInfinite;
  if (a.neg) return kNegative;
  const double d = a.sum - 1.0;
  if ((d < 0 ? -d : d) > sum_tolerance) return kSum;
  return kNone;
}

// -log(max(p, floor)) in float64, like clamp_min(floor).log().neg().
AGORA_HD inline double LossTerm(float p, double probability_floor) {
  const double q = static_cast<double>(p);
  return -::log(q < probability_floor ? probability_floor : q);
}

// Running log-sum-exp of a row of logits: max and sum(exp(x - max)).
// Online (one pass): the sum is rescaled whenever the max grows.
struct LseAccum {
  float max = -INFINITY;
  float sum = 0;
};

AGORA_HD inline void LseStep(LseAccum& a, float x) {
  if (x == -INFINITY) return;  // exp(-inf) adds nothing; avoids inf - inf
  if (x > a.max) {
    a.sum = a.sum * ::expf(a.max - x) + 1.0f;
    a.max = x;
  } else {
    a.sum += ::expf(x - a.max);  // NaN x lands here and makes the sum NaN, as in log_softmax
  }
}

AGORA_HD inline LseAccum LseMerge(LseAccum a, const LseAccum& b) {
  if (b.max == -INFINITY) {
    a.sum += b.sum;  // only a NaN sum can be carried by an empty side
    return a;
  }
  if (a.max == -INFINITY) {
    LseAccum r = b;
    r.sum += a.sum;
    return r;
  }
  if (b.max > a.max) {
    LseAccum r;
    r.max = b.max;
    r.sum = a.sum * ::expf(a.max - b.max) + b.sum;
    return r;
  }
  a.sum += b.sum * ::expf(b.max - a.max);
  return a;
}

// log_softmax(row)[id] given the row's finished accumulator and x = row[id].
AGORA_HD inline float TokenLogprob(float x, const LseAccum& a) {
  return x - a.max - ::logf(a.sum);
}

}  // namespace agora::scoring::fused

#endif  // AGORA_SCORING_FUSED_MATH_H_
