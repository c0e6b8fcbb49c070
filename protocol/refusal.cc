#include "protocol/refusal.h"

#include <array>
#include <utility>

#include "absl/strings/cord.h"
#include "absl/types/optional.h"
#include "absl/strings/str_cat.h"

namespace agora::protocol {
namespace {

constexpr absl::string_view kPayloadUrl = "agora.refusal";

struct ReasonInfo {
  Reason reason;
  absl::string_view text;
  absl::StatusCode code;
};

constexpr std::array<ReasonInfo, 17> kReasons = {{
    {Reason::kOversize, "oversize", absl::StatusCode::kResourceExhausted},
    {Reason::kBadLength, "bad-length", absl::StatusCode::kInvalidArgument},
    {Reason::kBadVersion, "bad-version", absl::StatusCode::kInvalidArgument},
    {Reason::kBadSignature, "bad-signature", absl::StatusCode::kUnauthenticated},
    {Reason::kBadBodyHash, "bad-body-hash", absl::StatusCode::kUnauthenticated},
    {Reason::kWrongReceiver, "wrong-receiver", absl::StatusCode::kPermissionDenied},
    {Reason::kStaleTimestamp, "stale-timestamp", absl::StatusCode::kFailedPrecondition},
    {Reason::kFutureTimestamp, "future-timestamp", absl::StatusCode::kFailedPrecondition},
    {Reason::kReplayedNonce, "replayed-nonce", absl::StatusCode::kAlreadyExists},
    {Reason::kReplayCacheFull, "replay-cache-full", absl::StatusCode::kUnavailable},
    {Reason::kBadBody, "bad-body", absl::StatusCode::kInvalidArgument},
    {Reason::kUnknownKind, "unknown-kind", absl::StatusCode::kUnimplemented},
    {Reason::kOverloaded, "overloaded", absl::StatusCode::kUnavailable},
    {Reason::kUnregistered, "unregistered", absl::StatusCode::kPermissionDenied},
    {Reason::kRateLimited, "rate-limited", absl::StatusCode::kResourceExhausted},
    {Reason::kBadRequest, "bad-request", absl::StatusCode::kInvalidArgument},
    {Reason::kInternal, "internal", absl::StatusCode::kInternal},
}};

const ReasonInfo& Info(Reason reason) {
  for (const ReasonInfo& info : kReasons) {
    if (info.reason == reason) return info;
  }
  return kReasons.back();  // unreachable: the table covers every enumerator
}

}  // namespace

absl::string_view ReasonString(Reason reason) { return Info(reason).text; }

std::optional<Reason> ReasonFromString(absl::string_view s) {
  for (const ReasonInfo& info : kReasons) {
    if (info.text == s) return info.reason;
  }
  return std::nullopt;
}

absl::Status Refuse(Reason reason, absl::string_view detail) {
  const ReasonInfo& info = Info(reason);
  absl::Status status(info.code, detail.empty() ? std::string(info.text)
                                                : absl::StrCat(info.text, ": ", detail));
  status.SetPayload(kPayloadUrl, absl::Cord(info.text));
  return status;
}

std::optional<Reason> ReasonOf(const absl::Status& status) {
  absl::optional<absl::Cord> payload = status.GetPayload(kPayloadUrl);
  if (!payload.has_value()) return std::nullopt;
  return ReasonFromString(std::string(*payload));
}

}  // namespace agora::protocol
