// The miner's /metrics: counters in Prometheus text format (version 0.0.4),
// rendered from snapshots of the server, batcher and admission counters, and
// served over HTTP (cpp-httplib) on a configurable address.
//
// Thread-safety: RenderPrometheus is pure. MetricsHttp's methods are for one
// owner thread; the render callback runs on httplib's threads.
#ifndef AGORA_MINER_METRICS_H_
#define AGORA_MINER_METRICS_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "miner/admission.h"
#include "miner/batcher.h"
#include "protocol/zmq_server.h"

namespace agora::miner {

// Task counters kept by the miner itself.
struct TaskCounters {
  uint64_t predict_ok = 0;
  uint64_t predict_refused = 0;
  uint64_t generate_ok = 0;
  uint64_t generate_refused = 0;
  uint64_t generated_tokens = 0;
};

struct MetricsSnapshot {
  protocol::ServerStats server;
  BatcherStats batcher;
  AdmissionStats admission;
  TaskCounters tasks;
  double tokens_per_s = 0;  // model tokens (forward rows' tokens) per second, recent
  std::string model_hash;   // hex
};

std::string RenderPrometheus(const MetricsSnapshot& s);

class MetricsHttp {
 public:
  MetricsHttp();
  ~MetricsHttp();  // Stop()
  // Serves GET /metrics on host:port (port 0: pick one; port() says which).
  // Unavailable if the address cannot be bound.
  absl::Status Start(const std::string& host, int port, std::function<std::string()> render);
  void Stop();
  int port() const { return port_; }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::thread thread_;
  int port_ = 0;
};

}  // namespace agora::miner

#endif  // AGORA_MINER_METRICS_H_
