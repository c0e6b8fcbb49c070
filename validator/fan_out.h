// Sends one request body to many miners at once and times each answer from
// the validator's side (the time a miner reports about itself is never
// trusted for scoring).
#ifndef AGORA_VALIDATOR_FAN_OUT_H_
#define AGORA_VALIDATOR_FAN_OUT_H_

#include <chrono>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "protocol/zmq_client.h"

namespace agora::validator {

struct TimedReply {
  absl::StatusOr<protocol::Reply> reply = absl::UnknownError("not sent");
  std::chrono::microseconds latency{0};  // send to verified reply (or failure)
};

// One result per peer, in the order of `peers`; returns by the deadline.
std::vector<TimedReply> FanOutTimed(protocol::Client& client,
                                    const std::vector<protocol::Peer>& peers,
                                    protocol::MessageKind kind, absl::string_view body,
                                    protocol::Deadline deadline);

}  // namespace agora::validator

#endif  // AGORA_VALIDATOR_FAN_OUT_H_
