#include "miner/handlers.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <deque>
#include <future>
#include <limits>
#include <mutex>
#include <numeric>
#include <utility>

#include "absl/base/casts.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "protocol/refusal.h"

namespace agora::miner {
namespace {

using protocol::Reason;
using protocol::Refuse;

absl::Status BadRequest(absl::string_view field, absl::string_view why) {
  return Refuse(Reason::kBadRequest, absl::StrCat(field, ": ", why));
}

uint64_t MicrosSince(Clock::time_point t) {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - t).count());
}


absl::Status ValidateTokens(absl::Span<const uint32_t> tokens, uint32_t vocab,
                            absl::string_view field) {
  for (size_t i = 0; i < tokens.size(); ++i) {
    if (tokens[i] >= vocab) {
      return BadRequest(absl::StrCat(field, "[", i, "]"),
                        absl::StrCat("token ", tokens[i], " >= vocab size ", vocab));
    }
  }
  return absl::OkStatus();
}

// Maps a batcher failure to what the peer is told.
absl::Status FromBatcher(const absl::Status& s) {
  if (protocol::ReasonOf(s).has_value()) return s;  // overloaded
  if (absl::IsDeadlineExceeded(s)) return Refuse(Reason::kOverloaded, s.message());
  if (absl::IsUnavailable(s)) return Refuse(Reason::kOverloaded, s.message());
  return Refuse(Reason::kInternal, s.message());
}

// log softmax(logits)[token], natural log, temperature 1: max-subtracted
// log-sum-exp in double, so a tiny probability stays finite instead of
// underflowing to log(0) = -inf. Non-finite logits count as -inf (zero
// probability), as in Softmax; when none is finite the distribution is
// uniform, as in Softmax.
float LogSoftmaxAt(absl::Span<const float> logits, uint32_t token) {
  double max = -std::numeric_limits<double>::infinity();
  for (float l : logits) {
    if (std::isfinite(l)) max = std::max(max, double(l));
  }
  if (!std::isfinite(max)) return -std::log(static_cast<float>(logits.size()));
  if (!std::isfinite(logits[token])) return -std::numeric_limits<float>::infinity();
  double sum = 0;
  for (float l : logits) {
    if (std::isfinite(l)) sum += std::exp(double(l) - max);
  }
  return static_cast<float>(double(logits[token]) - max - std::log(sum));
}

// Softmax's unnormalized weights, in double: w[i] = exp(logit_i / temperature
// - max) (0 for a non-finite logit), where max is the largest finite
// logit / temperature. Returns {max, sum of w}; max is -inf when no logit is
// finite (w is then meaningless). Softmax and TokenSampler share it, so a
// sampled token's probability is exactly the one a PredictReply would show.
struct ExpWeightsSum {
  double max;
  double total;
};
ExpWeightsSum ExpWeights(absl::Span<const float> logits, double temperature, std::vector<double>& w) {
  w.resize(logits.size());
  double max = -std::numeric_limits<double>::infinity();
  for (size_t i = 0; i < logits.size(); ++i) {
    w[i] = std::isfinite(logits[i]) ? double(logits[i]) / temperature
                                    : -std::numeric_limits<double>::infinity();
    max = std::max(max, w[i]);
  }
  double total = 0;
  if (std::isfinite(max)) {
    for (double& v : w) total += (v = std::exp(v - max));
  }
  return {max, total};
}

}  // namespace

std::vector<float> Softmax(absl::Span<const float> logits, double temperature) {
  std::vector<double> w;
  const ExpWeightsSum sum = ExpWeights(logits, temperature, w);
  std::vector<float> p(logits.size());
  if (!std::isfinite(sum.max)) {
    std::fill(p.begin(), p.end(), logits.empty() ? 0.0f : 1.0f / float(logits.size()));
    return p;
  }
  for (size_t i = 0; i < w.size(); ++i) p[i] = static_cast<float>(w[i] / sum.total);
  return p;
}

