// Log-probabilities for gateway answers (OpenAI's "logprobs", "top_logprobs",
// "echo"): which next-token distributions to ask miners for, and the JSON
// made of them (docs/GATEWAY.md "Log-probabilities").
//
// They are asked with PredictRequests, the message validators' predict
// challenges use: the distribution after each prefix, full form (top_k 0).
// Tokens are bytes (the byte-level tokenizer every scored model uses,
// kChallengeVocab), so the gateway cuts prefixes itself.
//
//   echo:          a prompt of L bytes asks the positions after its first
//                  1 .. L-1 bytes (its first token has no log-probability);
//   next token:    max_tokens 0 without echo asks the position after each
//                  whole prompt (an Agora extension: a list of prompts is
//                  one request, shaped like a predict challenge);
//   alternatives:  N >= 1 for a completion of n tokens asks the positions
//                  after the prompt and its first 0 .. n-1 tokens.
//
// Pure functions; fuzzed with the gateway's inputs.
#ifndef AGORA_VALIDATOR_GATEWAY_LOGPROBS_H_
#define AGORA_VALIDATOR_GATEWAY_LOGPROBS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/status/statusor.h"
#include "protocol/task_messages.h"

namespace agora::validator {

// A prompt's (or completion's) bytes as token ids.
std::vector<uint32_t> ByteTokens(const std::string& text);

// The prefixes of `tokens` of lengths [from, to), in order.
std::vector<std::vector<uint32_t>> PrefixesOf(const std::vector<uint32_t>& tokens, size_t from,
                                              size_t to);

// `prefixes` as PredictRequests of at most protocol::kMaxPrefixes each, full
// distributions (top_k 0), in order.
std::vector<protocol::PredictRequest> PredictChunks(const std::vector<std::vector<uint32_t>>& prefixes);

// The distributions of replies to PredictChunks(prefixes), concatenated, as
// probabilities over the byte vocabulary. InvalidArgument naming the problem
// (the answer is then not acceptable): a reply missing, of another
// vocabulary, not one distribution per prefix, malformed (CheckShape), or a
// probability that is NaN, negative or above 1.
absl::StatusOr<std::vector<std::vector<float>>> CollectDistributions(
    const std::vector<protocol::PredictRequest>& asked,
    const std::vector<protocol::PredictReply>& replies);

// One token of an answer with its log-probabilities.
struct TokenLogprob {
  std::string token;                 // its bytes (ShownToken in JSON)
  std::optional<double> logprob;     // none for a prompt's first token
  // The N most likely tokens at its position, most likely first (ties: lower
  // id first); none when N is 0 or the position was not asked.
  std::optional<std::vector<std::pair<std::string, double>>> top;
};

// A token as JSON shows it: its bytes when they are ASCII, otherwise
// OpenAI's "bytes:\xNN..." (a lone byte of a multi-byte character is not
// text, and two such bytes must not show as the same key).
std::string ShownToken(const std::string& bytes);

// log(p), floored at log(1e-30) so that a zero probability stays a JSON number.
double LogProb(double p);

// The N most likely tokens of `dist` (their bytes) with their log-probabilities.
std::vector<std::pair<std::string, double>> TopLogprobs(const std::vector<float>& dist, uint32_t n);

// OpenAI's completions form: {"tokens", "token_logprobs", "top_logprobs",
// "text_offset"}, offsets counted from `offset0`.
nlohmann::json CompletionLogprobsJson(const std::vector<TokenLogprob>& tokens, size_t offset0);

// OpenAI's chat form: {"content": [{"token", "logprob", "bytes", "top_logprobs"}]}.
nlohmann::json ChatLogprobsJson(const std::vector<TokenLogprob>& tokens);

}  // namespace agora::validator

#endif  // AGORA_VALIDATOR_GATEWAY_LOGPROBS_H_
