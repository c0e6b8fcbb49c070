// The CPU's fast path of predict scoring, for the usual step in which every
// answer that has the right shape is also well formed: one pass over each
// distribution straight from the replies, with no [M, N, V] tensor built and
// no tensor op run. A step with a malformed distribution (NaN, infinite,
// negative, bad sum) is left to the tensor path (scoring/predict_loss.h),
// which names the first problem of each miner; both compute the same losses.
//
// Torch-free. Thread-safety: pure functions.
#ifndef AGORA_SCORING_PREDICT_HOST_H_
#define AGORA_SCORING_PREDICT_HOST_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "protocol/task_messages.h"
#include "scoring/predict_scoring.h"

namespace agora::scoring {

// Host-side shape check of one miner's reply against the step: empty when the
// reply can be densified (right vocab_size, one distribution per challenge,
// full form with vocab_size probabilities or top-k form with matching
// tokens/probs, ids < vocab_size and no id listed twice); otherwise the
// reason ("no answer", "vocab_size 512, expected 256", "distribution 3: 255
// probabilities, expected 256", ...). Values (NaN, negative, sums) are the
// tensor side's job.
std::string CheckShape(const protocol::PredictReply* reply, uint32_t vocab_size,
                       size_t challenges);

// CheckShape for each of step's answers, in order.
std::vector<std::string> CheckShapes(const PredictStep& step);

// Writes a top-k distribution (d.tokens not empty) densely into out[V]: the
// listed probabilities, and `rest` spread evenly over the V - k unlisted
// tokens (none when k == V, so a non-zero rest then shows as a bad sum).
// Shared with the tensor path's Densify (predict_loss.h).
void DensifyTopK(const protocol::TokenDistribution& d, uint32_t vocab_size, float* out);

// Mean log-loss of each miner whose shape reason is empty (0 for the
// others): mean over challenges of -log(max(p[target], floor)), float64.
// `shape_reasons[m]` is CheckShape's verdict on answers[m].
// nullopt when any distribution of such a miner is malformed: a NaN, a
// negative or infinite probability, or a sum (float32 lanes, added in
// float64) outside [1 - tol, 1 + tol].
std::optional<std::vector<double>> WellFormedLosses(const PredictStep& step,
                                                    const std::vector<std::string>& shape_reasons,
                                                    double sum_tolerance,
                                                    double probability_floor);

// The predict score of a mean loss: max(0, 1 - loss / ln(vocab_size)), 1 for
// a perfect answer, 0 for the uniform guess or worse.
double PredictScoreOfLoss(double loss, uint32_t vocab_size);

}  // namespace agora::scoring

#endif  // AGORA_SCORING_PREDICT_HOST_H_
