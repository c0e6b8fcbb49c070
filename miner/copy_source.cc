#include "miner/copy_source.h"

#include "absl/strings/str_cat.h"
#include "common/address.h"

namespace agora::miner {

CopySource::CopySource(const CopyTarget& target, const PublicKey& self)
    : target_(target), self_(self) {
  name_ = target_.uid ? absl::StrCat("uid ", *target_.uid)
                      : absl::StrCat("hotkey ", target_.hotkey ? EncodeAddress(*target_.hotkey) : "(none)");
}

absl::Status CopySource::Update(const chain::Metagraph& mg) {
  const chain::NeuronInfo* found = nullptr;
  for (const chain::NeuronInfo& n : mg.neurons) {
    if ((target_.uid && n.uid == *target_.uid) || (target_.hotkey && n.hotkey == *target_.hotkey)) {
      found = &n;
      break;
    }
  }
  absl::MutexLock lock(&mu_);
  if (found != nullptr && found->hotkey == self_) {
    peer_.reset();
    return absl::FailedPreconditionError(absl::StrCat(name_, " is this miner itself"));
  }
  if (found == nullptr || found->axon_endpoint.empty()) {
    peer_.reset();
    return absl::NotFoundError(absl::StrCat(
        name_, found == nullptr ? " is not on subnet " : " serves no endpoint on subnet ", mg.netuid));
  }
  peer_ = protocol::Peer{found->axon_endpoint, found->hotkey};
  return absl::OkStatus();
}

std::optional<protocol::Peer> CopySource::peer() const {
  absl::MutexLock lock(&mu_);
  return peer_;
}

PredictRelay MakeClientRelay(protocol::Client* client, const CopySource* source,
                             std::chrono::milliseconds timeout) {
  return [client, source, timeout](const protocol::PredictRequest& req)
             -> absl::StatusOr<protocol::PredictReply> {
    const std::optional<protocol::Peer> peer = source->peer();
    if (!peer) return absl::UnavailableError("no endpoint known for it yet");
    return client->CallTyped<protocol::PredictRequest, protocol::PredictReply>(
        *peer, protocol::MessageKind::kPredictRequest, protocol::MessageKind::kPredictReply, req,
        protocol::DeadlineAfter(timeout));
  };
}

}  // namespace agora::miner
