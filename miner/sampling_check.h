// The check of a completion against the model it names, given that model's
// logits at every generated position (ModelBackend::PositionLogits): every
// token must be the sampler's draw for the request's seed and position
// (within a tolerance for near ties, miner/handlers.h SampleAgrees), every
// claimed log-probability must match the model's, and the completion may end
// before max_tokens only at a requested stop sequence. What this allows is
// exactly what an honest miner running the registered model produces
// (docs/PROTOCOL.md "Sampling"); a greedy answer to a sampled request, an
// early stop, a token from another model, a perturbed log-probability each
// fail with evidence naming the position. Pure; torch-free.
#ifndef AGORA_MINER_SAMPLING_CHECK_H_
#define AGORA_MINER_SAMPLING_CHECK_H_

#include <string>

#include "miner/model.h"
#include "miner/tokenizer.h"
#include "protocol/task_messages.h"

namespace agora::miner {

struct CompletionCheckOptions {
  double sample_tolerance = 1e-3;  // probability, for near ties
  double logprob_tolerance = 0.02;  // nats
  // The model's tokenizer: when set, the reply's text must be its tokens
  // decoded, and stop sequences are found in that text (a completion must
  // end at the first one, not before, not after).
  const Tokenizer* tokenizer = nullptr;
};

struct CompletionCheck {
  bool ok = true;
  std::string evidence;  // why not, when !ok
};

// `logits` holds reply.tokens.size() rows: row i is the model's logits for
// token i. A reply whose shape disagrees (rows, logprobs) fails.
CompletionCheck CheckCompletion(const protocol::GenerateRequest& request,
                                const protocol::GenerateReply& reply, const Logits& logits,
                                const CompletionCheckOptions& options);

}  // namespace agora::miner

#endif  // AGORA_MINER_SAMPLING_CHECK_H_
