// The validator process: asks the subnet's miners held-out questions, scores
// their answers (scoring/), keeps a durable moving average per uid and sets
// weights on the chain (set_weights, or commit_weights then reveal_weights
// when the subnet requires commit-reveal). validator/main.cc is a thin shell
// over Run() (validator/validator_flags.h parses the command line).
//
// One step (docs/VALIDATOR.md):
//   1. metagraph from the chain (a stalled connection is noticed by its
//      deadline and the client is rebuilt after `chain_stall`);
//   2. miners: every uid serving an endpoint, round-robin `sample_size` at a
//      time when set (so each is covered every ceil(n / sample_size) steps);
//   3. challenges cut from the held-out text (validator/holdout.h); the
//      cursor is saved before any prefix leaves the process;
//   4. fan-out with one deadline; each answer is timed by the validator;
//   5. scores: predict log-loss (scoring/predict_scoring.h), every
//      `generate_every` steps a generate prompt judged by the reference
//      model, spot checks of miners claiming a model the validator holds;
//   6. moving averages and the signed score record
//      <data_dir>/records/step-<N>.json;
//   7. weights when the cadence allows;
//   8. the gateway (if on) gets the new ranking; the answers it collected
//      are judged like generate challenges and fold into the averages.
//
// Thread-compatible: Run() owns everything it creates.
#ifndef AGORA_VALIDATOR_VALIDATOR_H_
#define AGORA_VALIDATOR_VALIDATOR_H_

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "common/daemon_wallet.h"
#include "validator/gateway.h"
#include "validator/model_store.h"

namespace agora::validator {

struct ValidatorOptions {
  DaemonWalletSpec wallet;
  std::string chain_url;       // "<address>@tcp://host:port"; or:
  std::string chain_url_file;  // a file holding it
  uint16_t netuid = 1;
  std::string data_dir;        // state and score records; required
  std::vector<std::string> holdout;  // held-out text files or directories, in order
  std::string holdout_command;       // or: a command streaming it (holdout.h); exactly one
  // Challenges.
  size_t challenges = 8;       // predict prefixes per step (one request per miner)
  uint32_t min_prefix = 32;    // tokens
  uint32_t max_prefix = 96;
  size_t sample_size = 0;      // miners per step; 0: all serving miners
  std::chrono::milliseconds step_interval{2000};  // mean; each wait is 0.5x..1.5x (jitter)
  std::chrono::milliseconds timeout{3000};  // deadline of each step's answers
  // Generate challenges, judged by the reference model.
  uint32_t generate_every = 0;   // steps; 0: none
  // Every this many steps the record publishes each miner's predict answer
  // (its reply body), so an audit recomputes losses from the records alone.
  uint32_t answers_every = 8;    // steps; 0: never
  uint32_t generate_tokens = 16;
  double generate_weight = 0.2;  // share of the step score from generate
  std::string reference_model;   // checkpoint dir; required when generate_every > 0
  // Models the validator holds from the start; the models miners register
  // are fetched from them (validator/model_store.h) into <data_dir>/models.
  std::vector<std::string> known_models;  // checkpoint dirs
  ModelStoreOptions model_store;  // sizes and timeouts of fetched models (dir, cpu: set by Run)
  double spot_tolerance = 0.02;  // probability (predict) / nats (generate)
  double sample_tolerance = 1e-3;  // probability: near ties in the sampling check
  // Predict answers within this mean total variation of an earlier-registered
  // model's come from a model derived from it: the same answer (duplicates.h).
  double derived_tolerance = 0.08;  // 0: off
  // Of the completions of miners already cleared by a verified one, the
  // share re-run, drawn by the epoch's committed secret (check_seed.h);
  // completions of miners not cleared are always re-run.
  double completion_check_fraction = 0.25;
  bool cpu = false;              // models and scoring on the CPU even with CUDA
  // Scores and weights.
  double alpha = 0.1;            // moving average: ema += alpha * (score - ema)
  double latency_weight = 0.1;   // step score *= 1 - w * latency / timeout
  double weight_power = 2.0;     // weights ∝ ema^power
  uint64_t weights_interval = 0; // blocks between weight settings; 0: the subnet's tempo
  // The gateway for end users (validator/gateway.h); off unless gateway.port >= 0.
  // Its usage ledger lives at <data_dir>/gateway.db.
  GatewayOptions gateway;
  size_t organic_per_step = 8;   // gateway answers scored per step
  uint64_t fee_forward_interval = 10;  // steps between fee-forwarding batches; 0: never
  std::string gateway_ready_file;  // written with "http://host:port\n" once it serves
  // Weight copying (validator/copy_weights.h): ask miners nothing and submit
  // the stake-weighted mean of the other validators' visible weights, through
  // the same set_weights / commit-reveal path. No held-out text or models.
  bool copy_weights = false;
  // Operation.
  bool curve = true;
  std::chrono::milliseconds chain_stall{10'000};
  double warn_steps_left = 1000; // warn when the held-out text lasts fewer steps
  uint64_t max_steps = 0;        // stop after this many steps (0: until stopped)
  std::string ready_file;        // written once the first step is done
};

// Runs until `*stop` (checked between steps and every 100 ms while waiting)
// or max_steps. Errors name what failed: wallet, chain, registration,
// held-out text, models, state file.
absl::Status Run(const ValidatorOptions& options, const std::atomic<bool>* stop);

}  // namespace agora::validator

#endif  // AGORA_VALIDATOR_VALIDATOR_H_