protocol::TokenDistribution Distribution(absl::Span<const float> logits, uint32_t top_k) {
  protocol::TokenDistribution d;
  std::vector<float> p = Softmax(logits);
  if (top_k == 0) {
    d.probs = std::move(p);
    return d;
  }
  const size_t k = std::min<size_t>(top_k, p.size());
  std::vector<uint32_t> idx(p.size());
  std::iota(idx.begin(), idx.end(), 0u);
  std::partial_sort(idx.begin(), idx.begin() + k, idx.end(), [&](uint32_t a, uint32_t b) {
    return p[a] != p[b] ? p[a] > p[b] : a < b;
  });
  double listed = 0;
  for (size_t i = 0; i < k; ++i) {
    d.tokens.push_back(idx[i]);
    d.probs.push_back(p[idx[i]]);
    listed += p[idx[i]];
  }
  d.rest = static_cast<float>(std::max(0.0, 1.0 - listed));
  return d;
}

TokenSampler::Pick TokenSampler::Sample(absl::Span<const float> logits, float temperature,
                                        uint32_t top_k, float top_p, double u) {
  Pick pick;
  if (logits.empty()) return pick;
  if (temperature <= 0.0f) {  // greedy; ties go to the lowest id
    size_t best = 0;
    for (size_t i = 1; i < logits.size(); ++i) {
      if (std::isfinite(logits[i]) && (!std::isfinite(logits[best]) || logits[i] > logits[best])) best = i;
    }
    pick.token = static_cast<uint32_t>(best);
    pick.logprob = LogSoftmaxAt(logits, pick.token);
    return pick;
  }
  const size_t n = logits.size();
  const auto [max, exp_total] = ExpWeights(logits, temperature, weights_);
  const bool finite = std::isfinite(max);
  double total = exp_total;
  if (!finite) {  // nothing finite: uniform, as Softmax
    std::fill(weights_.begin(), weights_.end(), 1.0);
    total = static_cast<double>(n);
  }
  if (top_k > 0 || top_p < 1.0f) {
    pick.token = Ranked(total, top_k, top_p, u);
  } else {
    // Inverse of the cumulative distribution in id order.
    double target = u * total;
    size_t chosen = n;
    size_t last = 0;  // the last token with any weight: where rounding ends the walk
    for (size_t i = 0; i < n; ++i) {
      if (weights_[i] <= 0) continue;
      last = i;
      target -= weights_[i];
      if (target < 0) {
        chosen = i;
        break;
      }
    }
    pick.token = static_cast<uint32_t>(chosen < n ? chosen : last);
  }
  if (temperature == 1.0f && finite) {
    // LogSoftmaxAt's value from the weights already at hand: its max and its
    // sum are these (division by 1 is exact).
    pick.logprob = std::isfinite(logits[pick.token])
                       ? static_cast<float>(double(logits[pick.token]) - max - std::log(total))
                       : -std::numeric_limits<float>::infinity();
  } else {
    pick.logprob = LogSoftmaxAt(logits, pick.token);
  }
  return pick;
}

uint32_t TokenSampler::Ranked(double total_weight, uint32_t top_k, float top_p, double u) {
  const size_t n = weights_.size();
  // Softmax's probabilities, written over the weights. Finite p >= 0 order
  // as their bits do, so one integer key per token, (~bits(p) << 32 | id),
  // sorts ascending into most probable first, ties by id (integers sort ~3x
  // faster than (p, id) pairs through a comparator). Only the first `keep`
  // ranks are ever read.
  ranked_.resize(n);
  for (size_t i = 0; i < n; ++i) {
    const float p = static_cast<float>(weights_[i] / total_weight);
    weights_[i] = p;
    ranked_[i] = (uint64_t{~absl::bit_cast<uint32_t>(p)} << 32) | i;
  }
  size_t keep = top_k > 0 ? std::min<size_t>(n, top_k) : n;
  if (keep < n) {
    std::partial_sort(ranked_.begin(), ranked_.begin() + keep, ranked_.end());
  } else {
    std::sort(ranked_.begin(), ranked_.end());
  }
  auto id = [&](size_t rank) { return static_cast<uint32_t>(ranked_[rank] & 0xffffffffu); };
  if (top_p < 1.0f) {
    double cum = 0;
    for (size_t i = 0; i < keep; ++i) {
      cum += weights_[id(i)];
      if (cum >= top_p) {
        keep = i + 1;
        break;
      }
    }
  }
  double total = 0;
  for (size_t i = 0; i < keep; ++i) total += weights_[id(i)];
  double target = u * total;
  for (size_t i = 0; i < keep; ++i) {
    target -= weights_[id(i)];
    if (target < 0) return id(i);
  }
  return id(keep - 1);
}

