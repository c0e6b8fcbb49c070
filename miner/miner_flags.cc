#include "miner/miner_flags.h"

#include <csignal>
#include <iostream>
#include <string>
#include <type_traits>

#include <toml++/toml.h>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "common/file_util.h"

namespace agora::miner {
namespace {

std::atomic<bool> g_stop{false};
void OnSignal(int) { g_stop.store(true); }

template <typename T>
absl::Status Int(const cli::ParsedFlags& f, const char* name, T lo, T hi, T* out) {
  if (!f.Has(name)) return absl::OkStatus();
  // Parsed at 64 bits (SimpleAtoi takes no narrower types), then range-checked.
  std::conditional_t<std::is_signed_v<T>, int64_t, uint64_t> v{};
  if (!absl::SimpleAtoi(f.Get(name), &v) || v < lo || v > hi) {
    return cli::UsageError(absl::StrCat("--", name, " (", f.Get(name), "): must be an integer in [",
                                        lo, ", ", hi, "]"));
  }
  *out = static_cast<T>(v);
  return absl::OkStatus();
}

absl::Status Real(const cli::ParsedFlags& f, const char* name, double lo, double hi, double* out) {
  if (!f.Has(name)) return absl::OkStatus();
  double v = 0;
  if (!absl::SimpleAtod(f.Get(name), &v) || !(v >= lo && v <= hi)) {
    return cli::UsageError(absl::StrCat("--", name, " (", f.Get(name), "): must be a number in [",
                                        lo, ", ", hi, "]"));
  }
  *out = v;
  return absl::OkStatus();
}

absl::Status RunFromFlags(const cli::ParsedFlags& given, cli::Context& ctx) {
  cli::ParsedFlags flags = given;
  if (given.Has("config")) {
    absl::StatusOr<std::string> text = ReadFile(given.Get("config"), 1u << 20);
    if (!text.ok()) return text.status();
    absl::StatusOr<cli::ParsedFlags> merged = MergeConfig(given, *text, given.Get("config"));
    if (!merged.ok()) return merged.status();
    flags = std::move(*merged);
  }
  absl::StatusOr<MinerOptions> o = OptionsFromFlags(flags);
  if (!o.ok()) return o.status();
  std::signal(SIGINT, OnSignal);
  std::signal(SIGTERM, OnSignal);
  return Run(*o, &g_stop);
}

}  // namespace

std::vector<cli::FlagSpec> MinerFlagSpecs() {
  return {
      {"config", "FILE", "TOML file whose keys are these flags (key max_batch = --max-batch)"},
      {"wallet-dir", "DIR", "wallet root (default $AGORA_HOME/wallets or ~/.agora/wallets)"},
      {"wallet", "NAME", "wallet name (default 'default')"},
      {"hotkey", "NAME", "hotkey name in the wallet (default 'default')"},
      {"password-file", "FILE", "read the wallet password from FILE"},
      {"password-env", "VAR", "read the wallet password from $VAR (default AGORA_WALLET_PASSWORD)"},
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
      {"max-wait-us", "US", "longest a row waits for a fuller batch (default 2000)"},
      {"max-queue-rows", "N", "queued model rows before 'overloaded' (default 4096)"},
      {"workers", "N", "concurrently served requests (default 64)"},
      {"request-timeout-ms", "MS", "model work older than this is dropped (default 10000)"},
      {"max-prefixes", "N", "prefixes per predict request (default 64)"},
      {"min-stake", "UNITS", "least stake a caller needs (base units, default 0)"},
      {"require-permit", "", "serve only hotkeys with a validator permit"},
      {"rate-per-s", "R", "requests per second per hotkey (default 50; 0: no limit)"},
      {"burst", "N", "rate-limit burst per hotkey (default 100)"},
      {"metrics-host", "HOST", "metrics address (default 127.0.0.1)"},
      {"metrics-port", "PORT", "serve /metrics on PORT (0: any; default: off)"},
      {"metagraph-refresh-ms", "MS", "how often to re-read the metagraph (default 2000)"},
      {"no-curve", "", "no CurveZMQ encryption (clients and chain must match)"},
      {"ready-file", "FILE", "write '<address>@<endpoint>\\n<metrics port>\\n' once serving"},
  };
}

absl::StatusOr<cli::ParsedFlags> MergeConfig(const cli::ParsedFlags& flags,
                                             absl::string_view toml_text,
                                             absl::string_view source) {
  toml::table root;
  try {
    root = toml::parse(std::string_view(toml_text.data(), toml_text.size()),
                       std::string_view(source.data(), source.size()));
  } catch (const toml::parse_error& e) {
    return cli::UsageError(absl::StrCat(source, ":", e.source().begin.line, ": ",
                                        std::string(e.description())));
  }
  const std::vector<cli::FlagSpec> specs = MinerFlagSpecs();
  cli::ParsedFlags out = flags;
  for (auto&& [k, v] : root) {
    const std::string key(k.str());
    const std::string name = absl::StrReplaceAll(key, {{"_", "-"}});
    const cli::FlagSpec* spec = nullptr;
    for (const cli::FlagSpec& s : specs) {
      if (s.name == name && name != "config") spec = &s;
    }
    if (spec == nullptr) return cli::UsageError(absl::StrCat(source, ": unknown key '", key, "'"));
    if (flags.Has(name)) continue;  // the command line wins
    if (spec->value_name.empty()) {
      std::optional<bool> b = v.value_exact<bool>();
      if (!b) return cli::UsageError(absl::StrCat(source, ": ", key, " must be true or false"));
      if (*b) out.Set(name, "true");
    } else if (auto s = v.value_exact<std::string>()) {
      out.Set(name, *s);
    } else if (auto i = v.value_exact<int64_t>()) {
      out.Set(name, absl::StrCat(*i));
    } else if (auto d = v.value_exact<double>()) {
      out.Set(name, absl::StrCat(*d));
    } else {
      return cli::UsageError(absl::StrCat(source, ": ", key, " must be a string or a number"));
    }
  }
  return out;
}

absl::StatusOr<MinerOptions> OptionsFromFlags(const cli::ParsedFlags& f) {
  MinerOptions o;
  o.wallet_dir = f.Get("wallet-dir");
  o.wallet = f.Get("wallet", o.wallet);
  o.hotkey = f.Get("hotkey", o.hotkey);
  o.password.password_file = f.Get("password-file");
  o.password.env_var = f.Get("password-env", o.password.env_var);
  o.chain_url = f.Get("chain-url");
  o.chain_url_file = f.Get("chain-url-file");
  o.register_hotkey = f.Has("register");
  o.public_endpoint = f.Get("public-endpoint");
  o.model.checkpoint_dir = f.Get("checkpoint");
  o.model.torchscript_path = f.Get("torchscript");
  o.model.force_cpu = f.Has("cpu");
  o.vocab_file = f.Get("vocab-file");
  o.ready_file = f.Get("ready-file");
  ServiceOptions& s = o.service;
  s.endpoint = f.Get("endpoint", s.endpoint);
  s.curve = !f.Has("no-curve");
  s.admission.require_permit = f.Has("require-permit");
  s.metrics_host = f.Get("metrics-host", s.metrics_host);
  int64_t wait_us = s.batcher.max_wait.count(), timeout_ms = s.request_timeout.count(),
          refresh_ms = o.metagraph_refresh.count();
  for (absl::Status st : {
           Int<uint16_t>(f, "netuid", 0, 65535, &o.netuid),
           Int<uint64_t>(f, "max-burn", 0, UINT64_MAX, &o.max_burn),
           Int<uint32_t>(f, "torchscript-context", 1, 1'000'000, &o.model.torchscript_context),
           Int<size_t>(f, "max-batch", 1, 1024, &s.batcher.max_batch),
           Int<int64_t>(f, "max-wait-us", 0, 10'000'000, &wait_us),
           Int<size_t>(f, "max-queue-rows", 1, 1'000'000, &s.batcher.max_queue_rows),
           Int<int>(f, "workers", 1, 4096, &s.workers),
           Int<int64_t>(f, "request-timeout-ms", 1, 3'600'000, &timeout_ms),
           Int<size_t>(f, "max-prefixes", 1, protocol::kMaxPrefixes, &s.max_prefixes),
           Int<uint64_t>(f, "min-stake", 0, UINT64_MAX, &s.admission.min_stake),
           Real(f, "rate-per-s", 0, 1e9, &s.admission.rate_per_s),
           Real(f, "burst", 1, 1e9, &s.admission.burst),
           Int<int>(f, "metrics-port", 0, 65535, &s.metrics_port),
           Int<int64_t>(f, "metagraph-refresh-ms", 100, 3'600'000, &refresh_ms),
       }) {
    if (!st.ok()) return st;
  }
  s.batcher.max_wait = std::chrono::microseconds(wait_us);
  s.request_timeout = std::chrono::milliseconds(timeout_ms);
  o.metagraph_refresh = std::chrono::milliseconds(refresh_ms);
  if (o.model.checkpoint_dir.empty() == o.model.torchscript_path.empty()) {
    return cli::UsageError("set exactly one of --checkpoint and --torchscript");
  }
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
      "drains in-flight work and exits 0. See docs/MINER.md.",
      MinerFlagSpecs(),
      &RunFromFlags,
      {}};
  std::vector<std::string> args(argv + 1, argv + argc);
  return cli::Run(cmd, args, std::cout, std::cerr);
}

}  // namespace agora::miner
