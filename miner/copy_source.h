// Where a copycat miner (miner/copycat.h) finds the miner it copies: the
// uid or hotkey it was given, resolved to an endpoint and hotkey through the
// subnet's metagraph, kept fresh as the miner re-reads it (the copied miner
// may announce or move its endpoint later). The relay sends PredictRequests
// there with the miner's own protocol client, signed by its own hotkey.
//
// Thread-safety: Update() and the relay may run on different threads.
#ifndef AGORA_MINER_COPY_SOURCE_H_
#define AGORA_MINER_COPY_SOURCE_H_

#include <chrono>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "chain/messages.h"
#include "miner/adversary.h"
#include "miner/copycat.h"
#include "protocol/zmq_client.h"

namespace agora::miner {

class CopySource {
 public:
  // `self`: the copycat's own hotkey, which it must not copy.
  CopySource(const CopyTarget& target, const PublicKey& self);

  // Takes the copied miner's endpoint and hotkey from `mg`. FailedPrecondition
  // if the target is the copycat itself; NotFound (and the last peer is
  // forgotten) if it is not on the subnet or has no endpoint yet.
  absl::Status Update(const chain::Metagraph& mg);

  std::optional<protocol::Peer> peer() const;
  // "uid 3" or "hotkey ag...", for logs and errors.
  const std::string& name() const { return name_; }

 private:
  CopyTarget target_;
  PublicKey self_;
  std::string name_;
  mutable absl::Mutex mu_;
  std::optional<protocol::Peer> peer_ ABSL_GUARDED_BY(mu_);
};

// A relay that sends each request to `source`'s current peer through
// `client` and waits at most `timeout`. Unavailable while the source has no
// peer; otherwise the client's errors (a refusal, DeadlineExceeded, ...) or
// a reply that is not a PredictReply. `client` and `source` must outlive it.
PredictRelay MakeClientRelay(protocol::Client* client, const CopySource* source,
                             std::chrono::milliseconds timeout);

}  // namespace agora::miner

#endif  // AGORA_MINER_COPY_SOURCE_H_
