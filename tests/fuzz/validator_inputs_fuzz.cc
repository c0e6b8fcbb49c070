// Fuzz target: every decoder of the validator and its gateway on arbitrary
// bytes. The first byte picks the decoder:
//   0  gateway completion request JSON (validator/completion_request.h)
//   1  chat completion request JSON
//   2  API keys TOML (validator/api_keys.h)
//   3  signed score record (validator/score_record.h)
//   4  receipt JSON (validator/receipt.h)
//   5  validator state file msgpack (validator/state.h)
//   6  a score record's content, signed here and audited (validator/
//      record_audit.h): every field an audit reads, published answers
//      (base64 of a PredictReply) included
//   7  a miner's PredictReply (msgpack) to the gateway's log-probability
//      request (validator/gateway_logprobs.h)
// Each must return a clean error or a value that satisfies its contract.
#include <cstdint>
#include <cstdlib>
#include <string>

#include <nlohmann/json.hpp>

#include "protocol/codec.h"
#include "protocol/task_messages.h"
#include "validator/api_keys.h"
#include "validator/completion_request.h"
#include "validator/gateway_logprobs.h"
#include "validator/holdout.h"
#include "common/crypto.h"
#include "validator/receipt.h"
#include "validator/record_audit.h"
#include "validator/score_record.h"
#include "validator/state.h"

namespace {
constexpr size_t kMaxInput = 64 * 1024;
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace agora::validator;
  if (size < 1 || size > kMaxInput) return 0;
  const std::string text(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 8) {
    case 0:
    case 1: {
      absl::StatusOr<CompletionAsk> a = ParseCompletionRequest(text, data[0] % 8 == 1, 64);
      if (!a.ok()) {
        if (a.status().code() != absl::StatusCode::kInvalidArgument) std::abort();
        return 0;
      }
      if (a->prompt.empty() || a->prompt.size() > agora::protocol::kMaxPromptBytes + 1024) std::abort();
      if (a->max_tokens > 64 || (a->max_tokens == 0 && !a->logprobs)) std::abort();
      if (a->prompts.empty() || a->prompts[0] != a->prompt ||
          a->prompts.size() > agora::protocol::kMaxPrefixes) {
        std::abort();
      }
      if (a->prompts.size() > 1 && a->max_tokens != 0) std::abort();
      if (a->logprobs.value_or(0) > kMaxTopLogprobs) std::abort();
      if (!(a->temperature >= 0) || !(a->top_p > 0 && a->top_p <= 1)) std::abort();
      if (a->stop.size() > agora::protocol::kMaxStopSequences) std::abort();
      return 0;
    }
    case 2: {
      absl::StatusOr<std::unique_ptr<ApiKeys>> k = ApiKeys::Parse(text, "fuzz.toml");
      if (!k.ok()) {
        if (k.status().code() != absl::StatusCode::kInvalidArgument) std::abort();
        return 0;
      }
      if ((*k)->size() == 0) std::abort();
      return 0;
    }
    case 3: {
      absl::StatusOr<nlohmann::json> r = VerifyRecord(text);
      if (r.ok() && !r->is_object()) std::abort();
      return 0;
    }
    case 4: {
      nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
      if (j.is_discarded()) return 0;
      (void)VerifyReceipt(j);
      (void)VerifyPredictReceipt(j);
      return 0;
    }
    case 7: {
      absl::StatusOr<agora::protocol::PredictReply> rep =
          agora::protocol::Decode<agora::protocol::PredictReply>(text, "PredictReply");
      if (!rep.ok()) return 0;
      agora::protocol::PredictRequest asked;
      asked.prefixes.assign(rep->distributions.size() + (size % 2), {1});
      absl::StatusOr<std::vector<std::vector<float>>> d = CollectDistributions({asked}, {*rep});
      if (!d.ok()) return 0;
      if (d->size() != asked.prefixes.size()) std::abort();
      for (const std::vector<float>& x : *d) {
        if (x.size() != kChallengeVocab) std::abort();
        for (float p : x) {
          if (!(p >= 0 && p <= 1)) std::abort();
        }
        (void)TopLogprobs(x, 20);
      }
      return 0;
    }
    case 6: {
      nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
      if (j.is_discarded()) return 0;
      static const agora::SigningKey key = agora::SigningKey::Generate();
      RecordAuditor audit;
      uint64_t step = 1;
      if (j.is_object() && j.contains("step") && j["step"].is_number_unsigned()) {
        step = j["step"].get<uint64_t>();
      }
      audit.Add(step, SignRecord(j, key));
      const AuditReport r = audit.report();
      if (r.records != 1 || r.signatures_verified > 1) std::abort();
      return 0;
    }
    case 5: {
      absl::StatusOr<ValidatorState> s = agora::protocol::Decode<ValidatorState>(text, "state");
      if (s.ok() && agora::protocol::Encode(*s) != text) std::abort();
      return 0;
    }
  }
  return 0;
}
