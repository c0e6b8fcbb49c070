#include "scoring/completion_scoring.h"

#include <algorithm>
#include <cmath>

namespace agora::scoring {

double CompletionScore(const std::vector<float>& reference_logprobs) {
  if (reference_logprobs.empty()) return 0.0;
  double sum = 0;
  for (float lp : reference_logprobs) {
    if (!std::isfinite(lp)) return 0.0;
    sum += lp;
  }
  const double mean = sum / static_cast<double>(reference_logprobs.size());
  return std::clamp(std::exp(mean), 0.0, 1.0);  // a log-probability > 0 is still capped at 1
}

}  // namespace agora::scoring
