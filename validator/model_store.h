// The models a validator re-runs to check answers, by content hash: the
// checkpoints it was given (known_models, the reference model) and the
// models miners registered on chain (register_model), fetched from each
// miner by hash over the signed transport (ModelFetchRequest, docs/PROTOCOL.md
// "Model fetch"), size-capped, verified and cached on disk.
//
// A fetch is verified by what the package computes to: unpacked and loaded,
// the model's content hash (over its config and weights) must be the
// registered one, its format the registered format and its package size the
// registered size. It resumes where it stopped (<dir>/<hash>.part grows
// piece by piece), a miner that fails to hand its model over is asked again
// only after retry_after (retry_unpermitted when it refused us as not
// permitted: its metagraph may lag ours), and the cache of fetched packages (<dir>/<hash>.pkg,
// unpacked into <dir>/<hash>.d/ only while loading) is kept under
// cache_bytes by removing the least recently used.
//
// Thread-compatible: the validator calls it under its models mutex.
#ifndef AGORA_VALIDATOR_MODEL_STORE_H_
#define AGORA_VALIDATOR_MODEL_STORE_H_

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "chain/state.h"
#include "common/crypto.h"
#include "miner/model.h"
#include "protocol/zmq_client.h"

namespace agora::validator {

struct ModelStoreOptions {
  std::string dir;                        // cache; required
  uint64_t max_model_bytes = 2ull << 30;  // larger registered packages are not fetched
  uint64_t cache_bytes = 8ull << 30;      // unpacked models kept on disk
  std::chrono::milliseconds piece_timeout{10'000};  // each ModelFetchRequest
  // One attempt; the rest resumes at the next. Short, because fetching runs
  // on the validator's loop: a miner that trickles its pieces costs the loop
  // at most this much every retry_after.
  std::chrono::milliseconds fetch_budget{20'000};
  std::chrono::milliseconds retry_after{60'000};    // after a failed attempt
  // After the miner refused us as not permitted: its view of the metagraph
  // may not show our permit yet (it re-reads it within a moment).
  std::chrono::milliseconds retry_unpermitted{2'000};
  bool cpu = false;                       // load on the CPU even with CUDA
};

class ModelStore {
 public:
  explicit ModelStore(ModelStoreOptions options) : o_(std::move(options)) {}

  // Loads a checkpoint the validator was given; it is never evicted.
  absl::StatusOr<miner::ModelBackend*> AddLocal(const std::string& checkpoint_dir);

  // The model registered as `reg`: held, loaded from the cache, or fetched
  // from `peer` with `client`. The error says why it cannot be had (too
  // large, refused, not the registered hash, ...); after a failure the same
  // error comes back without asking until retry_after has passed.
  absl::StatusOr<miner::ModelBackend*> Obtain(const chain::ModelRegistration& reg,
                                              const protocol::Peer& peer,
                                              protocol::Client& client);
  // A held model, or nullptr.
  miner::ModelBackend* Find(const Hash256& hash);
  // Unloads fetched models no longer in `registered` (local ones stay).
  void Retain(const std::set<Hash256>& registered);

  struct Stats {
    uint64_t fetched = 0;       // models fetched and verified
    uint64_t failed = 0;        // attempts that failed
    uint64_t bytes_fetched = 0;
  };
  Stats stats() const { return stats_; }

 private:
  absl::StatusOr<miner::ModelBackend*> LoadVerified(const chain::ModelRegistration& reg,
                                                    const std::string& package_bytes);
  absl::Status Fetch(const chain::ModelRegistration& reg, const protocol::Peer& peer,
                     protocol::Client& client, std::string* package);
  void Evict();

  struct Failure {
    absl::Status status;
    std::chrono::steady_clock::time_point retry_at;
  };
  const ModelStoreOptions o_;
  std::map<Hash256, std::unique_ptr<miner::ModelBackend>> models_;
  std::set<Hash256> local_;
  std::map<Hash256, Failure> failures_;
  Stats stats_;
};

}  // namespace agora::validator

#endif  // AGORA_VALIDATOR_MODEL_STORE_H_
