// Judging generate answers: a completion's score is its mean per-token
// log-probability under the validator's reference model (computed by one
// batched teacher-forced pass, ModelBackend::TokenLogprobs), and spot checks
// compare a miner's claimed per-token log-probabilities with the ones the
// model it claims to serve gives. Pure functions on plain vectors; the
// tensor work is scoring/token_logprobs.h inside the backends.
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

struct SpotCheckResult {
  bool ok = true;
  size_t position = 0;    // the first checked position beyond tolerance (when !ok)
  double claimed = 0;     // the miner's log-probability there
  double recomputed = 0;  // the claimed model's
  std::string evidence;   // one line for the log when !ok
};

// Compares claimed[i] with recomputed[i] at each of `positions` (indices
// into both): |claimed - recomputed| > abs_tolerance fails, as do a
// non-finite claim, a position out of range or vectors of different lengths.
SpotCheckResult SpotCheck(const std::vector<float>& claimed, const std::vector<float>& recomputed,
                          const std::vector<size_t>& positions, double abs_tolerance = 1e-2);

// `count` distinct positions in [0, length), sorted, drawn with `seed`
// (deterministic: the score record carries the seed so anyone can redo it).
std::vector<size_t> SpotCheckPositions(size_t length, size_t count, uint64_t seed);

}  // namespace agora::scoring

#endif  // AGORA_SCORING_COMPLETION_SCORING_H_
