// The body of a gateway completion request (POST /v1/completions or
// /v1/chat/completions), OpenAI-style JSON, checked field by field before
// any miner is asked. Pure; fuzzed (tests/fuzz/validator_inputs_fuzz.cc).
#ifndef AGORA_VALIDATOR_COMPLETION_REQUEST_H_
#define AGORA_VALIDATOR_COMPLETION_REQUEST_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace agora::validator {

// Most log-probabilities ("logprobs", "top_logprobs") listed per position.
inline constexpr uint32_t kMaxTopLogprobs = 20;
// Most positions one request may ask log-probabilities for (echo, the
// generated tokens' alternatives, next-token distributions).
inline constexpr uint32_t kMaxLogprobPositions = 1024;

struct CompletionAsk {
  bool chat = false;
  std::string prompt;       // chat: "role: content\n" per message, then "assistant:"
  // Completions: "prompt" may be a list of strings, only with max_tokens 0;
  // prompts[0] == prompt.
  std::vector<std::string> prompts;
  uint32_t max_tokens = 16; // default; at most the key's limit. 0: log-probabilities only
  // Log-probabilities: completions' integer "logprobs" N, chat's "logprobs":
  // true with "top_logprobs" N: each token's log-probability and the N most
  // likely tokens at its position. Unset: none.
  std::optional<uint32_t> logprobs;
  bool echo = false;        // completions: the prompt and its tokens' log-probabilities too
  float temperature = 1.0f;
  float top_p = 1.0f;
  // The sampler's seed; unset: the gateway draws one, as a challenge does.
  std::optional<uint64_t> seed;
  std::vector<std::string> stop;
  bool stream = false;
  std::string model;        // "" (any) or a model hash; "agora" means any
};

// InvalidArgument naming the field for anything malformed: not JSON, not an
// object, missing or empty prompt/messages, prompts over 16 KiB in all (or a
// list of prompts with max_tokens > 0, or over 64 of them), max_tokens
// outside [1, max_tokens_limit] (0 only with logprobs), temperature outside
// [0, 100], top_p outside (0, 1], a negative seed, bad stop sequences,
// non-boolean stream or echo, logprobs outside [0, 20] (chat: not boolean,
// top_logprobs outside [0, 20] or without logprobs), logprobs with stream,
// max_tokens 0 without echo and with logprobs 0 (nothing to answer).
absl::StatusOr<CompletionAsk> ParseCompletionRequest(absl::string_view body, bool chat,
                                                     uint32_t max_tokens_limit);

}  // namespace agora::validator

#endif  // AGORA_VALIDATOR_COMPLETION_REQUEST_H_