uint32_t SampleToken(absl::Span<const float> logits, float temperature, uint32_t top_k,
                     float top_p, double u) {
  return TokenSampler().Sample(logits, temperature, top_k, top_p, u).token;
}

// SplitMix64 (a tiny, fully specified generator: the same seed samples the
// same tokens on every platform and standard library), indexed by position.
double SamplerUniform(uint64_t seed, uint32_t position) {
  uint64_t z = seed + (uint64_t{position} + 1) * 0x9e3779b97f4a7c15ull;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  z ^= z >> 31;
  return static_cast<double>(z >> 11) * 0x1.0p-53;
}

bool SampleAgrees(absl::Span<const float> logits, float temperature, uint32_t top_k, float top_p,
                  double u, uint32_t token, double tolerance) {
  if (token >= logits.size()) return false;
  if (temperature <= 0.0f) {
    const std::vector<float> p = Softmax(logits);
    return p[token] >= *std::max_element(p.begin(), p.end()) - tolerance;
  }
  if (top_k == 0 && top_p >= 1.0f) {
    // The token's interval of the cumulative distribution in id order, from
    // the same exp-weights the sampler draws with (no allocation: the
    // validator runs this for every token of every completion).
    double max = -std::numeric_limits<double>::infinity();
    for (float x : logits) {
      if (std::isfinite(x)) max = std::max(max, double(x) / temperature);
    }
    const bool finite = std::isfinite(max);  // if not, the sampler draws uniformly
    double below = 0, total = 0, mine = 0;
    for (size_t i = 0; i < logits.size(); ++i) {
      const double w = !finite ? 1.0
                       : std::isfinite(logits[i]) ? std::exp(double(logits[i]) / temperature - max)
                                                  : 0.0;
      if (i < token) below += w;
      if (i == token) mine = w;
      total += w;
    }
    below /= total;
    mine /= total;
    return mine > 0 && u >= below - tolerance && u < below + mine + tolerance;
  }
  TokenSampler sampler;
  for (double v : {u, u - tolerance, u + tolerance}) {
    const double w = std::min(std::max(v, 0.0), std::nextafter(1.0, 0.0));
    if (sampler.Sample(logits, temperature, top_k, top_p, w).token == token) return true;
  }
  return false;
}

absl::StatusOr<protocol::ModelFetchReply> HandleModelFetch(
    const protocol::ModelFetchRequest& request, const Hash256& served, absl::string_view package) {
  if (request.content_hash != served) {
    return BadRequest("content_hash", absl::StrCat("this miner serves model ", ToHex(served)));
  }
  if (request.length == 0 || request.length > protocol::kMaxModelChunk) {
    return BadRequest("length", absl::StrCat("must be 1..", protocol::kMaxModelChunk));
  }
  if (request.offset >= package.size()) {
    return BadRequest("offset", absl::StrCat("the package has ", package.size(), " bytes"));
  }
  protocol::ModelFetchReply r;
  r.content_hash = served;
  r.total_size = package.size();
  r.offset = request.offset;
  r.data = std::string(package.substr(request.offset, request.length));
  return r;
}

