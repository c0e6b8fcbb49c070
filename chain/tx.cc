#include "chain/tx.h"

#include "absl/strings/str_cat.h"
#include "chain/tx_reject.h"
#include "common/wire.h"

namespace agora::chain {
namespace {
constexpr absl::string_view kTxDomain = "agora-tx-v1";
}  // namespace

std::string TxSigningInput(absl::string_view body) { return absl::StrCat(kTxDomain, body); }

absl::StatusOr<SignedTx> DecodeSignedTx(absl::string_view bytes) {
  if (bytes.size() > kMaxTxBytes) {
    return Reject(TxReject::kBadTx, absl::StrCat("tx: ", bytes.size(), " bytes (limit ",
                                                 kMaxTxBytes, ")"));
  }
  absl::StatusOr<SignedTx> tx = protocol::Decode<SignedTx>(bytes, "SignedTx");
  if (!tx.ok()) return Reject(TxReject::kBadTx, tx.status().message());
  return tx;
}

absl::StatusOr<TxBody> VerifyTx(const SignedTx& tx) {
  if (tx.body.size() > kMaxTxBytes) return Reject(TxReject::kBadTx, "tx.body: too large");
  // The signer is read from the body before verification: a forged signer only
  // makes the signature check fail.
  absl::StatusOr<TxBody> body = protocol::Decode<TxBody>(tx.body, "TxBody");
  if (!body.ok()) return Reject(TxReject::kBadTx, body.status().message());
  if (!VerifySignature(body->signer, AsBytes(TxSigningInput(tx.body)), tx.signature)) {
    return Reject(TxReject::kBadSignature, "tx.signature does not verify for tx.signer");
  }
  return body;
}

Hash256 TxHash(const SignedTx& tx) { return Blake2b256(protocol::Encode(tx)); }

Hash256 WeightsCommitHash(const PublicKey& hotkey, NetUid netuid, const std::vector<uint16_t>& uids,
                          const std::vector<uint16_t>& weights, const std::string& salt,
                          uint64_t version_key) {
  RevealWeightsTx reveal{netuid, uids, weights, salt, version_key};
  return Blake2b256(absl::StrCat("agora-commit-v1", AsStringView(hotkey),
                                 protocol::Encode(reveal)));
}

Hash256 PowHash(NetUid netuid, const PublicKey& hotkey, const PublicKey& coldkey,
                const Hash256& block_hash, uint64_t pow_nonce) {
  uint8_t numbers[10];
  wire::PutU16(numbers, netuid);
  wire::PutU64(numbers + 2, pow_nonce);
  return Blake2b256(absl::StrCat(
      "agora-pow-v1", absl::string_view(reinterpret_cast<const char*>(numbers), 2),
      AsStringView(hotkey), AsStringView(coldkey), AsStringView(block_hash),
      absl::string_view(reinterpret_cast<const char*>(numbers + 2), 8)));
}

uint32_t LeadingZeroBits(const Hash256& h) {
  uint32_t bits = 0;
  for (uint8_t byte : h) {
    if (byte == 0) {
      bits += 8;
      continue;
    }
    for (int b = 7; b >= 0 && !(byte & (1 << b)); --b) ++bits;
    break;
  }
  return bits;
}

}  // namespace agora::chain
