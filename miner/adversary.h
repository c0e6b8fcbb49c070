// Adversarial miners for the devnet and the tests: each a mode of the real
// agora-miner (--mode), made by wrapping the honest model, so the validator
// is tested against the same server, batcher and protocol as honest miners.
//
//   random     uniform-ish random logits (seeded), whatever the prefix
//   liar       serves its own model but claims another's content hash
//              (--claim-model), hoping to be scored as the better model
//   slow       the honest model, each forward pass delayed (--delay-ms),
//              so answers arrive past the validator's deadline
//   memorizer  answers a prefix it has seen before from its cache (a miner
//              that records challenges, hoping they repeat), else honestly
//
// Thread-safety: like every ModelBackend, used from the batcher's one thread.
#ifndef AGORA_MINER_ADVERSARY_H_
#define AGORA_MINER_ADVERSARY_H_

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "common/crypto.h"
#include "miner/model.h"

namespace agora::miner {

struct AdversaryOptions {
  std::string mode = "honest";  // honest, random, liar, slow, memorizer
  Hash256 claim_model{};        // liar: the hash it claims
  std::chrono::milliseconds delay{0};  // slow: added to each forward pass
  uint64_t seed = 1;            // random
};

// Wraps `honest` as `options.mode` asks ("honest" returns it unchanged).
// InvalidArgument for an unknown mode or a liar without a claimed hash.
absl::StatusOr<std::unique_ptr<ModelBackend>> MakeAdversary(std::unique_ptr<ModelBackend> honest,
                                                            const AdversaryOptions& options);

}  // namespace agora::miner

#endif  // AGORA_MINER_ADVERSARY_H_
