// The gateway's history for its dashboard (docs/GATEWAY.md, "Dashboard"):
// a bounded ring of metagraph snapshots over time plus the gateway's request
// latency in each interval, served as JSON at GET /history.
//
// Memory is bounded whatever clients or the chain do: at most `capacity`
// points of at most kMaxHistoryNeurons neurons each, and at most
// kLatencySamples latencies waiting for the next point. Nothing a request
// sends is stored.
//
// Thread-safety: none; the gateway guards both classes with its mutex.
#ifndef AGORA_VALIDATOR_GATEWAY_HISTORY_H_
#define AGORA_VALIDATOR_GATEWAY_HISTORY_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <vector>

namespace agora::validator {

inline constexpr size_t kMaxHistoryNeurons = 256;  // the chain's default max_allowed_uids
inline constexpr size_t kLatencySamples = 4096;    // per interval; more are sampled

// One neuron at one point, as the chain reports it.
struct HistoryNeuron {
  uint16_t uid = 0;
  double incentive = 0;        // share, [0, 1]
  uint64_t emission = 0;       // base units at the last epoch
  bool validator_permit = false;
  double validator_trust = 0;  // [0, 1]: how far the validator's weights agree with consensus
};

// Gateway request latency over one interval (completions answered in it).
struct LatencySummary {
  uint64_t count = 0;  // 0: no completion was answered; the percentiles are then absent
  double p50_ms = 0;
  double p99_ms = 0;
};

struct HistoryPoint {
  uint64_t block = 0;
  uint64_t epoch = 0;
  uint64_t step = 0;     // the validator's step
  uint64_t time_ms = 0;  // Unix milliseconds
  std::vector<HistoryNeuron> neurons;
  LatencySummary latency;
};

// Latencies since the last Take(). Beyond kLatencySamples in one interval it
// keeps a uniform sample (reservoir sampling), so the percentiles stay
// unbiased while memory stays fixed.
class LatencyWindow {
 public:
  void Add(double ms);
  // The summary of the interval; starts the next one.
  LatencySummary Take();

 private:
  std::vector<double> samples_;
  uint64_t seen_ = 0;
  uint64_t rng_ = 0x9e3779b97f4a7c15ull;
};

class History {
 public:
  explicit History(size_t capacity = 300);

  // Appends `point` unless its block is the last point's (nothing on chain
  // changed; the caller keeps its latencies for the next point). Returns
  // whether it was appended. Drops the oldest beyond capacity.
  bool Add(const HistoryPoint& point);
  size_t size() const { return points_.size(); }
  std::optional<uint64_t> last_block() const {
    return points_.empty() ? std::nullopt : std::optional<uint64_t>(points_.back().block);
  }
  // {"capacity", "points": [{"block", "epoch", "step", "time_ms", "uids",
  //  "incentive", "emission", "validators": [{"uid", "validator_trust"}],
  //  "latency": {"count", "p50_ms", "p99_ms"}}]}, oldest first
  // (docs/GATEWAY.md). Built by Add, so serving it costs a copy.
  const std::string& Json() const { return json_; }

 private:
  struct Stored {
    uint64_t block;
    std::string json;  // the point, serialized once
  };
  size_t capacity_;
  std::deque<Stored> points_;
  std::string json_;
};

}  // namespace agora::validator

#endif  // AGORA_VALIDATOR_GATEWAY_HISTORY_H_
