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
// Request() does the same in the background, on the store's worker threads
// (fetch_workers), and never waits: the validator's loop asks for the models of a
// step's miners and goes on with those already held, so a miner that
// trickles its package (or a slow network) costs the loop nothing; the
// miners whose models are still being fetched sit the step out.
//
// Thread-safe. A model pointer handed out stays valid until Retain() drops
// its hash (called by the thread that uses the pointers) or the store goes.
#ifndef AGORA_VALIDATOR_MODEL_STORE_H_
#define AGORA_VALIDATOR_MODEL_STORE_H_

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

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
  // One attempt; the rest resumes at the next. Bounds what a miner that
  // trickles its pieces holds the fetch worker for, every retry_after.
  std::chrono::milliseconds fetch_budget{20'000};
  std::chrono::milliseconds retry_after{60'000};    // after a failed attempt
  // After the miner refused us as not permitted: its view of the metagraph
  // may not show our permit yet (it re-reads it within a moment).
  std::chrono::milliseconds retry_unpermitted{2'000};
  // Fetches at once (worker threads): a miner that trickles its package
  // holds one of them for fetch_budget every retry_after, not all, and its
  // retries wait behind every first attempt queued.
  size_t fetch_workers = 2;
  bool cpu = false;                       // load on the CPU even with CUDA
};

class ModelStore {
 public:
  explicit ModelStore(ModelStoreOptions options) : o_(std::move(options)) {}
  // Stops the worker: a fetch in progress is abandoned after its current
  // piece (resumed from its .part by the next store).
  ~ModelStore();
  ModelStore(const ModelStore&) = delete;
  ModelStore& operator=(const ModelStore&) = delete;

  // Loads a checkpoint the validator was given; it is never evicted.
  absl::StatusOr<miner::ModelBackend*> AddLocal(const std::string& checkpoint_dir);

  // The model registered as `reg`: held, loaded from the cache, or fetched
  // from `peer` with `client` (by the worker; this waits for it). The error
  // says why it cannot be had (too large, refused, not the registered
  // hash, ...); after a failure the same error comes back without asking
  // until retry_after has passed.
  absl::StatusOr<miner::ModelBackend*> Obtain(const chain::ModelRegistration& reg,
                                              const protocol::Peer& peer,
                                              protocol::Client& client);
  // Obtain without waiting for the network: the model if held (or loaded
  // now from the cache, where a restart finds it); the last failure while it
  // waits out its retry time; otherwise the fetch is queued for the worker
  // (once per hash) and Unavailable ("being fetched") comes back with
  // *fetching set (false in every other case). `client` must outlive the
  // store.
  absl::StatusOr<miner::ModelBackend*> Request(const chain::ModelRegistration& reg,
                                               const protocol::Peer& peer,
                                               protocol::Client& client, bool* fetching);
  // Blocks until the worker has nothing queued or in progress.
  void WaitIdle();
  // A held model, or nullptr.
  miner::ModelBackend* Find(const Hash256& hash);
  // Unloads fetched models no longer in `registered` (local ones stay).
  void Retain(const std::set<Hash256>& registered);

  struct Stats {
    uint64_t fetched = 0;       // models fetched and verified
    uint64_t failed = 0;        // attempts that failed
    uint64_t bytes_fetched = 0;
  };
  Stats stats() const;

 private:
  // Request's work under mu_: held, failed recently, or queued.
  absl::StatusOr<miner::ModelBackend*> Enqueue(const chain::ModelRegistration& reg,
                                               const protocol::Peer& peer,
                                               protocol::Client& client);
  // The worker's: fetch (or read from the cache), verify, load; the model
  // goes into models_, a failure into failures_. With `cache_only` (the
  // caller's thread) nothing is fetched: a package gone from the cache is
  // left to the worker.
  void Attempt(const chain::ModelRegistration& reg, const protocol::Peer& peer,
               protocol::Client& client, bool cache_only);
  bool Stopping() const;
  absl::StatusOr<std::unique_ptr<miner::ModelBackend>> LoadVerified(
      const chain::ModelRegistration& reg, const std::string& package_bytes);
  absl::Status Fetch(const chain::ModelRegistration& reg, const protocol::Peer& peer,
                     protocol::Client& client, std::string* package);
  void Evict();

  struct Failure {
    absl::Status status;
    std::chrono::steady_clock::time_point retry_at;
  };
  struct Queued {
    chain::ModelRegistration reg;
    protocol::Peer peer;
    protocol::Client* client = nullptr;
  };
  void Work();

  const ModelStoreOptions o_;
  mutable std::mutex mu_;  // guards everything below but o_
  std::map<Hash256, std::unique_ptr<miner::ModelBackend>> models_;
  std::set<Hash256> local_;
  std::map<Hash256, Failure> failures_;
  Stats stats_;
  // Request's queue, and the hashes queued or being fetched.
  std::deque<Queued> queue_;
  std::set<Hash256> pending_;
  std::condition_variable changed_;
  bool stopping_ = false;
  std::vector<std::thread> workers_;  // started by the first Request
  std::mutex evict_mu_;               // one Evict at a time
};

}  // namespace agora::validator

#endif  // AGORA_VALIDATOR_MODEL_STORE_H_
