#include "validator/copy_weights.h"

#include <map>

namespace agora::validator {

CopiedWeights MeanVisibleWeights(const std::vector<chain::NeuronInfo>& neurons, uint16_t self_uid) {
  CopiedWeights out;
  std::map<uint16_t, double> sum;  // ordered: the vector comes out by ascending uid
  double total_stake = 0;
  for (const chain::NeuronInfo& v : neurons) {
    if (v.uid == self_uid || !v.validator_permit || v.stake == 0) continue;
    double row_total = 0;
    for (const auto& [j, w] : v.weights) {
      if (j != v.uid && j != self_uid) row_total += w;
    }
    if (row_total <= 0) continue;
    const double stake = static_cast<double>(v.stake);
    for (const auto& [j, w] : v.weights) {
      if (j != v.uid && j != self_uid) sum[j] += stake * (w / row_total);
    }
    total_stake += stake;
    ++out.sources;
  }
  if (out.sources == 0) return out;
  for (const auto& [j, s] : sum) {
    out.uids.push_back(j);
    out.shares.push_back(s / total_stake);
  }
  return out;
}

}  // namespace agora::validator
