#include "miner/sampling_check.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_format.h"
#include "miner/handlers.h"

namespace agora::miner {
namespace {

// log softmax(row)[token] in double, at temperature 1 (what a reply claims);
// non-finite logits count as -inf, as the sampler treats them.
double LogSoftmax(absl::Span<const float> row, uint32_t token) {
  double max = -INFINITY;
  for (float x : row) {
    if (std::isfinite(x)) max = std::max(max, double(x));
  }
  if (!std::isfinite(max)) return -std::log(double(row.size()));  // uniform, as the sampler
  if (!std::isfinite(row[token])) return -INFINITY;
  double sum = 0;
  for (float x : row) {
    if (std::isfinite(x)) sum += std::exp(double(x) - max);
  }
  return double(row[token]) - max - std::log(sum);
}

}  // namespace

CompletionCheck CheckCompletion(const protocol::GenerateRequest& request,
                                const protocol::GenerateReply& reply, const Logits& logits,
                                const CompletionCheckOptions& o) {
  CompletionCheck c;
  auto fail = [&c](std::string why) {
    c.ok = false;
    c.evidence = std::move(why);
    return c;
  };
  const size_t n = reply.tokens.size();
  if (logits.rows != n || reply.logprobs.size() != n || logits.vocab == 0) {
    return fail(absl::StrFormat("%d tokens, %d log-probabilities, %d positions re-run", n,
                                reply.logprobs.size(), logits.rows));
  }
  auto ends_with_stop = [&request](absl::string_view text) {
    for (const std::string& stop : request.stop) {
      if (absl::EndsWith(text, stop)) return true;
    }
    return false;
  };
  if (o.tokenizer != nullptr) {
    // Token by token (Decode(a + b) == Decode(a) + Decode(b)): the first
    // token after which the text ends with a stop sequence must be the last.
    std::string text;
    for (size_t i = 0; i < n; ++i) {
      text += o.tokenizer->Decode(absl::MakeConstSpan(&reply.tokens[i], 1));
      if (i + 1 < n && ends_with_stop(text)) {
        return fail(absl::StrFormat("token %d ends a requested stop sequence, but %d more follow", i,
                                    n - i - 1));
      }
    }
    if (text != reply.text) return fail("the text is not the tokens decoded");
  }
  if (n < request.max_tokens && !ends_with_stop(reply.text)) {
    return fail(absl::StrFormat("stopped after %d of %d tokens without a requested stop sequence", n,
                                request.max_tokens));
  }
  for (size_t i = 0; i < n; ++i) {
    const absl::Span<const float> row = logits.Row(i);
    const uint32_t token = reply.tokens[i];
    if (token >= row.size()) return fail(absl::StrFormat("token %d: id %d out of range", i, token));
    const double u = SamplerUniform(request.seed, static_cast<uint32_t>(i));
    if (!SampleAgrees(row, request.temperature, request.top_k, request.top_p, u, token,
                      o.sample_tolerance)) {
      const std::vector<float> p = Softmax(row, request.temperature > 0 ? request.temperature : 1.0);
      return fail(absl::StrFormat(
          "token %d: %d (p=%.4f) is not the sampler's draw at u=%.6f for seed %d and temperature %g",
          i, token, p[token], u, request.seed, request.temperature));
    }
    const double truth = LogSoftmax(row, token);
    const double claimed = reply.logprobs[i];
    if (!(std::fabs(claimed - truth) <= o.logprob_tolerance) &&
        !(std::isinf(truth) && claimed == truth)) {
      return fail(absl::StrFormat("token %d: log-probability %.5f, the model gives %.5f", i, claimed,
                                  truth));
    }
  }
  return c;
}

}  // namespace agora::miner
