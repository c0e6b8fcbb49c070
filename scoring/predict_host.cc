#include "scoring/predict_host.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>

#include "absl/strings/str_cat.h"

namespace agora::scoring {

std::string CheckShape(const protocol::PredictReply* reply, uint32_t vocab_size,
                       size_t challenges) {
  if (reply == nullptr) return "no answer";
  if (reply->vocab_size != vocab_size) {
    return absl::StrCat("vocab_size ", reply->vocab_size, ", expected ", vocab_size);
  }
  if (reply->distributions.size() != challenges) {
    return absl::StrCat(reply->distributions.size(), " distributions, expected ", challenges);
  }
  std::vector<uint32_t> seen;  // top-k form: stamp (distribution index + 1) per token
  for (size_t i = 0; i < challenges; ++i) {
    const protocol::TokenDistribution& d = reply->distributions[i];
    if (d.tokens.empty()) {  // full form
      if (d.probs.size() != vocab_size) {
        return absl::StrCat("distribution ", i, ": ", d.probs.size(), " probabilities, expected ",
                            vocab_size);
      }
      continue;
    }
    if (d.probs.size() != d.tokens.size()) {
      return absl::StrCat("distribution ", i, ": ", d.tokens.size(), " tokens but ",
                          d.probs.size(), " probabilities");
    }
    if (d.tokens.size() > vocab_size) {
      return absl::StrCat("distribution ", i, ": ", d.tokens.size(), " tokens, vocab_size ",
                          vocab_size);
    }
    if (seen.empty()) seen.assign(vocab_size, 0);
    const uint32_t stamp = static_cast<uint32_t>(i + 1);
    for (uint32_t t : d.tokens) {
      if (t >= vocab_size) {
        return absl::StrCat("distribution ", i, ": token ", t, " >= vocab_size ", vocab_size);
      }
      if (seen[t] == stamp) return absl::StrCat("distribution ", i, ": token ", t, " listed twice");
      seen[t] = stamp;
    }
  }
  return "";
}

std::vector<std::string> CheckShapes(const PredictStep& step) {
  std::vector<std::string> reasons(step.answers.size());
  for (size_t j = 0; j < reasons.size(); ++j) {
    reasons[j] = CheckShape(step.answers[j], step.vocab_size, step.targets.size());
  }
  return reasons;
}

namespace {

constexpr size_t kLanes = 8;

struct RowFacts {
  bool nan = false;
  float min = 0;
  double sum = 0;
};

// Sum, minimum and NaN of one distribution, in kLanes independent lanes so
// the compiler vectorizes it (an AVX2 clone where the CPU has AVX2). The
// minimum skips NaN, which has its own flag; -inf shows as a negative
// minimum and +inf as an infinite sum.
__attribute__((target_clones("avx2", "default")))
RowFacts ScanRow(const float* p, size_t v) {
  float sum[kLanes] = {};
  float min[kLanes];
  int nan[kLanes] = {};
  for (size_t l = 0; l < kLanes; ++l) min[l] = std::numeric_limits<float>::infinity();
  size_t i = 0;
  for (; i + kLanes <= v; i += kLanes) {
    for (size_t l = 0; l < kLanes; ++l) {
      const float x = p[i + l];
      sum[l] += x;
      min[l] = x < min[l] ? x : min[l];
      nan[l] |= x != x;
    }
  }
  for (; i < v; ++i) {
    const float x = p[i];
    sum[0] += x;
    min[0] = x < min[0] ? x : min[0];
    nan[0] |= x != x;
  }
  RowFacts f;
  f.min = min[0];
  for (size_t l = 0; l < kLanes; ++l) {
    f.nan = f.nan || nan[l] != 0;
    f.min = std::min(f.min, min[l]);
    f.sum += sum[l];
  }
  return f;
}

bool WellFormed(const RowFacts& f, double sum_tolerance) {
  return !f.nan && f.min >= 0 && std::fabs(f.sum - 1.0) <= sum_tolerance;
}

}  // namespace

void DensifyTopK(const protocol::TokenDistribution& d, uint32_t vocab_size, float* out) {
  const size_t v = vocab_size, k = d.tokens.size();
  std::fill(out, out + v, k < v ? static_cast<float>(double(d.rest) / double(v - k)) : 0.0f);
  for (size_t j = 0; j < k; ++j) out[d.tokens[j]] = d.probs[j];
}

std::optional<std::vector<double>> WellFormedLosses(const PredictStep& step,
                                                    const std::vector<std::string>& shape_reasons,
                                                    double sum_tolerance,
                                                    double probability_floor) {
  const size_t n = step.targets.size();
  const size_t v = step.vocab_size;
  std::vector<double> losses(step.answers.size(), 0.0);
  std::vector<float> row;  // a top-k distribution written out densely
  for (size_t m = 0; m < step.answers.size(); ++m) {
    if (!shape_reasons[m].empty()) continue;
    const protocol::PredictReply& reply = *step.answers[m];
    double total = 0;
    for (size_t i = 0; i < n; ++i) {
      const protocol::TokenDistribution& d = reply.distributions[i];
      const float* p = d.probs.data();
      if (!d.tokens.empty()) {
        row.resize(v);
        DensifyTopK(d, step.vocab_size, row.data());
        p = row.data();
      }
      if (!WellFormed(ScanRow(p, v), sum_tolerance)) return std::nullopt;
      total -= std::log(std::max(static_cast<double>(p[step.targets[i]]), probability_floor));
    }
    losses[m] = total / static_cast<double>(n);
  }
  return losses;
}

double PredictScoreOfLoss(double loss, uint32_t vocab_size) {
  return std::max(0.0, 1.0 - loss / std::log(static_cast<double>(vocab_size)));
}

}  // namespace agora::scoring
