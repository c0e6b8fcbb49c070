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
//
// random, liar, slow and memorizer wrap the loaded model; random and the
// memorizer use it only for its vocabulary, context and content hash (which
// they claim).
//
// Thread-safety: like every ModelBackend, used from the batcher's one thread.
#ifndef AGORA_MINER_ADVERSARY_H_
#define AGORA_MINER_ADVERSARY_H_

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "common/crypto.h"
#include "miner/model.h"

namespace agora::miner {

// Whom a copycat copies: exactly one of the two, resolved to an endpoint
// through the subnet's metagraph.
struct CopyTarget {
  std::optional<uint16_t> uid;
  std::optional<PublicKey> hotkey;
};

struct AdversaryOptions {
  std::string mode = "honest";  // honest, random, liar, slow, memorizer, copycat
  Hash256 claim_model{};        // liar: the hash it claims
  std::chrono::milliseconds delay{0};  // slow: added to each forward pass
  uint64_t seed = 1;            // random, memorizer
  CopyTarget copy;              // copycat: the miner it copies
  std::chrono::milliseconds copy_timeout{5'000};  // copycat: per relayed request
};

// Wraps `honest` as `options.mode` asks ("honest" returns it unchanged).
// InvalidArgument for an unknown mode, a liar without a claimed hash, or
// "copycat" (made by MakeCopycat, miner/copycat.h, from no model at all).
absl::StatusOr<std::unique_ptr<ModelBackend>> MakeAdversary(std::unique_ptr<ModelBackend> honest,
                                                            const AdversaryOptions& options);

}  // namespace agora::miner

#endif  // AGORA_MINER_ADVERSARY_H_
