// The request log (agora-miner --request-log FILE): one JSON line per task
// request, with what a miner can tell about it without reading its text:
// sender, kind, which fields are set, sizes. It shows an operator what its
// miner is asked, and it is how the tests show that validators' challenges
// and the gateway's customers' requests reach a miner in the same shapes
// (docs/VALIDATOR.md "One shape for tests and customers").
//
// Thread-safe.
#ifndef AGORA_MINER_REQUEST_LOG_H_
#define AGORA_MINER_REQUEST_LOG_H_

#include <cstdio>
#include <memory>
#include <mutex>
#include <string>

#include <nlohmann/json.hpp>

#include "absl/status/statusor.h"
#include "common/crypto.h"
#include "protocol/task_messages.h"

namespace agora::miner {

// Whether there are several prefixes and each is a prefix of the longest:
// the prefixes of one text (an echo's, a completion's log-probabilities).
bool NestedPrefixes(const protocol::PredictRequest& r);

// {"kind": "predict", "fields": ["prefixes"(, "top_k")], "nested": b,
//  "prefixes": n, "tokens": [length of each prefix]}; "nested" says every
// prefix is a prefix of the longest (an echo's shape).
nlohmann::json RequestShape(const protocol::PredictRequest& r);
// {"kind": "generate", "fields": [the fields whose values are not the
//  defaults: "prompt" or "prompt_tokens", "max_tokens", "temperature",
//  "top_k", "top_p", "seed", "stop", "stream"], "prompt_bytes" or
//  "prompt_tokens": n, "max_tokens": n}
nlohmann::json RequestShape(const protocol::GenerateRequest& r);

class RequestLog {
 public:
  // Appends to `path` (created 0644 if missing).
  static absl::StatusOr<std::unique_ptr<RequestLog>> Open(const std::string& path);
  ~RequestLog();
  RequestLog(const RequestLog&) = delete;
  RequestLog& operator=(const RequestLog&) = delete;

  // Writes {"time_ms", "sender", ...shape} and flushes; a failed write is
  // dropped (the log never stops the miner).
  void Append(const PublicKey& sender, nlohmann::json shape);

 private:
  explicit RequestLog(std::FILE* f) : f_(f) {}
  std::mutex mu_;
  std::FILE* f_;
};

}  // namespace agora::miner

#endif  // AGORA_MINER_REQUEST_LOG_H_
