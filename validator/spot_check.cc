#include "validator/spot_check.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace agora::validator {

double DistributionGap(const protocol::TokenDistribution& claimed, const std::vector<float>& truth) {
  constexpr double kInf = std::numeric_limits<double>::infinity();
  double sum = 0;  // of |claimed - truth| over what the answer says
  if (claimed.tokens.empty()) {
    if (claimed.probs.size() != truth.size()) return kInf;
    for (size_t i = 0; i < truth.size(); ++i) {
      if (!std::isfinite(claimed.probs[i])) return kInf;
      sum += std::fabs(double(claimed.probs[i]) - double(truth[i]));
    }
    return sum / 2;
  }
  if (claimed.tokens.size() != claimed.probs.size() || !std::isfinite(claimed.rest)) return kInf;
  double listed_truth = 0;
  for (size_t i = 0; i < claimed.tokens.size(); ++i) {
    if (claimed.tokens[i] >= truth.size() || !std::isfinite(claimed.probs[i])) return kInf;
    sum += std::fabs(double(claimed.probs[i]) - double(truth[claimed.tokens[i]]));
    listed_truth += truth[claimed.tokens[i]];
  }
  // The unlisted tokens, lumped: the claimed rest against the true rest.
  sum += std::fabs(double(claimed.rest) - (1.0 - listed_truth));
  return sum / 2;
}

}  // namespace agora::validator
