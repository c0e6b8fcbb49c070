#include "miner/miner_flags.h"

#include <algorithm>
#include <csignal>
#include <iostream>
#include <string>
#include <type_traits>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "cli/config_file.h"
#include "common/address.h"

namespace agora::miner {
namespace {

std::atomic<bool> g_stop{false};
void OnSignal(int) { g_stop.store(true); }

absl::Status RunFromFlags(const cli::ParsedFlags& given, cli::Context& ctx) {
  absl::StatusOr<cli::ParsedFlags> flags = cli::WithConfigFile(given, MinerFlagSpecs());
  if (!flags.ok()) return flags.status();
  absl::StatusOr<MinerOptions> o = OptionsFromFlags(*flags);
  if (!o.ok()) return o.status();
  std::signal(SIGINT, OnSignal);
  std::signal(SIGTERM, OnSignal);
  return Run(*o, &g_stop);
}

// The mode's own flags. A relay (copycat, noisy-copy) serves no model (it
// relays the miner at --copy-uid or --copy-hotkey); every other mode serves
// exactly one.
absl::Status AdversaryFromFlags(const cli::ParsedFlags& f, MinerOptions& o) {
  const std::string& mode = o.adversary.mode;
  if (std::find(std::begin(kAdversaryModes), std::end(kAdversaryModes), mode) ==
      std::end(kAdversaryModes)) {
    return cli::UsageError(absl::StrCat("--mode ", mode, ": expected one of ",
                                        absl::StrJoin(kAdversaryModes, ", ")));
  }
  const bool lookup = mode == "lookup" || mode == "claim-registered";
  if (lookup != f.Has("lookup-text")) {
    return cli::UsageError("--lookup-text is for (and needed by) --mode lookup and claim-registered");
  }
  if (mode == "claim-registered" && !f.Has("claim-model")) {
    return cli::UsageError("--mode claim-registered needs --claim-model");
  }
  if (f.Has("retemper") && mode != "noisy-copy") return cli::UsageError("--retemper is for --mode noisy-copy");
  if (f.Has("cheat-fraction") && mode != "greedy" && mode != "early-stop") {
    return cli::UsageError("--cheat-fraction is for --mode greedy and early-stop");
  }
  if (f.Has("perturb") && mode != "perturbed-copy") {
    return cli::UsageError("--perturb is for --mode perturbed-copy");
  }
  if ((mode == "two-faced") != f.Has("cheap-model")) {
    return cli::UsageError("--cheap-model is for (and needed by) --mode two-faced");
  }
  if (mode == "two-faced" && o.model.checkpoint_dir.empty()) {
    return cli::UsageError("--mode two-faced needs --checkpoint (its registered model)");
  }
  if (mode == "perturbed-copy" && (o.model.checkpoint_dir.empty() || o.service.data_dir.empty())) {
    return cli::UsageError(
        "--mode perturbed-copy needs --checkpoint (the model it copies) and --data-dir (where "
        "the copy is written)");
  }
  const bool has_model = !o.model.checkpoint_dir.empty() || !o.model.torchscript_path.empty();
  if (!IsRelayMode(mode)) {
    if (f.Has("copy-uid") || f.Has("copy-hotkey")) {
      return cli::UsageError("--copy-uid and --copy-hotkey are for --mode copycat and noisy-copy");
    }
    if (o.model.checkpoint_dir.empty() == o.model.torchscript_path.empty()) {
      return cli::UsageError("set exactly one of --checkpoint and --torchscript");
    }
    return absl::OkStatus();
  }
  if (has_model) {
    return cli::UsageError(absl::StrCat("--mode ", mode,
                                        " serves no model of its own: drop --checkpoint/--torchscript"));
  }
  if (f.Has("copy-uid") == f.Has("copy-hotkey")) {
    return cli::UsageError(absl::StrCat("--mode ", mode, ": set exactly one of --copy-uid and --copy-hotkey"));
  }
  if (f.Has("copy-uid")) {
    uint16_t uid = 0;
    absl::Status s = cli::IntFlag<uint16_t>(f, "copy-uid", 0, 65535, &uid);
    if (!s.ok()) return s;
    o.adversary.copy.uid = uid;
  } else {
    absl::StatusOr<PublicKey> hotkey = ParseAddress(f.Get("copy-hotkey"));
    if (!hotkey.ok()) return cli::UsageError(absl::StrCat("--copy-hotkey: ", hotkey.status().message()));
    o.adversary.copy.hotkey = *hotkey;
  }
  return absl::OkStatus();
}

}  // namespace

std::vector<cli::FlagSpec> MinerFlagSpecs() {
  std::vector<cli::FlagSpec> specs = {
      {"config", "FILE", "TOML file whose keys are these flags (key max_batch = --max-batch)"},
  };
  const std::vector<cli::FlagSpec> wallet = cli::DaemonWalletFlagSpecs();
  specs.insert(specs.end(), wallet.begin(), wallet.end());
  specs.insert(specs.end(), {
      {"chain-url", "URL", "the chain, <address>@tcp://host:port"},
      {"chain-url-file", "FILE", "file holding the chain URL (<chain data dir>/chain.url)"},
      {"netuid", "N", "subnet to serve (default 1)"},
      {"register", "", "register the hotkey if needed (burns the subnet's current cost)"},
      {"max-burn", "UNITS", "refuse to register if the burn is above this (base units)"},
      {"endpoint", "ENDPOINT", "where to bind (default tcp://127.0.0.1:9100)"},
      {"public-endpoint", "ENDPOINT", "endpoint announced on chain (default: the bound one)"},
      {"checkpoint", "DIR", "agora-train checkpoint directory to serve"},
      {"torchscript", "FILE", "TorchScript causal LM to serve instead"},
      {"torchscript-context", "N", "context length of the TorchScript model (default 256)"},
      {"vocab-file", "FILE", "tokenizer vocabulary (default: byte-level)"},
      {"cpu", "", "serve on the CPU even if CUDA is available"},
      {"max-batch", "N", "rows per forward pass (default 16)"},
      {"max-wait-us", "US", "longest a predict row waits for a fuller batch; a step with a generation in it never waits (default 2000)"},
      {"max-queue-rows", "N", "queued model rows before 'overloaded' (default 4096)"},
      {"workers", "N", "concurrently served requests (default 64)"},
      {"request-timeout-ms", "MS", "model work older than this is dropped (default 10000)"},
      {"max-prefixes", "N", "prefixes per predict request (default 64)"},
      {"min-stake", "UNITS", "least stake a caller needs (base units, default 0)"},
      {"require-permit", "", "serve only hotkeys with a validator permit"},
      {"rate-per-s", "R", "requests per second per hotkey (default 50; 0: no limit)"},
      {"burst", "N", "rate-limit burst per hotkey (default 100)"},
      {"data-dir", "DIR", "keeps the replay window (replay.log) across restarts (default: memory only)"},
      {"request-log", "FILE", "append one JSON line per predict/generate request: sender, kind, fields set, sizes (default: none)"},
      {"metrics-host", "HOST", "metrics address (default 127.0.0.1)"},
      {"metrics-port", "PORT", "serve /metrics on PORT (0: any; default: off)"},
      {"metagraph-refresh-ms", "MS", "how often to re-read the metagraph (default 2000)"},
      {"no-curve", "", "no CurveZMQ encryption (clients and chain must match)"},
      {"mode", "MODE",
       "honest (default), or an adversary for tests: random, liar, slow, memorizer, copycat, "
       "noisy-copy, lookup, claim-registered, greedy, early-stop, perturbed-copy, two-faced, lazy-logprobs (docs/MINER.md)"},
      {"claim-model", "HASH", "liar and claim-registered modes: the model hash to claim (hex)"},
      {"lookup-text", "FILE", "lookup and claim-registered modes: the text answers are looked up in"},
      {"retemper", "T", "noisy-copy mode: temperature applied to the relayed answers (default 1.001)"},
      {"cheap-model", "DIR", "two-faced mode: the checkpoint that answers generations"},
      {"perturb", "S", "perturbed-copy mode: noise added to each weight, in its tensor's standard deviations (default 0.001)"},
      {"cheat-fraction", "Q", "greedy and early-stop modes: share of generate requests cheated, drawn at random (default 1: all)"},
      {"delay-ms", "MS", "slow mode: delay added to each forward pass"},
      {"copy-uid", "UID", "copycat and noisy-copy modes: relay the answers of the miner at this uid"},
      {"copy-hotkey", "ADDRESS", "copycat and noisy-copy modes: relay the answers of the miner with this hotkey"},
      {"ready-file", "FILE", "write '<address>@<endpoint>\\n<metrics port>\\n' once serving"},
  });
  return specs;
}

absl::StatusOr<MinerOptions> OptionsFromFlags(const cli::ParsedFlags& f) {
  MinerOptions o;
  o.wallet = cli::DaemonWalletFromFlags(f);
  o.chain_url = f.Get("chain-url");
  o.chain_url_file = f.Get("chain-url-file");
  o.register_hotkey = f.Has("register");
  o.public_endpoint = f.Get("public-endpoint");
  o.model.checkpoint_dir = f.Get("checkpoint");
  o.model.torchscript_path = f.Get("torchscript");
  o.model.force_cpu = f.Has("cpu");
  o.vocab_file = f.Get("vocab-file");
  o.ready_file = f.Get("ready-file");
  o.adversary.mode = f.Get("mode", o.adversary.mode);
  o.adversary.lookup_text = f.Get("lookup-text");
  o.adversary.cheap_model = f.Get("cheap-model");
  if (f.Has("claim-model")) {
    absl::StatusOr<std::string> h = FromHex(f.Get("claim-model"));
    if (!h.ok() || h->size() != o.adversary.claim_model.size()) {
      return cli::UsageError("--claim-model: must be 64 hex digits");
    }
    std::copy(h->begin(), h->end(), o.adversary.claim_model.begin());
  }
  int64_t delay_ms = 0;
  ServiceOptions& s = o.service;
  s.endpoint = f.Get("endpoint", s.endpoint);
  s.curve = !f.Has("no-curve");
  s.admission.require_permit = f.Has("require-permit");
  s.metrics_host = f.Get("metrics-host", s.metrics_host);
  s.data_dir = f.Get("data-dir", s.data_dir);
  s.request_log = f.Get("request-log", s.request_log);
  int64_t wait_us = s.batcher.max_wait.count(), timeout_ms = s.request_timeout.count(),
          refresh_ms = o.metagraph_refresh.count();
  for (absl::Status st : {
           cli::IntFlag<uint16_t>(f, "netuid", 0, 65535, &o.netuid),
           cli::IntFlag<uint64_t>(f, "max-burn", 0, UINT64_MAX, &o.max_burn),
           cli::IntFlag<uint32_t>(f, "torchscript-context", 1, 1'000'000, &o.model.torchscript_context),
           cli::IntFlag<size_t>(f, "max-batch", 1, 1024, &s.batcher.max_batch),
           cli::IntFlag<int64_t>(f, "max-wait-us", 0, 10'000'000, &wait_us),
           cli::IntFlag<size_t>(f, "max-queue-rows", 1, 1'000'000, &s.batcher.max_queue_rows),
           cli::IntFlag<int>(f, "workers", 1, 4096, &s.workers),
           cli::IntFlag<int64_t>(f, "request-timeout-ms", 1, 3'600'000, &timeout_ms),
           cli::IntFlag<size_t>(f, "max-prefixes", 1, protocol::kMaxPrefixes, &s.max_prefixes),
           cli::IntFlag<uint64_t>(f, "min-stake", 0, UINT64_MAX, &s.admission.min_stake),
           cli::RealFlag(f, "rate-per-s", 0, 1e9, &s.admission.rate_per_s),
           cli::RealFlag(f, "burst", 1, 1e9, &s.admission.burst),
           cli::IntFlag<int>(f, "metrics-port", 0, 65535, &s.metrics_port),
           cli::IntFlag<int64_t>(f, "metagraph-refresh-ms", 100, 3'600'000, &refresh_ms),
           cli::IntFlag<int64_t>(f, "delay-ms", 0, 3'600'000, &delay_ms),
           cli::RealFlag(f, "retemper", 0.01, 100, &o.adversary.retemper),
           cli::RealFlag(f, "perturb", 0, 10, &o.adversary.perturb),
           cli::RealFlag(f, "cheat-fraction", 0, 1, &o.adversary.cheat_fraction),
       }) {
    if (!st.ok()) return st;
  }
  s.batcher.max_wait = std::chrono::microseconds(wait_us);
  s.request_timeout = std::chrono::milliseconds(timeout_ms);
  o.metagraph_refresh = std::chrono::milliseconds(refresh_ms);
  o.adversary.delay = std::chrono::milliseconds(delay_ms);
  absl::Status mode = AdversaryFromFlags(f, o);
  if (!mode.ok()) return mode;
  if (o.chain_url.empty() && o.chain_url_file.empty()) {
    return cli::UsageError("set --chain-url or --chain-url-file");
  }
  return o;
}

int RunMinerCommand(int argc, char** argv) {
  cli::Command cmd{
      "agora-miner",
      "serve a model on an Agora subnet",
      "Loads the wallet's hotkey and the model, checks that the hotkey is registered\n"
      "on the subnet (or registers it with --register), announces the endpoint\n"
      "(serve_axon) and answers predict and generate requests until SIGTERM, then\n"
      "drains in-flight work and exits 0. See docs/MINER.md.\n"
      "\n"
      "--mode runs an adversary for tests and the devnet: random logits, a liar\n"
      "claiming --claim-model, a slow one (--delay-ms), a memorizer (never runs\n"
      "its model: it knows only prefixes whose continuation it has been shown), a\n"
      "copycat (no model at all: it relays the answers of the miner at --copy-uid\n"
      "or --copy-hotkey, found through the metagraph, signed with its own hotkey), a\n"
      "noisy copy (a copycat re-tempering what it relays, --retemper), a lookup\n"
      "(answers from --lookup-text, claiming a model nobody has), claim-registered\n"
      "(the lookup's answers, claiming --claim-model), greedy (temperature 0 for\n"
      "every generate request), early-stop (one-token completions) or a perturbed\n"
      "copy (the --checkpoint given, every weight nudged by --perturb, written to\n"
      "--data-dir and registered as its own model).",
      MinerFlagSpecs(),
      &RunFromFlags,
      {}};
  std::vector<std::string> args(argv + 1, argv + argc);
  return cli::Run(cmd, args, std::cout, std::cerr);
}

}  // namespace agora::miner
