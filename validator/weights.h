// From per-uid scores to the weight vector a validator submits: normalized,
// shaped to the chain's rules (max_weight_limit, min_allowed_weights), then
// quantized to u16 so the chain accepts it as is (chain/apply.cc
// CheckWeights). Pure: the same scores and rules always give the same vector,
// so anyone holding a step's score record can recompute it.
#ifndef AGORA_VALIDATOR_WEIGHTS_H_
#define AGORA_VALIDATOR_WEIGHTS_H_

#include <cstdint>
#include <vector>

namespace agora::validator {

struct WeightRules {
  uint16_t n = 0;                    // uids on the subnet
  uint16_t self_uid = 0;             // the validator's own uid
  uint16_t min_allowed_weights = 1;  // entries the vector must have (at most n)
  uint16_t max_weight_limit = 65535; // largest share, u16/65535
  double power = 1.0;                // weights ∝ score^power (sharpens differences)
};

struct WeightVector {
  std::vector<uint16_t> uids;     // ascending
  std::vector<uint16_t> weights;  // u16; the largest is 65535
};

// `scores[k]` belongs to uid `uids[k]` (uids < rules.n; non-finite or
// negative scores count as 0). When every score is 0 the vector is the
// validator's self-weight alone (always allowed, pays no miner). Otherwise
// shares are score^power normalized, capped at max_weight_limit with the
// excess moved to the others in proportion (zero-score uids join, lowest
// uid first, when the cap cannot be met otherwise), padded with zero
// weights up to min_allowed_weights, and quantized.
WeightVector ComputeWeights(const std::vector<uint16_t>& uids, const std::vector<double>& scores,
                            const WeightRules& rules);

}  // namespace agora::validator

#endif  // AGORA_VALIDATOR_WEIGHTS_H_
