#include "validator/weights.h"

#include <algorithm>
#include <cmath>
#include <map>

namespace agora::validator {
namespace {

// Caps every share at `cap` (sum stays 1) by water-filling: clipped entries
// sit at the cap, the rest keep their proportions. Requires cap * size >= 1.
void CapShares(std::vector<double>& w, double cap) {
  for (int round = 0; round < 64; ++round) {
    double free_mass = 1.0, free_weight = 0;
    size_t free_count = 0;
    for (double x : w) {
      if (x >= cap) {
        free_mass -= cap;
      } else {
        free_weight += x;
        ++free_count;
      }
    }
    bool changed = false;
    for (double& x : w) {
      double nx;
      if (x >= cap) {
        nx = cap;
      } else if (free_weight > 0) {
        nx = x / free_weight * free_mass;
      } else {
        nx = free_count > 0 ? free_mass / double(free_count) : x;
      }
      changed = changed || std::fabs(nx - x) > 1e-15;
      x = nx;
    }
    if (!changed) return;
  }
}

}  // namespace

WeightVector ComputeWeights(const std::vector<uint16_t>& uids, const std::vector<double>& scores,
                            const WeightRules& rules) {
  std::map<uint16_t, double> share;  // uid -> score^power, ordered by uid
  double total = 0;
  for (size_t k = 0; k < uids.size() && k < scores.size(); ++k) {
    if (uids[k] >= rules.n) continue;
    const double s = scores[k];
    const double v = (std::isfinite(s) && s > 0) ? std::pow(s, rules.power) : 0.0;
    if (v > 0 && std::isfinite(v)) {
      share[uids[k]] += v;
      total += v;
    }
  }
  WeightVector out;
  if (total <= 0 || !std::isfinite(total)) {
    out.uids = {rules.self_uid};
    out.weights = {65535};
    return out;
  }
  for (auto& [uid, v] : share) v /= total;

  const double cap = rules.max_weight_limit / 65535.0;
  if (rules.max_weight_limit < 65535) {
    // Zero-score uids join (lowest first) until the cap can be met.
    for (uint16_t u = 0; u < rules.n && cap * double(share.size()) < 1.0; ++u) {
      share.try_emplace(u, 0.0);
    }
    std::vector<double> w;
    for (auto& [uid, v] : share) w.push_back(v);
    if (cap * double(w.size()) >= 1.0) CapShares(w, cap);
    size_t i = 0;
    for (auto& [uid, v] : share) v = w[i++];
  }
  const size_t min_len = std::min<size_t>(rules.min_allowed_weights, rules.n);
  for (uint16_t u = 0; u < rules.n && share.size() < min_len; ++u) share.try_emplace(u, 0.0);

  double max = 0;
  for (auto& [uid, v] : share) max = std::max(max, v);
  for (auto& [uid, v] : share) {
    out.uids.push_back(uid);
    out.weights.push_back(static_cast<uint16_t>(std::lround(v / max * 65535.0)));
  }
  // Rounding may push the largest share a hair over the cap: lower the
  // largest entries one unit at a time until the chain's exact integer
  // check (max * 65535 <= limit * sum) holds.
  if (rules.max_weight_limit < 65535) {
    for (int guard = 0; guard < 65536; ++guard) {
      uint64_t sum = 0;
      uint16_t top = 0;
      for (uint16_t w : out.weights) {
        sum += w;
        top = std::max(top, w);
      }
      if (uint64_t{top} * 65535 <= uint64_t{rules.max_weight_limit} * sum || top == 0) break;
      for (uint16_t& w : out.weights) {
        if (w == top) --w;
      }
    }
  }
  return out;
}

}  // namespace agora::validator