absl::StatusOr<protocol::PredictReply> HandlePredict(const protocol::PredictRequest& req,
                                                     const TaskEnv& env) {
  if (req.prefixes.empty()) return BadRequest("prefixes", "empty");
  const size_t max_prefixes = std::min(env.max_prefixes, protocol::kMaxPrefixes);
  if (req.prefixes.size() > max_prefixes) {
    return BadRequest("prefixes", absl::StrCat(req.prefixes.size(), " prefixes; limit ",
                                               max_prefixes));
  }
  for (size_t i = 0; i < req.prefixes.size(); ++i) {
    const auto& p = req.prefixes[i];
    const std::string field = absl::StrCat("prefixes[", i, "]");
    if (p.empty()) return BadRequest(field, "empty");
    if (p.size() > protocol::kMaxPrefixTokens) {
      return BadRequest(field, absl::StrCat(p.size(), " tokens; limit ", protocol::kMaxPrefixTokens));
    }
    absl::Status s = ValidateTokens(p, env.vocab_size, field);
    if (!s.ok()) return s;
  }
  if (req.top_k > protocol::kMaxTopK) {
    return BadRequest("top_k", absl::StrCat(req.top_k, "; limit ", protocol::kMaxTopK));
  }
  uint32_t top_k = req.top_k;
  if (top_k == 0 && env.vocab_size > protocol::kMaxFullDistributionVocab) {
    top_k = protocol::kDefaultTopK;
  }
  absl::StatusOr<Logits> logits = env.batcher->Run(req.prefixes, env.priority, env.deadline);
  if (!logits.ok()) return FromBatcher(logits.status());
  protocol::PredictReply rep;
  rep.model_hash = env.model_hash;
  rep.vocab_size = env.vocab_size;
  rep.distributions.reserve(logits->rows);
  for (size_t i = 0; i < logits->rows; ++i) {
    rep.distributions.push_back(Distribution(logits->Row(i), top_k));
  }
  rep.compute_us = MicrosSince(env.start);
  return rep;
}

