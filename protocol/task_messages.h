// Wire structs of the tasks miners serve (kinds kPredictRequest..kGenerateChunk,
// protocol/message_kind.h), each with its encoding beside its fields. Shared by
// miners (miner/handlers.h) and validators; plain vectors only, no tensors.
// Field names and order are part of the protocol (docs/PROTOCOL.md "Tasks").
//
// The limits below are what a miner accepts; a request over any of them is
// refused with "bad-request" naming the field. They bound the work a single
// request can ask for, so admission control (per request) bounds the work a
// peer can cause.
#ifndef AGORA_PROTOCOL_TASK_MESSAGES_H_
#define AGORA_PROTOCOL_TASK_MESSAGES_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "common/msgpack.h"

#include "common/crypto.h"

namespace agora::protocol {

// PredictRequest limits.
inline constexpr size_t kMaxPrefixes = 64;          // prefixes in one request
inline constexpr size_t kMaxPrefixTokens = 4096;    // tokens in one prefix
// Vocabularies up to this size get the full distribution; larger ones get top-k.
inline constexpr uint32_t kMaxFullDistributionVocab = 4096;
inline constexpr uint32_t kMaxTopK = 1024;
inline constexpr uint32_t kDefaultTopK = 64;        // when top-k is forced and top_k is 0

// GenerateRequest limits.
inline constexpr uint32_t kMaxGenerateTokens = 1024;
inline constexpr size_t kMaxPromptBytes = 16 * 1024;
inline constexpr size_t kMaxPromptTokens = 4096;
inline constexpr size_t kMaxStopSequences = 8;
inline constexpr size_t kMaxStopBytes = 64;
inline constexpr float kMaxTemperature = 100.0f;

// kPredictRequest: the next-token distribution after each prefix.
struct PredictRequest {
  std::vector<std::vector<uint32_t>> prefixes;  // token ids; each non-empty
  // 0: the full distribution when the vocabulary allows it (<= 4096), else
  // kDefaultTopK. k > 0: the k most likely tokens and the rest mass.
  uint32_t top_k = 0;
  MSGPACK_DEFINE_MAP(prefixes, top_k)
};

// One next-token distribution. Full form: `tokens` is empty and `probs` has
// vocab_size entries indexed by token id, `rest` is 0. Top-k form: `tokens`
// and `probs` list the k most likely tokens, most likely first, and `rest` is
// the probability mass of every token not listed.
struct TokenDistribution {
  std::vector<uint32_t> tokens;
  std::vector<float> probs;
  float rest = 0.0f;
  MSGPACK_DEFINE_MAP(tokens, probs, rest)
};

// kPredictReply: one distribution per prefix, in request order.
struct PredictReply {
  Hash256 model_hash{};  // content hash of the model that answered
  uint32_t vocab_size = 0;
  std::vector<TokenDistribution> distributions;
  uint64_t compute_us = 0;  // time from admission to the answer
  MSGPACK_DEFINE_MAP(model_hash, vocab_size, distributions, compute_us)
};

// kGenerateRequest: a completion of `prompt` (text, tokenized by the miner's
// tokenizer) or of `prompt_tokens` (ids); exactly one of the two is non-empty.
struct GenerateRequest {
  std::string prompt;
  std::vector<uint32_t> prompt_tokens;
  uint32_t max_tokens = 64;   // 1..kMaxGenerateTokens
  float temperature = 1.0f;   // 0: greedy; otherwise in (0, kMaxTemperature]
  uint32_t top_k = 0;         // 0: no top-k cut
  float top_p = 1.0f;         // (0, 1]; 1: no nucleus cut
  uint64_t seed = 0;          // same seed, prompt and model: same completion
  std::vector<std::string> stop;  // stop when the completion text ends with one
  bool stream = false;        // true: a signed GenerateChunk per token, then the GenerateReply
  MSGPACK_DEFINE_MAP(prompt, prompt_tokens, max_tokens, temperature, top_k, top_p, seed, stop,
                     stream)
};

// kGenerateReply: the whole completion.
struct GenerateReply {
  Hash256 model_hash{};
  uint32_t vocab_size = 0;
  uint32_t prompt_tokens = 0;     // prompt length in tokens, as the model saw it
  std::vector<uint32_t> tokens;   // completion token ids
  std::string text;               // their detokenized text (stop sequence included)
  // Natural-log probability of each token under the model (temperature 1,
  // before any top-k/top-p cut), so a validator can check it.
  std::vector<float> logprobs;
  std::string finish_reason;      // "length" or "stop"
  uint64_t first_token_us = 0;    // admission to first token
  uint64_t total_us = 0;          // admission to last token
  MSGPACK_DEFINE_MAP(model_hash, vocab_size, prompt_tokens, tokens, text, logprobs,
                     finish_reason, first_token_us, total_us)
};

// kGenerateChunk: one streamed piece of a completion; the last has done = true.
struct GenerateChunk {
  uint32_t index = 0;
  std::vector<uint32_t> tokens;
  std::string text;
  std::vector<float> logprobs;
  bool done = false;
  std::string finish_reason;  // set on the last chunk
  uint64_t elapsed_us = 0;
  MSGPACK_DEFINE_MAP(index, tokens, text, logprobs, done, finish_reason, elapsed_us)
};

// kModelFetchRequest: bytes [offset, offset + length) of the model package
// (protocol/model_package.h) of the model whose content hash is
// `content_hash`. Served only to hotkeys holding a validator permit; a fetch
// is resumable because every piece names its offset.
inline constexpr uint32_t kMaxModelChunk = 1u << 20;
struct ModelFetchRequest {
  Hash256 content_hash{};
  uint64_t offset = 0;   // < the package's size
  uint32_t length = 0;   // 1..kMaxModelChunk; a reply may carry fewer (the end)
  MSGPACK_DEFINE_MAP(content_hash, offset, length)
};

// kModelFetchReply: one piece of the package.
struct ModelFetchReply {
  Hash256 content_hash{};
  uint64_t total_size = 0;  // the whole package's size, what the chain registered
  uint64_t offset = 0;      // = the request's
  std::string data;         // the bytes from offset on (str: raw bytes)
  MSGPACK_DEFINE_MAP(content_hash, total_size, offset, data)
};

}  // namespace agora::protocol

#endif  // AGORA_PROTOCOL_TASK_MESSAGES_H_
