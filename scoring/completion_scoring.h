// Judging generate answers: a completion's score is its mean per-token
// log-probability under the validator's reference model (computed by one
// batched teacher-forced pass, ModelBackend::TokenLogprobs). Whether the
// completion is what the model it names produces is miner/sampling_check.h.
// Pure functions on plain vectors; the tensor work is
// scoring/token_logprobs.h inside the backends.
//
// Thread-safety: pure functions.
#ifndef AGORA_SCORING_COMPLETION_SCORING_H_
#define AGORA_SCORING_COMPLETION_SCORING_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace agora::scoring {

// exp(mean log-probability) of a completion under the reference model: the
// geometric-mean probability of its tokens, in [0, 1]. 0 for an empty
// completion or any non-finite log-probability.
double CompletionScore(const std::vector<float>& reference_logprobs);

}  // namespace agora::scoring

#endif  // AGORA_SCORING_COMPLETION_SCORING_H_
