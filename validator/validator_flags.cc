#include "validator/validator_flags.h"

#include <csignal>
#include <iostream>
#include <string>

#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "cli/config_file.h"
#include "miner/model_files.h"
#include "protocol/task_messages.h"
#include "validator/audit_command.h"
#include "validator/teacher_command.h"

namespace agora::validator {
namespace {

std::atomic<bool> g_stop{false};
void OnSignal(int) { g_stop.store(true); }

absl::Status RunFromFlags(const cli::ParsedFlags& given, cli::Context&) {
  absl::StatusOr<cli::ParsedFlags> flags = cli::WithConfigFile(given, ValidatorFlagSpecs());
  if (!flags.ok()) return flags.status();
  absl::StatusOr<ValidatorOptions> o = OptionsFromFlags(*flags);
  if (!o.ok()) return o.status();
  std::signal(SIGINT, OnSignal);
  std::signal(SIGTERM, OnSignal);
  return Run(*o, &g_stop);
}

}  // namespace

std::vector<cli::FlagSpec> ValidatorFlagSpecs() {
  std::vector<cli::FlagSpec> specs = {
      {"config", "FILE", "TOML file whose keys are these flags (key data_dir = --data-dir)"},
  };
  const std::vector<cli::FlagSpec> wallet = cli::DaemonWalletFlagSpecs();
  specs.insert(specs.end(), wallet.begin(), wallet.end());
  specs.insert(specs.end(), {
      {"chain-url", "URL", "the chain, <address>@tcp://host:port"},
      {"chain-url-file", "FILE", "file holding the chain URL (<chain data dir>/chain.url)"},
      {"netuid", "N", "subnet to validate (default 1)"},
      {"data-dir", "DIR", "state and signed score records (required)"},
      {"mode", "MODE", "honest (measure the miners, default) or copy-weights (ask nothing; submit the stake-weighted mean of the other validators' visible weights: a weight copier, to measure what commit-reveal costs one)"},
      {"holdout", "PATHS", "held-out text files or directories, comma-separated, used in order"},
      {"holdout-command", "CMD",
       "or: a shell command whose output is the challenge text, read as needed (e.g. "
       "agora-validator teacher ...)"},
      {"challenges", "N", "predict prefixes per step (default 8)"},
      {"min-prefix", "N", "shortest prefix, tokens (default 32)"},
      {"max-prefix", "N", "longest prefix, tokens (default 96)"},
      {"sample-size", "N", "miners asked per step, round-robin (default 0: all)"},
      {"step-interval-ms", "MS", "time between steps (default 2000)"},
      {"timeout-ms", "MS", "deadline of each step's answers (default 3000)"},
      {"generate-every", "N", "a generate challenge every N steps (default 0: none)"},
      {"answers-every", "N",
       "publish the miners' predict answers in the record of every Nth step, for audits (default 8; "
       "0: never)"},
      {"generate-tokens", "N", "tokens asked per generate challenge (default 16)"},
      {"generate-weight", "W", "share of the step score from generate, [0,1] (default 0.2)"},
      {"reference-model", "DIR", "checkpoint that judges completions"},
      {"known-models", "DIRS", "checkpoints held from the start, comma-separated (other registered models are fetched from their miners)"},
      {"max-model-bytes", "N", "largest registered model package fetched; a miner whose model is larger earns nothing (default 2147483648)"},
      {"model-cache-bytes", "N", "fetched model packages kept under <data-dir>/models (default 8589934592)"},
      {"derived-tolerance", "X",
       "predict answers within this mean total variation of an earlier-registered model's are its "
       "copy's: the same answer (default 0.08; 0: off)"},
      {"completion-check-fraction", "P",
       "share of cleared miners' completions re-run on their models, drawn by the epoch's "
       "committed secret (default 0.25; 1: all); a miner not yet cleared is always re-run"},
      {"spot-tolerance", "X", "largest allowed spot-check difference: total variation for a distribution, absolute for a log-probability (default 0.02)"},
      {"sample-tolerance", "P", "probability within which a sampled token counts as a near tie in the sampling check (default 0.001)"},
      {"cpu", "", "models and scoring on the CPU even if CUDA is available"},
      {"alpha", "A", "moving-average rate of scores, (0,1] (default 0.1)"},
      {"latency-weight", "W", "score lost for answering at the deadline, [0,1] (default 0.1)"},
      {"weight-power", "P", "weights proportional to score^P (default 2)"},
      {"weights-interval", "BLOCKS", "blocks between weight settings (default: the tempo)"},
      {"gateway-port", "PORT", "serve the HTTP gateway on PORT (0: any free port; default: off)"},
      {"gateway-host", "HOST", "gateway address (default 127.0.0.1)"},
      {"api-keys-file", "FILE", "the gateway's API keys (TOML, docs/GATEWAY.md); required with the gateway"},
      {"gateway-top-k", "N", "miners asked per gateway request (default 3)"},
      {"gateway-policy", "POLICY", "first (first valid answer, default) or best (judged best)"},
      {"gateway-timeout-ms", "MS", "deadline of a gateway request (default 10000)"},
      {"gateway-max-body-bytes", "N", "largest request body (default 65536)"},
      {"price-per-token", "UNITS", "base units per completion token beyond a key's free credit (default 0: free)"},
      {"miner-fee-share", "S", "share of paid fees forwarded to answering miners' coldkeys, [0,1] (default 0.5)"},
      {"fee-forward-interval", "STEPS", "steps between fee-forwarding batches (default 10; 0: never)"},
      {"organic-per-step", "N", "gateway answers scored per step (default 8)"},
      {"gateway-ready-file", "FILE", "write 'http://host:port' to FILE once the gateway serves"},
      {"chain-stall-ms", "MS", "reconnect to the chain after this long without an answer (default 10000)"},
      {"warn-steps-left", "N", "warn when the held-out text lasts fewer steps (default 1000)"},
      {"max-steps", "N", "stop after N steps (default 0: until SIGTERM)"},
      {"no-curve", "", "no CurveZMQ encryption (miners and chain must match)"},
      {"ready-file", "FILE", "write 'ready' to FILE after the first step"},
  });
  return specs;
}

absl::StatusOr<ValidatorOptions> OptionsFromFlags(const cli::ParsedFlags& f) {
  ValidatorOptions o;
  o.wallet = cli::DaemonWalletFromFlags(f);
  o.chain_url = f.Get("chain-url");
  o.chain_url_file = f.Get("chain-url-file");
  o.data_dir = f.Get("data-dir");
  o.holdout = cli::CommaList(f.Get("holdout"));
  o.holdout_command = f.Get("holdout-command");
  const std::string mode = f.Get("mode", "honest");
  if (mode != "honest" && mode != "copy-weights") {
    return cli::UsageError("--mode: 'honest' or 'copy-weights'");
  }
  o.copy_weights = mode == "copy-weights";
  o.reference_model = f.Get("reference-model");
  o.known_models = cli::CommaList(f.Get("known-models"));
  o.cpu = f.Has("cpu");
  o.curve = !f.Has("no-curve");
  o.ready_file = f.Get("ready-file");
  o.gateway.host = f.Get("gateway-host", o.gateway.host);
  o.gateway.api_keys_file = f.Get("api-keys-file");
  o.gateway.policy = f.Get("gateway-policy", o.gateway.policy);
  o.gateway_ready_file = f.Get("gateway-ready-file");
  int64_t step_ms = o.step_interval.count(), timeout_ms = o.timeout.count(),
          stall_ms = o.chain_stall.count(), gateway_timeout_ms = o.gateway.timeout.count();
  for (absl::Status st : {
           cli::IntFlag<uint16_t>(f, "netuid", 0, 65535, &o.netuid),
           cli::IntFlag<size_t>(f, "challenges", 1, protocol::kMaxPrefixes, &o.challenges),
           cli::IntFlag<uint32_t>(f, "min-prefix", 1, 4096, &o.min_prefix),
           cli::IntFlag<uint32_t>(f, "max-prefix", 1, 4096, &o.max_prefix),
           cli::IntFlag<size_t>(f, "sample-size", 0, 65535, &o.sample_size),
           cli::IntFlag<int64_t>(f, "step-interval-ms", 0, 3'600'000, &step_ms),
           cli::IntFlag<int64_t>(f, "timeout-ms", 1, 600'000, &timeout_ms),
           cli::IntFlag<uint32_t>(f, "generate-every", 0, 1'000'000, &o.generate_every),
           cli::IntFlag<uint32_t>(f, "answers-every", 0, 1'000'000, &o.answers_every),
           cli::IntFlag<uint32_t>(f, "generate-tokens", 1, protocol::kMaxGenerateTokens, &o.generate_tokens),
           cli::RealFlag(f, "generate-weight", 0, 1, &o.generate_weight),
           cli::RealFlag(f, "spot-tolerance", 0, 1e6, &o.spot_tolerance),
           cli::RealFlag(f, "sample-tolerance", 0, 1, &o.sample_tolerance),
           cli::RealFlag(f, "derived-tolerance", 0, 1, &o.derived_tolerance),
           cli::RealFlag(f, "completion-check-fraction", 0, 1, &o.completion_check_fraction),
           cli::IntFlag<uint64_t>(f, "max-model-bytes", 1, miner::kMaxPackBytes, &o.model_store.max_model_bytes),
           cli::IntFlag<uint64_t>(f, "model-cache-bytes", 0, UINT64_MAX, &o.model_store.cache_bytes),
           cli::RealFlag(f, "alpha", 1e-6, 1, &o.alpha),
           cli::RealFlag(f, "latency-weight", 0, 1, &o.latency_weight),
           cli::RealFlag(f, "weight-power", 0.01, 100, &o.weight_power),
           cli::IntFlag<uint64_t>(f, "weights-interval", 0, UINT64_MAX, &o.weights_interval),
           cli::IntFlag<int64_t>(f, "chain-stall-ms", 100, 3'600'000, &stall_ms),
           cli::RealFlag(f, "warn-steps-left", 0, 1e12, &o.warn_steps_left),
           cli::IntFlag<uint64_t>(f, "max-steps", 0, UINT64_MAX, &o.max_steps),
           cli::IntFlag<int>(f, "gateway-port", 0, 65535, &o.gateway.port),
           cli::IntFlag<size_t>(f, "gateway-top-k", 1, 256, &o.gateway.top_k),
           cli::IntFlag<int64_t>(f, "gateway-timeout-ms", 1, 600'000, &gateway_timeout_ms),
           cli::IntFlag<size_t>(f, "gateway-max-body-bytes", 256, 16u << 20, &o.gateway.max_body_bytes),
           cli::IntFlag<size_t>(f, "organic-per-step", 0, 1024, &o.organic_per_step),
           cli::RealFlag(f, "miner-fee-share", 0, 1, &o.gateway.miner_fee_share),
           cli::IntFlag<uint64_t>(f, "fee-forward-interval", 0, 1'000'000, &o.fee_forward_interval),
           cli::IntFlag<uint64_t>(f, "price-per-token", 0, uint64_t{1} << 40, &o.gateway.price_per_token),
       }) {
    if (!st.ok()) return st;
  }
  o.step_interval = std::chrono::milliseconds(step_ms);
  o.timeout = std::chrono::milliseconds(timeout_ms);
  o.chain_stall = std::chrono::milliseconds(stall_ms);
  o.gateway.timeout = std::chrono::milliseconds(gateway_timeout_ms);
  if (o.gateway.policy != "first" && o.gateway.policy != "best") {
    return cli::UsageError("--gateway-policy: 'first' or 'best'");
  }
  if (o.gateway.port >= 0 && o.gateway.api_keys_file.empty()) {
    return cli::UsageError("--gateway-port needs --api-keys-file");
  }
  if (o.min_prefix > o.max_prefix) return cli::UsageError("min_prefix must be <= max_prefix");
  if (o.data_dir.empty()) return cli::UsageError("set --data-dir");
  if (!o.copy_weights && o.holdout.empty() == o.holdout_command.empty()) {
    return cli::UsageError(
        "set one of --holdout (held-out text files or directories) and --holdout-command (a command "
        "streaming challenge text)");
  }
  if (o.chain_url.empty() && o.chain_url_file.empty()) {
    return cli::UsageError("set --chain-url or --chain-url-file");
  }
  if (o.generate_every > 0 && o.reference_model.empty()) {
    return cli::UsageError("--generate-every needs --reference-model");
  }
  return o;
}

int RunValidatorCommand(int argc, char** argv) {
  cli::Command cmd{
      "agora-validator",
      "validate an Agora subnet: challenge miners, score them, set weights",
      "Loads the wallet's hotkey (registered on the subnet, with a validator permit\n"
      "to set weights), asks every serving miner held-out predict challenges each\n"
      "step (and generate prompts judged by a reference model), keeps a durable\n"
      "moving average of scores under --data-dir and sets weights on the chain\n"
      "(commit-reveal when the subnet requires it). Each step writes a signed\n"
      "score record. SIGTERM stops it after the current step. See docs/VALIDATOR.md.\n\n"
      "agora-validator audit --records DIR checks a directory of score records\n"
      "(agora-validator audit --help); agora-validator teacher writes private\n"
      "challenge text (agora-validator teacher --help).",
      ValidatorFlagSpecs(),
      &RunFromFlags,
      {}};
  std::vector<std::string> args(argv + 1, argv + argc);
  // "audit" and "teacher" are the subcommands; everything else is the
  // validator's own command line, unchanged (a cli group would make
  // "--config" a usage error).
  if (!args.empty() && (args[0] == "audit" || args[0] == "teacher")) {
    return cli::Run(args[0] == "audit" ? AuditCommand() : TeacherCommand(),
                    std::vector<std::string>(args.begin() + 1, args.end()), std::cout, std::cerr);
  }
  return cli::Run(cmd, args, std::cout, std::cerr);
}

}  // namespace agora::validator
