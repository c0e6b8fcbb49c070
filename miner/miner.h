// The miner process: serves a model's answers (predict, generate) over the
// signed ZeroMQ transport, behind admission control, with dynamic batching
// and Prometheus metrics. miner/main.cc is a thin shell over Run().
//
//   MinerService  model + tokenizer + batcher + admission + server + metrics,
//                 with no wallet or chain: benchmarks and tests drive it
//                 directly (admission is fed through admission().Update()).
//   Run()         the whole miner: loads the hotkey from the wallet and the
//                 model (a copycat has none: it relays the miner it copies,
//                 miner/copycat.h, once that miner answers), checks the hotkey is registered on the subnet (or
//                 registers it with --register, saying what it burns),
//                 announces the endpoint (serve_axon), keeps admission in
//                 step with the metagraph, serves until *stop, then drains.
//
// Thread-safety: MinerService's Start/Stop are for one owner thread;
// Snapshot() may be called from any thread.
#ifndef AGORA_MINER_MINER_H_
#define AGORA_MINER_MINER_H_

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "common/crypto.h"
#include "common/daemon_wallet.h"
#include "miner/request_log.h"
#include "miner/admission.h"
#include "miner/adversary.h"
#include "miner/batcher.h"
#include "miner/handlers.h"
#include "miner/metrics.h"
#include "miner/model.h"
#include "miner/tokenizer.h"
#include "protocol/replay_window.h"
#include "protocol/zmq_server.h"

namespace agora::miner {

struct ServiceOptions {
  std::string endpoint = "tcp://127.0.0.1:9100";  // where the ROUTER binds
  int workers = 64;          // handler threads: one per concurrently served request
  size_t server_queue = 1024;  // requests waiting for a worker before "overloaded"
  BatcherOptions batcher;
  AdmissionOptions admission;
  size_t max_prefixes = 64;  // per PredictRequest (at most protocol::kMaxPrefixes)
  std::chrono::milliseconds request_timeout{10'000};  // model work past it is dropped
  bool curve = true;
  std::string metrics_host = "127.0.0.1";
  int metrics_port = -1;     // -1: no metrics endpoint; 0: any free port
  // Where the replay window persists (<data_dir>/replay.log), so a restarted
  // miner still refuses envelopes it answered before. Empty: memory only
  // (a replay within the skew window of a restart is then accepted).
  std::string data_dir;
  // Appends one JSON line per task request (miner/request_log.h). Empty: none.
  std::string request_log;
  // Adversaries greedy and early-stop (miner/adversary.h): applied to each
  // generate request before it is served. Empty for an honest miner.
  std::function<void(protocol::GenerateRequest&)> generate_rewrite;
  // Adversary lazy-logprobs (miner/adversary.h): predict requests answered
  // with flat distributions, without the model. Empty for an honest miner.
  std::function<bool(const protocol::PredictRequest&)> predict_shortcut;
};

class MinerService {
 public:
  // `model`, `tokenizer` are owned; the tokenizer's vocabulary must not be
  // larger than the model's (checked in Start()).
  MinerService(std::unique_ptr<ModelBackend> model, std::unique_ptr<Tokenizer> tokenizer,
               std::shared_ptr<const SigningKey> key, ServiceOptions options);
  ~MinerService();  // Stop()

  // Binds the server (and metrics), starts serving. Errors of
  // protocol::Server::Start and MetricsHttp::Start.
  absl::Status Start();
  // Hands `package` (protocol/model_package.h) to validators that fetch the
  // model `hash` (ModelFetchRequest; senders without a validator permit are
  // refused as unregistered). Before Start(); without it, fetches are refused.
  void ServePackage(const Hash256& hash, std::string package);
  // Stops taking requests, answers the queued ones, stops the model. Idempotent.
  void Stop();

  const std::string& endpoint() const { return server_->endpoint(); }
  int metrics_port() const { return metrics_.port(); }
  Admission& admission() { return admission_; }
  ModelBackend& model() { return *model_; }
  MetricsSnapshot Snapshot();

 private:
  TaskEnv Env(const protocol::RequestContext& ctx);
  protocol::GenerateRequest Rewritten(const protocol::GenerateRequest& req) const;

  std::unique_ptr<ModelBackend> model_;
  std::unique_ptr<Tokenizer> tokenizer_;
  std::shared_ptr<const SigningKey> key_;
  ServiceOptions options_;
  Admission admission_;
  Hash256 package_hash_{};
  std::string package_;  // empty: nothing to hand over
  std::unique_ptr<protocol::NonceWindow> replay_;
  std::unique_ptr<RequestLog> request_log_;
  std::unique_ptr<Batcher> batcher_;
  std::unique_ptr<protocol::Server> server_;
  MetricsHttp metrics_;
  absl::Mutex mu_;
  TaskCounters tasks_ ABSL_GUARDED_BY(mu_);
  uint64_t last_tokens_ ABSL_GUARDED_BY(mu_) = 0;
  Clock::time_point last_scrape_ ABSL_GUARDED_BY(mu_) = Clock::now();
  bool started_ = false;
  bool stopped_ = false;
};

struct MinerOptions {
  // Identity: the wallet's hotkey signs every reply.
  DaemonWalletSpec wallet;
  // The chain and subnet.
  std::string chain_url;        // "<address>@tcp://host:port"; or:
  std::string chain_url_file;   // a file holding it (<chain data dir>/chain.url)
  uint16_t netuid = 1;
  bool register_hotkey = false; // register (burning the current cost) if not registered
  uint64_t max_burn = 0;        // refuse to burn more (0: the subnet's burn as shown)
  std::string public_endpoint;  // announced with serve_axon; empty: the bound endpoint
  std::chrono::milliseconds metagraph_refresh{2'000};
  // The model.
  ModelSpec model;
  AdversaryOptions adversary;   // devnet and tests: a dishonest mode (miner/adversary.h)
  std::string vocab_file;       // empty: byte-level tokenizer
  ServiceOptions service;
  std::string ready_file;       // if set: written (atomically) once serving
};

// Runs the miner until `*stop` becomes true (checked every 100 ms), then
// drains in-flight work and returns OK. Errors name what failed: wallet,
// chain, registration, model, binding.
absl::Status Run(const MinerOptions& options, const std::atomic<bool>* stop);

}  // namespace agora::miner

#endif  // AGORA_MINER_MINER_H_
