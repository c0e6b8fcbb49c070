// The weight-copying validator (agora-validator --mode copy-weights): what a
// validator that measures nothing would submit to earn dividends. It exists
// to show, on a real chain, that commit-reveal makes copying pay less than
// measuring (docs/VALIDATOR.md, "Weight copying").
//
// A copier wants its weights to match consensus, since that is what Yuma
// pays for (its weights are clipped to consensus, and its bonds pay where
// consensus puts incentive). Consensus is a stake-weighted quantile of the
// validators' rows, so its best estimate from what the chain shows is the
// stake-weighted mean of the visible rows: copying only the largest
// validator would follow that one validator's errors and its absences.
// Pure: the same metagraph always gives the same vector.
#ifndef AGORA_VALIDATOR_COPY_WEIGHTS_H_
#define AGORA_VALIDATOR_COPY_WEIGHTS_H_

#include <cstddef>
#include <cstdint>
#include <vector>

#include "chain/messages.h"

namespace agora::validator {

struct CopiedWeights {
  std::vector<uint16_t> uids;  // ascending, every uid some source weighs
  std::vector<double> shares;  // sum 1 when any source exists
  size_t sources = 0;          // validator rows averaged
};

// The stake-weighted mean of the row-normalized weights that `neurons` show
// (a metagraph fetched with include_weights), over every validator with a
// permit and stake other than `self_uid`. Self-weights (a validator's entry
// for its own uid) and entries for `self_uid` are left out, and so is a row
// with nothing else in it (a validator that has not measured anything yet).
// Empty when no row remains: there is nothing to copy.
CopiedWeights MeanVisibleWeights(const std::vector<chain::NeuronInfo>& neurons, uint16_t self_uid);

}  // namespace agora::validator

#endif  // AGORA_VALIDATOR_COPY_WEIGHTS_H_
