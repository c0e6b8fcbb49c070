// The tensor side of predict scoring (scoring/predict_scoring.h): dense
// [M, N, V] distributions built on the host from the miners' replies, and the
// batched checks and log-loss of all M miners at once in a few tensor ops.
//
// Includes LibTorch: only scoring/*.cc, the scoring test and the benchmark
// include it; the validator's loop uses the torch-free facade.
//
// Thread-safety: pure functions.
#ifndef AGORA_SCORING_PREDICT_LOSS_H_
#define AGORA_SCORING_PREDICT_LOSS_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "protocol/task_messages.h"
#include "scoring/predict_host.h"
#include "scoring/predict_scoring.h"

namespace agora::scoring {

// Why a distribution is malformed, in the order they are looked for.
enum class BadKind : int32_t { kNone = 0, kNaN = 1, kInfinite = 2, kNegative = 3, kSum = 4 };

// CheckShape and CheckShapes: scoring/predict_host.h.

// Writes reply's distributions densely into out[N * V] (row n = challenge n).
// Top-k form: unlisted tokens get rest / (V - k) each. Requires
// CheckShape(reply, V, N) to be empty.
void Densify(const protocol::PredictReply& reply, uint32_t vocab_size, size_t challenges,
             float* out);

struct DenseStep {
  torch::Tensor probs;    // [M, N, V] float32 on the CPU; zeros for absent miners
  torch::Tensor targets;  // [N] int64 on the CPU
  torch::Tensor present;  // [M] bool on the CPU: answered with correct shapes
  std::vector<std::string> reasons;  // M: CheckShape's reason, empty when present
};

// Runs CheckShape for every miner and densifies the ones that pass.
DenseStep BuildDense(const PredictStep& step);
// The same with CheckShape's verdicts already at hand (one per answer).
DenseStep BuildDense(const PredictStep& step, std::vector<std::string> shape_reasons);

struct PredictLossResult {  // every tensor [M] and on the CPU
  torch::Tensor bad_index;  // int64: first malformed distribution, -1 when none (or absent)
  torch::Tensor bad_kind;   // int32: BadKind of that distribution
  torch::Tensor bad_sum;    // float64: that distribution's sum (for kSum reasons)
  torch::Tensor loss;       // float64: mean -log(max(p[target], floor)); 0 unless
                            // present and bad_index == -1
};

// probs [M, N, V] float32, targets [N] int64, present [M] bool, all on one
// device (any). Per distribution: NaN, then ±inf, then a negative
// probability, then a sum outside [1 - sum_tolerance, 1 + sum_tolerance]
// (summed in float32, compared in float64) make it malformed. Batched over
// miners: no per-miner loop.
PredictLossResult PredictLoss(const torch::Tensor& probs, const torch::Tensor& targets,
                              const torch::Tensor& present, double sum_tolerance,
                              double probability_floor);

// The device ScorePredict runs on with these options.
torch::Device ScoringTorchDevice(const PredictScoringOptions& options);

}  // namespace agora::scoring

#endif  // AGORA_SCORING_PREDICT_LOSS_H_
