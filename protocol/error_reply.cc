#include "protocol/error_reply.h"

#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "protocol/codec.h"
#include "protocol/envelope.h"
#include "protocol/messages.h"

namespace agora::protocol {
namespace {

std::string Truncated(absl::string_view s) {
  return std::string(s.substr(0, kMaxErrorDetailBytes));
}

}  // namespace

Reason RefusalReasonFor(const absl::Status& status) {
  if (std::optional<Reason> reason = ReasonOf(status)) return *reason;
  switch (status.code()) {
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kOutOfRange:
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kNotFound:
    case absl::StatusCode::kAlreadyExists:
    case absl::StatusCode::kPermissionDenied:
    case absl::StatusCode::kUnauthenticated:
      return Reason::kBadRequest;
    default:
      return Reason::kInternal;
  }
}

std::string SealRefusal(const SigningKey& key, NonceGenerator& nonces, const PublicKey& receiver,
                        const Hash256& request_hash, const absl::Status& status, uint64_t now_ms) {
  const bool is_refusal = ReasonOf(status).has_value();
  const Reason reason = RefusalReasonFor(status);
  ErrorReply reply;
  reply.reason = std::string(ReasonString(reason));
  absl::string_view detail = status.message();
  if (is_refusal) {
    const std::string prefix = absl::StrCat(reply.reason, ": ");
    if (absl::StartsWith(detail, prefix)) {
      detail.remove_prefix(prefix.size());
    } else if (detail == reply.reason) {
      detail = {};
    }
  } else if (reason == Reason::kInternal) {
    detail = {};
  }
  reply.detail = Truncated(detail);
  SealParams params;
  params.receiver = receiver;
  params.kind = MessageKind::kError;
  params.nonce = nonces.Next();
  params.timestamp_ms = now_ms;
  params.request_hash = request_hash;
  return SealEnvelope(key, params, Encode(reply));
}

absl::Status StatusFromErrorReply(absl::string_view body) {
  absl::StatusOr<ErrorReply> reply = Decode<ErrorReply>(body, "ErrorReply");
  if (!reply.ok()) return reply.status();
  std::optional<Reason> reason = ReasonFromString(reply->reason);
  if (!reason.has_value()) {
    return absl::UnknownError(absl::StrCat("peer refused with unknown reason \"",
                                           Truncated(reply->reason),
                                           "\": ", Truncated(reply->detail)));
  }
  return Refuse(*reason, Truncated(reply->detail));
}

}  // namespace agora::protocol
