#include "validator/receipt.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/address.h"
#include "protocol/codec.h"
#include "protocol/envelope.h"
#include "protocol/message_kind.h"

namespace agora::validator {

nlohmann::json MakeReceipt(uint16_t uid, const PublicKey& hotkey, absl::string_view envelope) {
  absl::StatusOr<protocol::EnvelopeHeader> h = protocol::PeekHeader(envelope);
  std::string model;
  const absl::string_view body = envelope.substr(std::min(envelope.size(), protocol::kEnvelopeOverhead));
  if (h.ok() && h->kind == protocol::MessageKind::kPredictReply) {
    absl::StatusOr<protocol::PredictReply> rep = protocol::Decode<protocol::PredictReply>(body, "PredictReply");
    if (rep.ok()) model = ToHex(rep->model_hash);
  } else if (h.ok()) {
    absl::StatusOr<protocol::GenerateReply> rep = protocol::Decode<protocol::GenerateReply>(body, "GenerateReply");
    if (rep.ok()) model = ToHex(rep->model_hash);
  }
  return {{"uid", uid},
          {"hotkey", EncodeAddress(hotkey)},
          {"model", model},
          {"envelope", ToHex(absl::MakeConstSpan(reinterpret_cast<const uint8_t*>(envelope.data()),
                                                 envelope.size()))}};
}

namespace {

// The receipt's signed reply, of `kind`, decoded as `Reply` and naming the
// receipt's model (VerifyReceipt's contract, for either reply).
template <typename Reply>
absl::StatusOr<Reply> VerifyAs(const nlohmann::json& r, protocol::MessageKind kind, const char* name) {
  if (!r.is_object() || !r.contains("hotkey") || !r["hotkey"].is_string() ||
      !r.contains("model") || !r["model"].is_string() || !r.contains("envelope") ||
      !r["envelope"].is_string()) {
    return absl::InvalidArgumentError("receipt: needs hotkey, model and envelope strings");
  }
  absl::StatusOr<PublicKey> hotkey = ParseAddress(r["hotkey"].get<std::string>());
  if (!hotkey.ok()) return absl::InvalidArgumentError(absl::StrCat("receipt: ", hotkey.status().message()));
  absl::StatusOr<std::string> envelope = FromHex(r["envelope"].get<std::string>());
  if (!envelope.ok()) return absl::InvalidArgumentError("receipt: envelope is not hex");
  absl::StatusOr<protocol::EnvelopeHeader> header = protocol::PeekHeader(*envelope);
  if (!header.ok()) return absl::InvalidArgumentError(absl::StrCat("receipt: ", header.status().message()));
  if (header->sender != *hotkey) {
    return absl::UnauthenticatedError("receipt: the envelope was not sent by the named hotkey");
  }
  if (header->kind != kind) {
    return absl::UnauthenticatedError(absl::StrCat("receipt: the envelope is not a ", name));
  }
  // Checked as its receiver would have, at the time it was sent: the
  // signature and the body hash are what matter here, not freshness.
  protocol::OpenContext ctx;
  ctx.self = header->receiver;
  ctx.now_ms = header->timestamp_ms;
  absl::StatusOr<protocol::OpenedEnvelope> opened = protocol::OpenEnvelope(*envelope, ctx);
  if (!opened.ok()) {
    return absl::UnauthenticatedError(absl::StrCat("receipt: ", opened.status().message()));
  }
  absl::StatusOr<Reply> rep = protocol::Decode<Reply>(opened->body, name);
  if (!rep.ok()) return absl::UnauthenticatedError(absl::StrCat("receipt: ", rep.status().message()));
  if (ToHex(rep->model_hash) != r["model"].get<std::string>()) {
    return absl::UnauthenticatedError("receipt: the signed reply names another model");
  }
  return rep;
}

}  // namespace

absl::StatusOr<protocol::GenerateReply> VerifyReceipt(const nlohmann::json& r) {
  return VerifyAs<protocol::GenerateReply>(r, protocol::MessageKind::kGenerateReply, "GenerateReply");
}

absl::StatusOr<protocol::PredictReply> VerifyPredictReceipt(const nlohmann::json& r) {
  return VerifyAs<protocol::PredictReply>(r, protocol::MessageKind::kPredictReply, "PredictReply");
}

}  // namespace agora::validator
