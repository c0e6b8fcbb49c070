// Spot checks of predict answers: a miner's distribution for a prefix against
// the distribution of the model it claims to serve (same content hash), when
// the validator holds that model. Pure.
#ifndef AGORA_VALIDATOR_SPOT_CHECK_H_
#define AGORA_VALIDATOR_SPOT_CHECK_H_

#include <vector>

#include "protocol/task_messages.h"

namespace agora::validator {

// The total variation distance between the claimed distribution and
// `truth` (the model's full distribution): half the sum of |claimed - truth|
// over every token in the full form; in the top-k form over the listed
// tokens plus the claimed `rest` against the true mass of the others (a
// lower bound of the full distance). A sum, not the largest single gap: a
// distribution wrong by a little on every token of a large vocabulary (a
// random miner claiming a near-uniform model) is far from the truth even
// though no single probability is. Infinity for a malformed distribution (a
// token id out of range, the wrong length, a non-finite value).
double DistributionGap(const protocol::TokenDistribution& claimed, const std::vector<float>& truth);

}  // namespace agora::validator

#endif  // AGORA_VALIDATOR_SPOT_CHECK_H_
