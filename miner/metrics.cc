#include "miner/metrics.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "protocol/refusal.h"

namespace agora::miner {
namespace {

void Metric(std::string* out, const char* name, const char* type, const char* help) {
  absl::StrAppend(out, "# HELP ", name, " ", help, "\n# TYPE ", name, " ", type, "\n");
}

}  // namespace

std::string RenderPrometheus(const MetricsSnapshot& s) {
  std::string o;
  Metric(&o, "agora_miner_info", "gauge", "The served model.");
  absl::StrAppend(&o, "agora_miner_info{model_hash=\"", s.model_hash, "\"} 1\n");

  Metric(&o, "agora_miner_frames_received_total", "counter", "Frames read by the transport.");
  absl::StrAppend(&o, "agora_miner_frames_received_total ", s.server.received, "\n");
  Metric(&o, "agora_miner_requests_total", "counter", "Task requests answered or refused by the handler.");
  absl::StrAppend(&o, "agora_miner_requests_total{task=\"predict\",outcome=\"ok\"} ", s.tasks.predict_ok, "\n",
                  "agora_miner_requests_total{task=\"predict\",outcome=\"refused\"} ", s.tasks.predict_refused, "\n",
                  "agora_miner_requests_total{task=\"generate\",outcome=\"ok\"} ", s.tasks.generate_ok, "\n",
                  "agora_miner_requests_total{task=\"generate\",outcome=\"refused\"} ", s.tasks.generate_refused, "\n");
  Metric(&o, "agora_miner_refusals_total", "counter", "Refused requests by reason.");
  for (size_t r = 0; r < protocol::kReasonCount; ++r) {
    absl::StrAppend(&o, "agora_miner_refusals_total{reason=\"",
                    protocol::ReasonString(static_cast<protocol::Reason>(r)), "\"} ",
                    s.server.refused[r], "\n");
  }
  Metric(&o, "agora_miner_admission_total", "counter", "Admission decisions.");
  absl::StrAppend(&o, "agora_miner_admission_total{outcome=\"admitted\"} ", s.admission.admitted, "\n",
                  "agora_miner_admission_total{outcome=\"unregistered\"} ", s.admission.unregistered, "\n",
                  "agora_miner_admission_total{outcome=\"rate-limited\"} ", s.admission.rate_limited, "\n");
  Metric(&o, "agora_miner_registered_hotkeys", "gauge", "Hotkeys known from the metagraph.");
  absl::StrAppend(&o, "agora_miner_registered_hotkeys ", s.admission.members, "\n");
  Metric(&o, "agora_miner_queue_depth", "gauge", "Requests waiting for a worker, and rows waiting for the model.");
  absl::StrAppend(&o, "agora_miner_queue_depth{queue=\"requests\"} ", s.server.queue_depth, "\n",
                  "agora_miner_queue_depth{queue=\"model_rows\"} ", s.batcher.queue_rows, "\n");
  Metric(&o, "agora_miner_batch_size", "histogram", "Rows per forward pass.");
  for (size_t b = 0; b < kBatchSizeBuckets; ++b) {
    absl::StrAppend(&o, "agora_miner_batch_size_bucket{le=\"", uint64_t{1} << b, "\"} ",
                    s.batcher.batch_size_le[b], "\n");
  }
  absl::StrAppend(&o, "agora_miner_batch_size_bucket{le=\"+Inf\"} ", s.batcher.batches, "\n",
                  "agora_miner_batch_size_sum ", s.batcher.rows, "\n",
                  "agora_miner_batch_size_count ", s.batcher.batches, "\n");
  Metric(&o, "agora_miner_rows_dropped_total", "counter", "Model rows not computed.");
  absl::StrAppend(&o, "agora_miner_rows_dropped_total{why=\"deadline\"} ", s.batcher.expired, "\n",
                  "agora_miner_rows_dropped_total{why=\"evicted\"} ", s.batcher.evicted, "\n",
                  "agora_miner_rows_dropped_total{why=\"failed\"} ", s.batcher.failed, "\n");
  Metric(&o, "agora_miner_model_tokens_total", "counter", "Context tokens of the rows the model answered (tokens whose keys and values came from the cache count too).");
  absl::StrAppend(&o, "agora_miner_model_tokens_total ", s.batcher.tokens, "\n");
  Metric(&o, "agora_miner_generated_tokens_total", "counter", "Tokens generated.");
  absl::StrAppend(&o, "agora_miner_generated_tokens_total ", s.tasks.generated_tokens, "\n");
  Metric(&o, "agora_miner_forward_seconds_total", "counter", "Time spent in the model.");
  absl::StrAppend(&o, absl::StrFormat("agora_miner_forward_seconds_total %.6f\n", s.batcher.forward_seconds));
  Metric(&o, "agora_miner_tokens_per_second", "gauge", "Model tokens per second since the last scrape.");
  absl::StrAppend(&o, absl::StrFormat("agora_miner_tokens_per_second %.1f\n", s.tokens_per_s));
  return o;
}

}  // namespace agora::miner
