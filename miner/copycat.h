// The copycat adversary (agora-miner --mode copycat): a miner with no model
// of its own that relays another miner's answers, signed with its own
// hotkey. It is a ModelBackend, so the server, batcher and handlers are the
// real ones: each batch of rows goes to the copied miner as PredictRequests
// (at most kMaxPrefixes rows each) and the returned distributions come back
// as logits (log p). Generation goes through the same path, one relayed
// request per token, so with the validator's seed it samples the copied
// miner's completion.
//
// It claims the copied miner's model hash, the most tempting choice: spot
// checks against that model then pass. What stops it is the validator's
// duplicate rule (docs/VALIDATOR.md): of identical answers only the one that
// answers first earns, judged over many steps, and a relay never has an
// answer before its source.
//
// Every reply of the copied miner is hostile input: a malformed one (wrong
// vocabulary or count, NaN, negative or out-of-range entries, no mass) or a
// model hash other than the one learned at the start fails that batch with
// an error naming the copied miner; the next batch is relayed afresh.
//
// Thread-safety: like every ModelBackend, used from the batcher's one
// thread; the relay is only called from there.
#ifndef AGORA_MINER_COPYCAT_H_
#define AGORA_MINER_COPYCAT_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "miner/model.h"
#include "protocol/task_messages.h"

namespace agora::miner {

// Sends one PredictRequest to the copied miner and returns its reply.
using PredictRelay =
    std::function<absl::StatusOr<protocol::PredictReply>(const protocol::PredictRequest&)>;

// Largest vocabulary a copied miner may report (bounds what a reply makes
// the copycat allocate).
inline constexpr uint32_t kMaxCopiedVocab = 1u << 18;

// Asks the copied miner one probe (the one-token prefix {0}) to learn its
// vocabulary and model hash, and returns the copycat over `relay`.
// `source` names the copied miner in descriptions and errors. With a
// `temperature` other than 1 it is a noisy copy: every relayed distribution
// is re-tempered (logits / temperature), so its answers are no longer the
// same bytes as its source's. The relay's error, or InvalidArgument for a
// malformed probe reply or a temperature that is not positive.
absl::StatusOr<std::unique_ptr<ModelBackend>> MakeCopycat(PredictRelay relay, std::string source,
                                                          double temperature = 1.0);

// Exposed for tests: logits whose softmax is `d` over `vocab` tokens (log of
// each probability, -inf for 0; a top-k form spreads `rest` evenly over the
// tokens it does not list). InvalidArgument for a malformed distribution.
absl::StatusOr<std::vector<float>> LogitsOf(const protocol::TokenDistribution& d, uint32_t vocab);

}  // namespace agora::miner

#endif  // AGORA_MINER_COPYCAT_H_
