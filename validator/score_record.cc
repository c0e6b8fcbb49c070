#include "validator/score_record.h"

#include <algorithm>
#include <filesystem>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/address.h"
#include "common/file_util.h"

namespace agora::validator {
namespace {

// Compact, keys sorted (nlohmann's objects are ordered maps); invalid UTF-8
// from a miner's text is replaced so dumping never throws.
std::string Canonical(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// Records nest a few levels; a hostile file nested millions deep would
// overflow the stack of the recursive dump() that checks the signature, so
// such values are dropped while parsing, before they are built.
constexpr int kMaxDepth = 32;

}  // namespace

std::string SignRecord(const nlohmann::json& record, const SigningKey& key) {
  const std::string text = Canonical(record);
  const Signature sig = key.Sign(text);
  nlohmann::json out;
  out["record"] = record;
  out["signer"] = EncodeAddress(key.public_key());
  out["signature"] = ToHex(sig);
  return out.dump(1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

absl::StatusOr<VerifiedRecord> VerifySignedRecord(const std::string& text) {
  bool too_deep = false;
  nlohmann::json doc = nlohmann::json::parse(
      text,
      [&too_deep](int depth, nlohmann::json::parse_event_t, nlohmann::json&) {
        if (depth > kMaxDepth) too_deep = true;
        return !too_deep;
      },
      /*allow_exceptions=*/false);
  if (too_deep) return absl::InvalidArgumentError("score record: JSON nested too deeply");
  if (doc.is_discarded() || !doc.is_object()) {
    return absl::InvalidArgumentError("score record: not a JSON object");
  }
  if (!doc.contains("record") || !doc["record"].is_object() || !doc.contains("signer") ||
      !doc["signer"].is_string() || !doc.contains("signature") || !doc["signature"].is_string()) {
    return absl::InvalidArgumentError("score record: needs record, signer and signature");
  }
  absl::StatusOr<PublicKey> signer = ParseAddress(doc["signer"].get<std::string>());
  if (!signer.ok()) return signer.status();
  absl::StatusOr<std::string> sig = FromHex(doc["signature"].get<std::string>());
  if (!sig.ok() || sig->size() != kSignatureBytes) {
    return absl::InvalidArgumentError("score record: signature is not 64 bytes of hex");
  }
  const std::string body = Canonical(doc["record"]);
  Signature signature;
  std::copy(sig->begin(), sig->end(), signature.begin());
  if (!VerifySignature(*signer,
                       absl::MakeConstSpan(reinterpret_cast<const uint8_t*>(body.data()), body.size()),
                       signature)) {
    return absl::UnauthenticatedError("score record: signature does not verify");
  }
  return VerifiedRecord{std::move(doc["record"]), EncodeAddress(*signer)};
}

absl::StatusOr<nlohmann::json> VerifyRecord(const std::string& text) {
  absl::StatusOr<VerifiedRecord> v = VerifySignedRecord(text);
  if (!v.ok()) return v.status();
  return std::move(v->record);
}

std::string RecordPath(const std::string& dir, uint64_t step) {
  return absl::StrFormat("%s/step-%010d.json", dir, step);
}

absl::Status WriteRecord(const std::string& dir, uint64_t step, const std::string& signed_text) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return absl::InternalError(absl::StrCat("mkdir ", dir, ": ", ec.message()));
  return WriteFileAtomic(RecordPath(dir, step), signed_text, 0644);
}

}  // namespace agora::validator
