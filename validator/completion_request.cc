#include "validator/completion_request.h"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "protocol/task_messages.h"

namespace agora::validator {

using json = nlohmann::json;

absl::StatusOr<CompletionAsk> ParseCompletionRequest(absl::string_view text, bool chat,
                                                     uint32_t max_tokens_limit) {
  auto bad = [](const std::string& message) { return absl::InvalidArgumentError(message); };
  json body = json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded()) return bad("body is not valid JSON");
  if (!body.is_object()) return bad("body must be a JSON object");
  CompletionAsk a;
  a.chat = chat;
  if (chat) {
    if (!body.contains("messages") || !body["messages"].is_array() || body["messages"].empty()) {
      return bad("messages: required, a non-empty array");
    }
    for (const json& m : body["messages"]) {
      if (!m.is_object() || !m.contains("role") || !m["role"].is_string() ||
          !m.contains("content") || !m["content"].is_string()) {
        return bad("messages: each needs string role and content");
      }
      absl::StrAppend(&a.prompt, m["role"].get<std::string>(), ": ", m["content"].get<std::string>(), "\n");
    }
    a.prompt += "assistant:";
  } else {
    if (!body.contains("prompt")) return bad("prompt: required");
    if (!body["prompt"].is_string()) return bad("prompt: must be a string");
    a.prompt = body["prompt"].get<std::string>();
  }
  if (a.prompt.empty()) return bad("prompt: must not be empty");
  if (a.prompt.size() > protocol::kMaxPromptBytes) {
    return bad(absl::StrCat("prompt: ", a.prompt.size(), " bytes; limit ", protocol::kMaxPromptBytes));
  }
  if (body.contains("max_tokens")) {
    const json& m = body["max_tokens"];
    if (!m.is_number_integer() || m.get<int64_t>() < 1 || m.get<int64_t>() > max_tokens_limit) {
      return bad(absl::StrCat("max_tokens: must be an integer in [1, ", max_tokens_limit, "]"));
    }
    a.max_tokens = static_cast<uint32_t>(m.get<int64_t>());
  }
  a.max_tokens = std::min(a.max_tokens, max_tokens_limit);
  if (body.contains("temperature")) {
    const json& t = body["temperature"];
    if (!t.is_number() || !(t.get<double>() >= 0 && t.get<double>() <= protocol::kMaxTemperature)) {
      return bad(absl::StrCat("temperature: must be a number in [0, ", protocol::kMaxTemperature, "]"));
    }
    a.temperature = t.get<float>();
  }
  if (body.contains("top_p")) {
    const json& t = body["top_p"];
    if (!t.is_number() || !(t.get<double>() > 0 && t.get<double>() <= 1)) return bad("top_p: must be in (0, 1]");
    a.top_p = t.get<float>();
  }
  if (body.contains("seed")) {
    if (!body["seed"].is_number_unsigned()) return bad("seed: must be a non-negative integer");
    a.seed = body["seed"].get<uint64_t>();
  }
  if (body.contains("stop") && !body["stop"].is_null()) {
    const json& s = body["stop"];
    if (s.is_string()) {
      a.stop.push_back(s.get<std::string>());
    } else if (s.is_array()) {
      for (const json& x : s) {
        if (!x.is_string()) return bad("stop: must be a string or an array of strings");
        a.stop.push_back(x.get<std::string>());
      }
    } else {
      return bad("stop: must be a string or an array of strings");
    }
    if (a.stop.size() > protocol::kMaxStopSequences) return bad("stop: too many sequences");
    for (const std::string& x : a.stop) {
      if (x.empty() || x.size() > protocol::kMaxStopBytes) return bad("stop: each must be 1..64 bytes");
    }
  }
  if (body.contains("stream")) {
    if (!body["stream"].is_boolean()) return bad("stream: must be true or false");
    a.stream = body["stream"].get<bool>();
  }
  if (body.contains("model") && body["model"].is_string()) {
    const std::string m = body["model"].get<std::string>();
    if (m != "agora" && !m.empty()) a.model = m;
  } else if (body.contains("model") && !body["model"].is_null()) {
    return bad("model: must be a string");
  }
  return a;
}

}  // namespace agora::validator
