// The body of a gateway completion request (POST /v1/completions or
// /v1/chat/completions), OpenAI-style JSON, checked field by field before
// any miner is asked. Pure; fuzzed (tests/fuzz/validator_inputs_fuzz.cc).
#ifndef AGORA_VALIDATOR_COMPLETION_REQUEST_H_
#define AGORA_VALIDATOR_COMPLETION_REQUEST_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace agora::validator {

struct CompletionAsk {
  bool chat = false;
  std::string prompt;       // chat: "role: content\n" per message, then "assistant:"
  uint32_t max_tokens = 16; // default; at most the key's limit
  float temperature = 1.0f;
  float top_p = 1.0f;
  uint64_t seed = 0;
  std::vector<std::string> stop;
  bool stream = false;
  std::string model;        // "" (any) or a model hash; "agora" means any
};

// InvalidArgument naming the field for anything malformed: not JSON, not an
// object, missing or empty prompt/messages, prompt over 16 KiB, max_tokens
// outside [1, max_tokens_limit], temperature outside [0, 100], top_p outside
// (0, 1], a negative seed, bad stop sequences, non-boolean stream.
absl::StatusOr<CompletionAsk> ParseCompletionRequest(absl::string_view body, bool chat,
                                                     uint32_t max_tokens_limit);

}  // namespace agora::validator

#endif  // AGORA_VALIDATOR_COMPLETION_REQUEST_H_
