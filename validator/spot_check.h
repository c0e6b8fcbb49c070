// Spot checks of predict answers: a miner's distribution for a prefix against
// the distribution of the model it claims to serve (same content hash), when
// the validator holds that model. Pure.
#ifndef AGORA_VALIDATOR_SPOT_CHECK_H_
#define AGORA_VALIDATOR_SPOT_CHECK_H_

#include <vector>

#include "protocol/task_messages.h"

namespace agora::validator {

// The largest |claimed - truth| over the tokens the distribution lists (all
// of them in the full form; the listed ones in the top-k form). `truth` is
// the model's full distribution. Infinity for a malformed distribution (a
// token id out of range, the wrong length, a non-finite value).
double DistributionGap(const protocol::TokenDistribution& claimed, const std::vector<float>& truth);

}  // namespace agora::validator

#endif  // AGORA_VALIDATOR_SPOT_CHECK_H_
