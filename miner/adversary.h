// Adversarial miners for the devnet and the tests: each a mode of the real
// agora-miner (--mode), so the validator is tested against the same server,
// batcher and protocol as honest miners.
//
//   random     uniform-ish random logits (seeded), whatever the prefix
//   liar       serves its own model but claims another's content hash
//              (--claim-model), hoping to be scored as the better model
//   slow       the honest model, each forward pass delayed (--delay-ms),
//              so answers arrive past the validator's deadline
//   memorizer  no model of its own: it remembers the text every prefix it is
//              sent reveals and answers a prefix whose continuation it has
//              seen with that token; any other prefix gets pseudo-random
//              logits drawn from (seed, prefix), so a repeated prefix gets
//              the same answer again. It earns only if challenges repeat.
//   copycat    relays another miner's answers as its own (miner/copycat.h);
//              it has no model, so it is not made here
//   noisy-copy a copycat that re-tempers what it relays (--retemper, default
//              1.001): never the same bytes as its source, within any
//              spot-check tolerance of the source's model, which it claims
//   lookup     no model: answers from a text it was given (--lookup-text,
//              e.g. the public corpus the held-out text is cut from) by its
//              last 16 tokens; claims (and registers) a model nobody has
//   claim-registered  the lookup's answers, claiming an honest miner's
//              registered model (--claim-model)
//   greedy     the honest model, but every generate request is answered
//              greedily (temperature 0), whatever the request asked
//   early-stop the honest model, but every completion is one token long
//              (both: only a --cheat-fraction of requests, drawn at random,
//              when it is below 1: a miner betting that a validator which
//              re-runs a share of completions misses the cheated ones)
//   perturbed-copy  a model thief: another miner's checkpoint (--model, e.g.
//              fetched with a validator permit, or a public one) with every
//              weight nudged (--perturb, default 1e-3 of each tensor's
//              standard deviation), saved under <data_dir>/perturbed-copy
//              and registered as its own new hash; then served honestly
//              (miner.cc PreparePerturbedCopy)
//   two-faced  answers what predict challenges ask (next-token
//              distributions) with its registered model, and generations,
//              which customers ask for most, with a cheaper one (--cheap-model):
//              best effort for tests, least effort for paying users
//              (MakeTwoFaced)
//   lazy-logprobs  its model for every challenge-shaped request, nothing for
//              what only customers send: the prefixes of one text (an echo's
//              log-probabilities) get flat distributions at no cost, and it
//              answers them first (PredictShortcut)
//
// random, liar, slow, memorizer, lookup and claim-registered wrap the loaded
// model; random, the memorizer and the lookup use it only for its
// vocabulary and context (random and the memorizer claim its hash). greedy
// and early-stop change requests, not the model (GenerateRewrite); the
// perturbed copy changes the checkpoint before it is loaded.
//
// Thread-safety: like every ModelBackend, used from the batcher's one thread.
#ifndef AGORA_MINER_ADVERSARY_H_
#define AGORA_MINER_ADVERSARY_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "common/crypto.h"
#include "miner/model.h"
#include "protocol/task_messages.h"

namespace agora::miner {

// Whom a copycat copies: exactly one of the two, resolved to an endpoint
// through the subnet's metagraph.
struct CopyTarget {
  std::optional<uint16_t> uid;
  std::optional<PublicKey> hotkey;
};

struct AdversaryOptions {
  std::string mode = "honest";  // one of kAdversaryModes
  Hash256 claim_model{};        // liar, claim-registered: the hash it claims
  std::string lookup_text;      // lookup, claim-registered: the text it answers from
  double retemper = 1.001;      // noisy-copy: the temperature applied to what it relays
  double perturb = 1e-3;        // perturbed-copy: noise per weight, in its tensor's std
  double cheat_fraction = 1.0;  // greedy, early-stop: share of generate requests rewritten
  std::string cheap_model;      // two-faced: the checkpoint that answers generations
  std::chrono::milliseconds delay{0};  // slow: added to each forward pass
  uint64_t seed = 1;            // random, memorizer
  CopyTarget copy;              // copycat: the miner it copies
  std::chrono::milliseconds copy_timeout{5'000};  // copycat: per relayed request
};

inline constexpr const char* kAdversaryModes[] = {
    "honest", "random", "liar", "slow", "memorizer", "copycat", "noisy-copy",
    "lookup", "claim-registered", "greedy", "early-stop", "perturbed-copy", "two-faced",
    "lazy-logprobs"};
// Modes that relay another miner instead of serving a model.
bool IsRelayMode(const std::string& mode);

// Wraps `honest` as `options.mode` asks ("honest", "greedy", "early-stop"
// and "perturbed-copy" return it unchanged). InvalidArgument for an unknown mode, a liar or
// claim-registered without a claimed hash, a lookup without a readable
// text, or a relay mode (made by MakeCopycat, miner/copycat.h, from no model).
absl::StatusOr<std::unique_ptr<ModelBackend>> MakeAdversary(std::unique_ptr<ModelBackend> honest,
                                                            const AdversaryOptions& options);

// The two-faced miner: `registered` (whose hash it claims and registers)
// answers next-token requests (NextTokenLogits, TokenLogprobs), `cheap`
// every generation (DecodeStep). InvalidArgument when their vocabularies
// differ.
absl::StatusOr<std::unique_ptr<ModelBackend>> MakeTwoFaced(std::unique_ptr<ModelBackend> registered,
                                                           std::unique_ptr<ModelBackend> cheap);

// How greedy and early-stop rewrite a generate request before serving it
// (each request with probability cheat_fraction, from `seed`); nullptr for
// every other mode. Thread-safe.
std::function<void(protocol::GenerateRequest&)> GenerateRewrite(const AdversaryOptions& options);

// lazy-logprobs: the predict requests it answers without its model (nested
// prefixes, NestedPrefixes in miner/request_log.h); nullptr for every other
// mode. Thread-safe.
std::function<bool(const protocol::PredictRequest&)> PredictShortcut(const AdversaryOptions& options);

// The flat answer: one uniform distribution over `vocab_size` per prefix.
protocol::PredictReply FlatPredictReply(const protocol::PredictRequest& request,
                                        uint32_t vocab_size, const Hash256& model_hash);

}  // namespace agora::miner

#endif  // AGORA_MINER_ADVERSARY_H_
