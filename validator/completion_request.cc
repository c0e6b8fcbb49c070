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
    const json& p = body["prompt"];
    if (p.is_string()) {
      a.prompts.push_back(p.get<std::string>());
    } else if (p.is_array() && !p.empty()) {
      if (p.size() > protocol::kMaxPrefixes) {
        return bad(absl::StrCat("prompt: ", p.size(), " prompts; limit ", protocol::kMaxPrefixes));
      }
      for (const json& x : p) {
        if (!x.is_string()) return bad("prompt: must be a string or a non-empty array of strings");
        a.prompts.push_back(x.get<std::string>());
      }
    } else {
      return bad("prompt: must be a string or a non-empty array of strings");
    }
    a.prompt = a.prompts[0];
  }
  if (chat) a.prompts = {a.prompt};
  size_t prompt_bytes = 0;
  for (const std::string& p : a.prompts) {
    if (p.empty()) return bad("prompt: must not be empty");
    prompt_bytes += p.size();
  }
  if (prompt_bytes > protocol::kMaxPromptBytes) {
    return bad(absl::StrCat("prompt: ", prompt_bytes, " bytes; limit ", protocol::kMaxPromptBytes));
  }
  // Log-probabilities: completions say "logprobs": N; chat says
  // "logprobs": true and "top_logprobs": N.
  auto top_count = [&](const char* field) -> absl::StatusOr<uint32_t> {
    const json& v = body[field];
    if (!v.is_number_integer() || v.get<int64_t>() < 0 || v.get<int64_t>() > kMaxTopLogprobs) {
      return bad(absl::StrCat(field, ": must be an integer in [0, ", kMaxTopLogprobs, "]"));
    }
    return static_cast<uint32_t>(v.get<int64_t>());
  };
  if (chat) {
    bool wanted = false;
    if (body.contains("logprobs") && !body["logprobs"].is_null()) {
      if (!body["logprobs"].is_boolean()) return bad("logprobs: must be true or false");
      wanted = body["logprobs"].get<bool>();
    }
    if (body.contains("top_logprobs") && !body["top_logprobs"].is_null()) {
      if (!wanted) return bad("top_logprobs: needs \"logprobs\": true");
      absl::StatusOr<uint32_t> n = top_count("top_logprobs");
      if (!n.ok()) return n.status();
      a.logprobs = *n;
    } else if (wanted) {
      a.logprobs = 0;
    }
  } else {
    if (body.contains("logprobs") && !body["logprobs"].is_null()) {
      absl::StatusOr<uint32_t> n = top_count("logprobs");
      if (!n.ok()) return n.status();
      a.logprobs = *n;
    }
    if (body.contains("echo") && !body["echo"].is_null()) {
      if (!body["echo"].is_boolean()) return bad("echo: must be true or false");
      a.echo = body["echo"].get<bool>();
    }
  }
  if (body.contains("max_tokens")) {
    const json& m = body["max_tokens"];
    const int64_t least = a.logprobs ? 0 : 1;
    if (!m.is_number_integer() || m.get<int64_t>() < least || m.get<int64_t>() > max_tokens_limit) {
      return bad(absl::StrCat("max_tokens: must be an integer in [", least, ", ", max_tokens_limit,
                              "]", a.logprobs ? "" : " (0 only with logprobs)"));
    }
    a.max_tokens = static_cast<uint32_t>(m.get<int64_t>());
  }
  a.max_tokens = std::min(a.max_tokens, max_tokens_limit);
  if (a.prompts.size() > 1 && a.max_tokens > 0) {
    return bad("prompt: a list of prompts needs max_tokens 0 (log-probabilities only)");
  }
  if (a.max_tokens == 0 && !a.echo && a.logprobs == 0u) {
    return bad("logprobs: max_tokens 0 without echo asks for the next token's N most likely; N must be >= 1");
  }
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
  if (a.stream && (a.logprobs || a.echo || a.max_tokens == 0)) {
    return bad("stream: not available with logprobs, echo or max_tokens 0");
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
