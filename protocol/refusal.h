// Refusal reasons: the stable strings a receiver sends back (in a signed error
// reply) and counts in its metrics when it refuses a message. The strings are
// part of the protocol: never rename one; see docs/PROTOCOL.md "Refusals".
//
// A refusal travels inside an absl::Status: the code is chosen per reason, the
// message starts with the reason string, and the reason is also attached as a
// payload so callers can switch on it without parsing text.
#ifndef AGORA_PROTOCOL_REFUSAL_H_
#define AGORA_PROTOCOL_REFUSAL_H_

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace agora::protocol {

enum class Reason {
  kOversize,         // envelope larger than the receiver's limit
  kBadLength,        // shorter than a header, or length fields disagree
  kBadVersion,       // protocol version not spoken by the receiver
  kBadSignature,     // signature missing, empty or not valid for the sender
  kBadBodyHash,      // body bytes do not hash to the signed body hash
  kWrongReceiver,    // addressed to another hotkey
  kStaleTimestamp,   // older than the skew window
  kFutureTimestamp,  // newer than the skew window
  kReplayedNonce,    // nonce already seen (or below the sender's window)
  kReplayCacheFull,  // too many distinct live senders to track safely
  kBadBody,          // body is not the canonical msgpack of the expected struct
  kUnknownKind,      // no handler for this message kind
  kOverloaded,       // work queue full
  kUnregistered,     // sender not registered / not permitted
  kRateLimited,      // sender over its rate limit
  kBadRequest,       // decoded, but the request's values are invalid
  kInternal,         // the receiver failed; not the sender's fault
};

// The stable wire string of a reason, e.g. "bad-signature".
absl::string_view ReasonString(Reason reason);
// The reason named by a wire string, if known.
std::optional<Reason> ReasonFromString(absl::string_view s);

// A Status carrying `reason`: message "<reason>: <detail>".
absl::Status Refuse(Reason reason, absl::string_view detail);
// The reason carried by `status`, if it is a refusal made by Refuse().
std::optional<Reason> ReasonOf(const absl::Status& status);

}  // namespace agora::protocol

#endif  // AGORA_PROTOCOL_REFUSAL_H_
