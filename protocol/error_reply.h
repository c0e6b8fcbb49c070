// Signed error replies: how a refusal crosses the wire and comes back as a
// Status. The server seals one (kind kError, body ErrorReply) in place of a
// reply; the client turns it back into the same refusal Status.
// docs/PROTOCOL.md "Refusals" lists the reason strings.
//
// Thread-safety: pure functions (SealRefusal draws from a thread-safe
// NonceGenerator).
#ifndef AGORA_PROTOCOL_ERROR_REPLY_H_
#define AGORA_PROTOCOL_ERROR_REPLY_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "common/crypto.h"
#include "protocol/nonce.h"
#include "protocol/refusal.h"

namespace agora::protocol {

// Longest `detail` sent or surfaced, so error text stays small on the wire.
inline constexpr size_t kMaxErrorDetailBytes = 512;

// The reason a failed request is refused with: the refusal carried by
// `status` (protocol/refusal.h) or, for a plain Status, kBadRequest for codes
// that blame the caller (InvalidArgument, OutOfRange, FailedPrecondition,
// NotFound, AlreadyExists, PermissionDenied, Unauthenticated) and kInternal
// for the rest. Requires: !status.ok().
Reason RefusalReasonFor(const absl::Status& status);

// Seals the kError envelope refusing the request whose bytes hash to
// `request_hash`, addressed to `receiver` (the request's claimed sender, or
// the zero key when the request was too short to name one). The detail is
// the status message without its "<reason>: " prefix, truncated; for
// kInternal failures that were not refusals it is empty, so our own errors
// never leak to peers. Requires: !status.ok().
std::string SealRefusal(const SigningKey& key, NonceGenerator& nonces, const PublicKey& receiver,
                        const Hash256& request_hash, const absl::Status& status, uint64_t now_ms);

// The Status an ErrorReply body stands for: Refuse(reason, detail) for a
// known reason, Unknown for a reason this build does not know, and
// InvalidArgument when the body is not a canonical ErrorReply.
absl::Status StatusFromErrorReply(absl::string_view body);

}  // namespace agora::protocol

#endif  // AGORA_PROTOCOL_ERROR_REPLY_H_
