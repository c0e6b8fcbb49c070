// The miner's task handlers: functions on decoded structs
// (protocol/task_messages.h), testable without a socket. Each validates the
// request first and refuses bad values with a "bad-request" refusal naming the
// field; the model is reached only through the batcher, so concurrent
// requests share forward passes.
//
// Thread-safe: handlers may run concurrently (one per server worker); the
// TaskEnv's pointees must outlive the call.
#ifndef AGORA_MINER_HANDLERS_H_
#define AGORA_MINER_HANDLERS_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "common/crypto.h"
#include "miner/batcher.h"
#include "miner/tokenizer.h"
#include "protocol/task_messages.h"

namespace agora::miner {

// What a handler needs besides the request.
struct TaskEnv {
  Batcher* batcher = nullptr;
  const Tokenizer* tokenizer = nullptr;
  Hash256 model_hash{};
  uint32_t vocab_size = 0;
  size_t max_prefixes = protocol::kMaxPrefixes;  // may be configured lower
  uint64_t priority = 0;                         // the sender's stake
  Clock::time_point start;                       // when the request was admitted
  Clock::time_point deadline;                    // work past it is dropped
};

absl::StatusOr<protocol::PredictReply> HandlePredict(const protocol::PredictRequest& request,
                                                     const TaskEnv& env);
// Sends one streamed chunk to the requester; false when it could not be
// sent (the server's ChunkSink), which stops the streaming, not the work.
using ChunkEmitter = std::function<bool(const protocol::GenerateChunk&)>;

// With request.stream, each generated token is also emitted as a chunk the
// moment it is sampled (index, token, its text, log-probability, time since
// admission; the last chunk says done and why); the returned reply is the
// whole completion either way. request.stream without an emitter is refused.
absl::StatusOr<protocol::GenerateReply> HandleGenerate(const protocol::GenerateRequest& request,
                                                       const TaskEnv& env,
                                                       const ChunkEmitter& emit = nullptr);

// A piece of the model package `package` of the model `served` (what the
// miner registered on chain): bytes [offset, offset + length), fewer at the
// end. bad-request for another hash, an offset past the end or a length of
// 0 or over kMaxModelChunk. Who may ask is the caller's check (validators).
absl::StatusOr<protocol::ModelFetchReply> HandleModelFetch(
    const protocol::ModelFetchRequest& request, const Hash256& served, absl::string_view package);

// Exposed for tests.
// Softmax of `logits` in double precision, as floats. NaN/inf logits are
// treated as -inf (a model that emits them gets no mass there); if nothing is
// finite, the distribution is uniform.
std::vector<float> Softmax(absl::Span<const float> logits, double temperature = 1.0);
// The distribution a PredictReply carries for these logits.
protocol::TokenDistribution Distribution(absl::Span<const float> logits, uint32_t top_k);
// Deterministic sampling: the token drawn from `logits` with the request's
// temperature/top-k/top-p, using the uniform number `u` in [0, 1), and that
// token's log-probability under the model at temperature 1 (what a
// GenerateReply carries). Temperature 0 is greedy (ties to the lowest id).
// With neither top-k nor top-p, `u` is mapped through the cumulative
// distribution in token-id order, which needs no ranking; with either, the
// tokens are ranked most probable first (ties by id), cut to top-k and then
// to the smallest prefix holding top-p of the mass, and `u` walks that
// ranking. Keeps its scratch space between calls: the batcher's worker calls
// it for every generated token, and it allocates nothing once warm.
class TokenSampler {
 public:
  struct Pick {
    uint32_t token = 0;
    float logprob = 0;
  };
  Pick Sample(absl::Span<const float> logits, float temperature, uint32_t top_k, float top_p,
              double u);

 private:
  // The top-k/top-p draw from weights_ (whose sum is `total`).
  uint32_t Ranked(double total, uint32_t top_k, float top_p, double u);

  // Scratch, kept between calls.
  std::vector<double> weights_;  // exp(logit / temperature - max), 0 for non-finite logits
  std::vector<uint64_t> ranked_;
};
uint32_t SampleToken(absl::Span<const float> logits, float temperature, uint32_t top_k,
                     float top_p, double u);  // TokenSampler().Sample(...).token

// The uniform number in [0, 1) that token `position` (0 for the first
// generated token) of a generation with `seed` is drawn with: SplitMix64's
// output for the counter seed + (position + 1) * 0x9e3779b97f4a7c15, top 53
// bits (docs/PROTOCOL.md "Sampling"). Counter-based, so a validator can
// recompute any position's draw without the ones before it.
double SamplerUniform(uint64_t seed, uint32_t position);

// Whether `token` is a draw the sampler could make from `logits` (computed
// by someone else, within float drift) with `u`, allowing `tolerance` of
// probability for near ties: at temperature 0, the token's probability is
// within tolerance of the largest; with neither top-k nor top-p, u lies in
// the token's cumulative interval (id order) widened by tolerance at both
// ends; with either, the token is the sampler's own pick at u, u - tolerance
// or u + tolerance.
bool SampleAgrees(absl::Span<const float> logits, float temperature, uint32_t top_k, float top_p,
                  double u, uint32_t token, double tolerance);

}  // namespace agora::miner

#endif  // AGORA_MINER_HANDLERS_H_