absl::StatusOr<protocol::GenerateReply> HandleGenerate(const protocol::GenerateRequest& req,
                                                       const TaskEnv& env,
                                                       const ChunkEmitter& emit) {
  if (req.prompt.empty() == req.prompt_tokens.empty()) {
    return BadRequest("prompt", "set exactly one of prompt and prompt_tokens (both empty or both set)");
  }
  if (req.prompt.size() > protocol::kMaxPromptBytes) {
    return BadRequest("prompt", absl::StrCat(req.prompt.size(), " bytes; limit ",
                                             protocol::kMaxPromptBytes));
  }
  if (req.prompt_tokens.size() > protocol::kMaxPromptTokens) {
    return BadRequest("prompt_tokens", absl::StrCat(req.prompt_tokens.size(), " tokens; limit ",
                                                    protocol::kMaxPromptTokens));
  }
  if (req.max_tokens < 1 || req.max_tokens > protocol::kMaxGenerateTokens) {
    return BadRequest("max_tokens", absl::StrCat(req.max_tokens, " not in [1, ",
                                                 protocol::kMaxGenerateTokens, "]"));
  }
  if (!std::isfinite(req.temperature) || req.temperature < 0 ||
      req.temperature > protocol::kMaxTemperature) {
    return BadRequest("temperature", absl::StrCat("must be in [0, ", protocol::kMaxTemperature, "]"));
  }
  if (!std::isfinite(req.top_p) || req.top_p <= 0 || req.top_p > 1) {
    return BadRequest("top_p", "must be in (0, 1]");
  }
  if (req.top_k > env.vocab_size) {
    return BadRequest("top_k", absl::StrCat(req.top_k, " > vocab size ", env.vocab_size));
  }
  if (req.stop.size() > protocol::kMaxStopSequences) {
    return BadRequest("stop", absl::StrCat(req.stop.size(), " sequences; limit ",
                                           protocol::kMaxStopSequences));
  }
  for (size_t i = 0; i < req.stop.size(); ++i) {
    if (req.stop[i].empty() || req.stop[i].size() > protocol::kMaxStopBytes) {
      return BadRequest(absl::StrCat("stop[", i, "]"),
                        absl::StrCat("must be 1..", protocol::kMaxStopBytes, " bytes"));
    }
  }
  if (req.stream && !emit) return BadRequest("stream", "this endpoint cannot stream");

  std::vector<uint32_t> seq = req.prompt_tokens;
  if (!req.prompt.empty()) {
    absl::StatusOr<std::vector<uint32_t>> t = env.tokenizer->Encode(req.prompt);
    if (!t.ok()) return BadRequest("prompt", t.status().message());
    seq = std::move(*t);
  }
  absl::Status s = ValidateTokens(seq, env.vocab_size, "prompt_tokens");
  if (!s.ok()) return s;

  protocol::GenerateReply rep;
  rep.model_hash = env.model_hash;
  rep.vocab_size = env.vocab_size;
  rep.prompt_tokens = static_cast<uint32_t>(seq.size());
  rep.finish_reason = "length";
  // Tokens are picked on the batcher's worker between forward passes
  // (Batcher::Generate); streamed chunks go through `chunks` to this thread,
  // which signs and sends them, so the model never waits for a socket.
  struct Chunks {
    std::mutex mu;
    std::condition_variable cv;
    std::deque<protocol::GenerateChunk> queue;
    bool ended = false;  // the generation is over: no chunk comes after those queued
  } chunks;
  TokenSampler sampler;
  rep.tokens.reserve(req.max_tokens);
  rep.logprobs.reserve(req.max_tokens);
  Batcher::NextToken next = [&](absl::Span<const float> logits, std::vector<uint32_t>& row) {
    const uint32_t step = static_cast<uint32_t>(rep.tokens.size());
    const TokenSampler::Pick pick =
        sampler.Sample(logits, req.temperature, req.top_k, req.top_p, SamplerUniform(req.seed, step));
    const uint32_t token = pick.token;
    rep.tokens.push_back(token);
    rep.logprobs.push_back(pick.logprob);
    if (step == 0) rep.first_token_us = MicrosSince(env.start);
    row.push_back(token);
    // Both tokenizers decode token by token, so the text grows by this
    // token's piece (which is also the chunk's text).
    const std::string piece = env.tokenizer->Decode(absl::MakeConstSpan(&token, 1));
    rep.text += piece;
    bool stopped = false;
    for (const std::string& stop : req.stop) stopped = stopped || absl::EndsWith(rep.text, stop);
    if (stopped) rep.finish_reason = "stop";
    const bool last = stopped || step + 1 == req.max_tokens;
    if (req.stream) {
      protocol::GenerateChunk chunk;
      chunk.index = step;
      chunk.tokens = {token};
      chunk.text = piece;
      chunk.logprobs = {rep.logprobs.back()};
      chunk.done = last;
      if (last) chunk.finish_reason = rep.finish_reason;
      chunk.elapsed_us = MicrosSince(env.start);
      std::lock_guard<std::mutex> lock(chunks.mu);
      chunks.queue.push_back(std::move(chunk));
      chunks.cv.notify_one();
    }
    return !last;
  };
  auto ended = [&chunks] {
    std::lock_guard<std::mutex> lock(chunks.mu);
    chunks.ended = true;
    chunks.cv.notify_one();
  };
  std::future<absl::Status> finished =
      env.batcher->Generate(std::move(seq), env.priority, env.deadline, next, ended);
  bool streaming = req.stream;
  for (bool last = !req.stream; !last;) {
    std::deque<protocol::GenerateChunk> ready;
    bool over;
    {
      std::unique_lock<std::mutex> lock(chunks.mu);
      chunks.cv.wait(lock, [&] { return !chunks.queue.empty() || chunks.ended; });
      ready.swap(chunks.queue);
      over = chunks.ended;
    }
    for (const protocol::GenerateChunk& chunk : ready) {
      if (streaming) streaming = emit(chunk);  // a gone requester stops the stream, not the work
      last = last || chunk.done;
    }
    if (over) break;  // every chunk was in `ready`; a failure's status is below
  }
  const absl::Status status = finished.get();
  if (!status.ok()) return FromBatcher(status);
  rep.total_us = MicrosSince(env.start);
  return rep;
}

}  // namespace agora::miner
