// Admission control: who may use the miner's model, decided before a request
// is decoded or queued (the transport's admission hook, protocol/zmq_server.h).
// A sender must be a hotkey registered on the subnet with at least min_stake
// (and a validator permit if require_permit), and within its token bucket
// (rate_per_s, burst). The decision is cheap: one hash lookup under a lock.
// The registered set comes from the chain's metagraph, refreshed by the
// miner's background thread (miner/miner.h) through Update().
//
// A sender's stake is also its priority in the model queue (miner/batcher.h).
//
// Thread-safe: all methods may be called concurrently.
#ifndef AGORA_MINER_ADMISSION_H_
#define AGORA_MINER_ADMISSION_H_

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "common/crypto.h"
#include "protocol/refusal.h"

namespace agora::miner {

struct AdmissionOptions {
  uint64_t min_stake = 0;       // base units
  bool require_permit = false;  // only validators
  double rate_per_s = 50;       // token-bucket refill per hotkey; 0: no limit
  double burst = 100;           // bucket size
  bool open = false;            // admit anyone (benchmarks, local tests): no registration check
};

// One registered hotkey, as the metagraph tells it.
struct Member {
  PublicKey hotkey{};
  uint64_t stake = 0;
  bool validator_permit = false;
};

// Counts of decisions, by outcome.
struct AdmissionStats {
  uint64_t admitted = 0;
  uint64_t unregistered = 0;
  uint64_t rate_limited = 0;
  uint64_t members = 0;  // hotkeys currently known
};

class Admission {
 public:
  explicit Admission(AdmissionOptions options) : options_(options) {}

  // Replaces the registered set (buckets of hotkeys still present are kept).
  void Update(const std::vector<Member>& members);

  // OK, or a refusal: kUnregistered ("not registered", "stake below
  // min_stake", "no validator permit") or kRateLimited.
  absl::Status Admit(const PublicKey& sender, std::chrono::steady_clock::time_point now);

  // The server's prescreen (protocol/zmq_server.h), on the sender a request
  // claims before it is verified: false when Admit would refuse that hotkey
  // whatever its rate (not registered, stake below min_stake, no permit);
  // counted as unregistered then. Buckets are left alone: the claim is not
  // verified yet, and Admit runs for what passes.
  bool Prescreen(const PublicKey& claimed_sender);

  // True when the sender holds a validator permit (or admission is open):
  // who may fetch the model (ModelFetchRequest). A refusal counts as
  // unregistered (the miner then re-reads the metagraph within a moment).
  bool HasPermit(const PublicKey& sender);

  // The sender's stake (its queue priority); 0 if unknown.
  uint64_t Priority(const PublicKey& sender) const;

  AdmissionStats Stats() const;

 private:
  struct Entry {
    Member member;
    double tokens = 0;
    std::chrono::steady_clock::time_point refilled{};
    bool fresh = true;
  };
  const AdmissionOptions options_;
  mutable absl::Mutex mu_;
  absl::flat_hash_map<PublicKey, Entry> members_ ABSL_GUARDED_BY(mu_);
  // Buckets of senders in open mode (not registered); bounded, see Admit().
  absl::flat_hash_map<PublicKey, Entry> open_buckets_ ABSL_GUARDED_BY(mu_);
  AdmissionStats stats_ ABSL_GUARDED_BY(mu_);
};

}  // namespace agora::miner

#endif  // AGORA_MINER_ADMISSION_H_
