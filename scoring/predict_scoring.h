// Scoring of predict answers: the log-loss of the true next token under each
// miner's returned distribution (a proper scoring rule), for every miner of a
// validator step at once. Pure: no sockets, no clock, no randomness.
//
// Torch-free interface over the tensor functions of scoring/predict_loss.h,
// so the validator's loop does not include LibTorch. The work runs on
// torch::kCUDA when available (and not disabled), else on Agora's own CUDA
// kernels when built and a device exists, and on the CPU otherwise; CPU and
// CUDA agree within kCudaTolerance.
//
// Thread-safety: pure functions; safe to call from any thread.
#ifndef AGORA_SCORING_PREDICT_SCORING_H_
#define AGORA_SCORING_PREDICT_SCORING_H_

#include <cstdint>
#include <string>
#include <vector>

#include "protocol/task_messages.h"

namespace agora::scoring {

// Mean losses computed on CUDA and on the CPU agree within this (nats).
inline constexpr double kCudaTolerance = 1e-4;

struct PredictScoringOptions {
  // A distribution whose probabilities sum outside [1 - tol, 1 + tol] is malformed.
  double sum_tolerance = 1e-3;
  // p(target) is clamped below at this before the log, so one zero
  // probability costs -log(floor) nats instead of infinity.
  double probability_floor = 1e-9;
  bool use_cuda = true;  // false: always the CPU
};

// One validator step: N challenges (prefixes whose true next tokens are
// `targets`), answered (or not) by M miners.
struct PredictStep {
  uint32_t vocab_size = 256;            // the validator's tokenizer; every target < it
  std::vector<uint32_t> targets;        // N
  // answers[m]: miner m's reply, or null when it gave none (timeout, refusal).
  std::vector<const protocol::PredictReply*> answers;  // M
};

struct PredictScore {
  bool valid = false;
  // Empty when valid; otherwise why the answer scores zero, e.g. "no answer",
  // "vocab_size 512, expected 256", "distribution 3: 255 probabilities,
  // expected 256", "distribution 1: NaN", "distribution 0: negative
  // probability", "distribution 2: sums to 0.93".
  std::string reason;
  double loss = 0;   // mean log-loss over the N challenges, nats (valid only)
  // In [0, 1]: the share of a uniform guess's loss the miner saved,
  // max(0, 1 - loss / log(vocab_size)). 0 when invalid.
  double score = 0;
};

// One score per miner, in the order of `step.answers`. A top-k distribution
// spreads its `rest` mass evenly over the tokens it does not list.
std::vector<PredictScore> ScorePredict(const PredictStep& step,
                                       const PredictScoringOptions& options = {});

// Where ScorePredict runs with these options: "cuda" (a CUDA-enabled
// LibTorch), "cuda-kernels" (Agora's own kernels, scoring/kernel_dispatch.h,
// with tensors copied through host memory) or "cpu".
std::string ScoringDevice(const PredictScoringOptions& options = {});

}  // namespace agora::scoring

#endif  // AGORA_SCORING_PREDICT_SCORING_H_
