#include "validator/spot_check.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace agora::validator {

double DistributionGap(const protocol::TokenDistribution& claimed, const std::vector<float>& truth) {
  constexpr double kInf = std::numeric_limits<double>::infinity();
  double gap = 0;
  if (claimed.tokens.empty()) {
    if (claimed.probs.size() != truth.size()) return kInf;
    for (size_t i = 0; i < truth.size(); ++i) {
      if (!std::isfinite(claimed.probs[i])) return kInf;
      gap = std::max(gap, std::fabs(double(claimed.probs[i]) - double(truth[i])));
    }
    return gap;
  }
  if (claimed.tokens.size() != claimed.probs.size()) return kInf;
  for (size_t i = 0; i < claimed.tokens.size(); ++i) {
    if (claimed.tokens[i] >= truth.size() || !std::isfinite(claimed.probs[i])) return kInf;
    gap = std::max(gap, std::fabs(double(claimed.probs[i]) - double(truth[claimed.tokens[i]])));
  }
  return gap;
}

}  // namespace agora::validator
