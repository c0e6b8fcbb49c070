#include "chain/tx_reject.h"

#include <string>

#include "absl/strings/cord.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/types/optional.h"

namespace agora::chain {
namespace {
constexpr absl::string_view kPayloadUrl = "agora.tx-reject";
constexpr TxReject kLast = TxReject::kUnchanged;
}  // namespace

absl::string_view TxRejectString(TxReject reason) {
  switch (reason) {
    case TxReject::kBadTx: return "bad-tx";
    case TxReject::kBadSignature: return "bad-signature";
    case TxReject::kBadNonce: return "bad-nonce";
    case TxReject::kInsufficientBalance: return "insufficient-balance";
    case TxReject::kInsufficientStake: return "insufficient-stake";
    case TxReject::kAmountInvalid: return "amount-invalid";
    case TxReject::kOverflow: return "overflow";
    case TxReject::kUnknownSubnet: return "unknown-subnet";
    case TxReject::kUnregisteredHotkey: return "unregistered-hotkey";
    case TxReject::kNotOwner: return "not-owner";
    case TxReject::kAlreadyRegistered: return "already-registered";
    case TxReject::kRegistrationLimit: return "registration-limit";
    case TxReject::kBurnTooHigh: return "burn-too-high";
    case TxReject::kBadPow: return "bad-pow";
    case TxReject::kBadWeights: return "bad-weights";
    case TxReject::kNoValidatorPermit: return "no-validator-permit";
    case TxReject::kVersionMismatch: return "version-mismatch";
    case TxReject::kRateLimited: return "rate-limited";
    case TxReject::kCommitRevealRequired: return "commit-reveal-required";
    case TxReject::kCommitRevealDisabled: return "commit-reveal-disabled";
    case TxReject::kNoCommit: return "no-commit";
    case TxReject::kRevealTooEarly: return "reveal-too-early";
    case TxReject::kCommitMismatch: return "commit-mismatch";
    case TxReject::kBadEndpoint: return "bad-endpoint";
    case TxReject::kBadModel: return "bad-model";
    case TxReject::kModelTaken: return "model-taken";
    case TxReject::kUnchanged: return "unchanged";
  }
  return "bad-tx";
}

absl::Status Reject(TxReject reason, absl::string_view detail) {
  const absl::string_view text = TxRejectString(reason);
  const absl::StatusCode code = reason == TxReject::kBadTx || reason == TxReject::kBadSignature ||
                                        reason == TxReject::kBadWeights ||
                                        reason == TxReject::kAmountInvalid ||
                                        reason == TxReject::kBadEndpoint ||
                                        reason == TxReject::kBadModel
                                    ? absl::StatusCode::kInvalidArgument
                                    : absl::StatusCode::kFailedPrecondition;
  absl::Status s(code, detail.empty() ? std::string(text) : absl::StrCat(text, ": ", detail));
  s.SetPayload(kPayloadUrl, absl::Cord(text));
  return s;
}

std::optional<TxReject> TxRejectOf(const absl::Status& status) {
  absl::optional<absl::Cord> payload = status.GetPayload(kPayloadUrl);
  if (!payload.has_value()) return std::nullopt;
  const std::string text(*payload);
  for (int r = 0; r <= static_cast<int>(kLast); ++r) {
    if (TxRejectString(static_cast<TxReject>(r)) == text) return static_cast<TxReject>(r);
  }
  return std::nullopt;
}

namespace {
// The decimal number right after the first `marker` in `text`.
std::optional<uint64_t> NumberAfter(absl::string_view text, absl::string_view marker) {
  const size_t at = text.find(marker);
  if (at == absl::string_view::npos) return std::nullopt;
  absl::string_view rest = text.substr(at + marker.size());
  size_t digits = 0;
  while (digits < rest.size() && rest[digits] >= '0' && rest[digits] <= '9') ++digits;
  uint64_t n = 0;
  if (digits == 0 || !absl::SimpleAtoi(rest.substr(0, digits), &n)) return std::nullopt;
  return n;
}
}  // namespace

std::optional<uint64_t> RetryBlockOf(const absl::Status& status) {
  const std::optional<TxReject> reason = TxRejectOf(status);
  if (reason == TxReject::kRegistrationLimit) {
    const std::optional<uint64_t> full = NumberAfter(status.message(), " registrations in block ");
    if (full.has_value() && *full < UINT64_MAX) return *full + 1;
  } else if (reason == TxReject::kRateLimited) {
    return NumberAfter(status.message(), " again at block ");
  }
  return std::nullopt;
}

absl::Status RestoreTxReject(const absl::Status& status) {
  absl::string_view msg = status.message();
  constexpr absl::string_view kTransportPrefix = "bad-request: ";
  if (msg.substr(0, kTransportPrefix.size()) == kTransportPrefix) msg.remove_prefix(kTransportPrefix.size());
  for (int r = 0; r <= static_cast<int>(kLast); ++r) {
    const TxReject reason = static_cast<TxReject>(r);
    const absl::string_view text = TxRejectString(reason);
    if (msg.substr(0, text.size()) == text &&
        (msg.size() == text.size() || msg.substr(text.size(), 2) == ": ")) {
      return Reject(reason, msg.size() > text.size() ? msg.substr(text.size() + 2) : "");
    }
  }
  return status;
}

}  // namespace agora::chain
