#include "validator/gateway_history.h"

#include <algorithm>
#include <cmath>

#include <nlohmann/json.hpp>

namespace agora::validator {
namespace {

using json = nlohmann::json;

// Nearest-rank percentile of sorted, non-empty `v`.
double Percentile(const std::vector<double>& v, double q) {
  const size_t rank = static_cast<size_t>(std::ceil(q * static_cast<double>(v.size())));
  return v[std::clamp<size_t>(rank, 1, v.size()) - 1];
}

std::string Serialize(const HistoryPoint& p) {
  json uids = json::array(), incentive = json::array(), emission = json::array();
  json validators = json::array();
  const size_t n = std::min(p.neurons.size(), kMaxHistoryNeurons);
  for (size_t i = 0; i < n; ++i) {
    const HistoryNeuron& x = p.neurons[i];
    uids.push_back(x.uid);
    incentive.push_back(x.incentive);
    emission.push_back(x.emission);
    if (x.validator_permit) validators.push_back({{"uid", x.uid}, {"validator_trust", x.validator_trust}});
  }
  json latency = {{"count", p.latency.count}, {"p50_ms", nullptr}, {"p99_ms", nullptr}};
  if (p.latency.count > 0) {
    latency["p50_ms"] = p.latency.p50_ms;
    latency["p99_ms"] = p.latency.p99_ms;
  }
  return json{{"block", p.block},         {"epoch", p.epoch},         {"step", p.step},
              {"time_ms", p.time_ms},     {"uids", uids},             {"incentive", incentive},
              {"emission", emission},     {"validators", validators}, {"latency", latency}}
      .dump();
}

}  // namespace

void LatencyWindow::Add(double ms) {
  if (!std::isfinite(ms)) return;
  ++seen_;
  if (samples_.size() < kLatencySamples) {
    samples_.push_back(ms);
    return;
  }
  // Algorithm R: the new sample replaces a random one with chance k/seen.
  rng_ ^= rng_ << 13;
  rng_ ^= rng_ >> 7;
  rng_ ^= rng_ << 17;
  const uint64_t j = rng_ % seen_;
  if (j < samples_.size()) samples_[j] = ms;
}

LatencySummary LatencyWindow::Take() {
  LatencySummary s;
  s.count = seen_;
  if (!samples_.empty()) {
    std::sort(samples_.begin(), samples_.end());
    s.p50_ms = Percentile(samples_, 0.50);
    s.p99_ms = Percentile(samples_, 0.99);
  }
  samples_.clear();
  seen_ = 0;
  return s;
}

History::History(size_t capacity) : capacity_(std::max<size_t>(capacity, 1)) {
  json_ = json{{"capacity", capacity_}, {"points", json::array()}}.dump();
}

bool History::Add(const HistoryPoint& point) {
  if (!points_.empty() && points_.back().block == point.block) return false;
  points_.push_back(Stored{point.block, Serialize(point)});
  while (points_.size() > capacity_) points_.pop_front();
  // Joined from the stored points: each is serialized once, not every step.
  size_t bytes = 64;
  for (const Stored& s : points_) bytes += s.json.size() + 1;
  json_.clear();
  json_.reserve(bytes);
  json_ += "{\"capacity\":" + std::to_string(capacity_) + ",\"points\":[";
  for (size_t i = 0; i < points_.size(); ++i) {
    if (i > 0) json_ += ',';
    json_ += points_[i].json;
  }
  json_ += "]}";
  return true;
}

}  // namespace agora::validator
