#include "protocol/envelope.h"

#include <cstring>

#include "absl/strings/str_cat.h"
#include "common/wire.h"
#include "protocol/refusal.h"

namespace agora::protocol {
namespace {

// Domain separation: an envelope signature can never be mistaken for a
// signature over a chain transaction or a key file, whatever the bytes.
constexpr absl::string_view kSigningDomain = "agora-envelope-v1";

constexpr size_t kOffVersion = 0;
constexpr size_t kOffKind = 1;
constexpr size_t kOffFlags = 2;
constexpr size_t kOffSender = 4;
constexpr size_t kOffReceiver = 36;
constexpr size_t kOffNonce = 68;
constexpr size_t kOffTimestamp = 76;
constexpr size_t kOffRequestHash = 84;
constexpr size_t kOffBodyLen = 116;
constexpr size_t kOffBodyHash = 120;
static_assert(kOffBodyHash + kHashBytes == kHeaderBytes);

const uint8_t* U8(absl::string_view s) { return reinterpret_cast<const uint8_t*>(s.data()); }

template <size_t N>
std::array<uint8_t, N> Copy(const uint8_t* p) {
  std::array<uint8_t, N> out;
  std::memcpy(out.data(), p, N);
  return out;
}

// The signed message: domain || header. Built on the stack (169 bytes).
std::array<uint8_t, kSigningDomain.size() + kHeaderBytes> SigningInput(const uint8_t* header) {
  std::array<uint8_t, kSigningDomain.size() + kHeaderBytes> in;
  std::memcpy(in.data(), kSigningDomain.data(), kSigningDomain.size());
  std::memcpy(in.data() + kSigningDomain.size(), header, kHeaderBytes);
  return in;
}

EnvelopeHeader ParseHeader(const uint8_t* p) {
  EnvelopeHeader h;
  h.version = p[kOffVersion];
  h.kind = static_cast<MessageKind>(p[kOffKind]);
  h.flags = wire::GetU16(p + kOffFlags);
  h.sender = Copy<kPublicKeyBytes>(p + kOffSender);
  h.receiver = Copy<kPublicKeyBytes>(p + kOffReceiver);
  h.nonce = wire::GetU64(p + kOffNonce);
  h.timestamp_ms = wire::GetU64(p + kOffTimestamp);
  h.request_hash = Copy<kHashBytes>(p + kOffRequestHash);
  h.body_len = wire::GetU32(p + kOffBodyLen);
  h.body_hash = Copy<kHashBytes>(p + kOffBodyHash);
  return h;
}

}  // namespace

std::string SealEnvelope(const SigningKey& key, const SealParams& params,
                         absl::string_view body) {
  std::string out(kEnvelopeOverhead + body.size(), '\0');
  uint8_t* p = reinterpret_cast<uint8_t*>(out.data());
  p[kOffVersion] = kProtocolVersion;
  p[kOffKind] = static_cast<uint8_t>(params.kind);
  wire::PutU16(p + kOffFlags, 0);
  std::memcpy(p + kOffSender, key.public_key().data(), kPublicKeyBytes);
  std::memcpy(p + kOffReceiver, params.receiver.data(), kPublicKeyBytes);
  wire::PutU64(p + kOffNonce, params.nonce);
  wire::PutU64(p + kOffTimestamp, params.timestamp_ms);
  std::memcpy(p + kOffRequestHash, params.request_hash.data(), kHashBytes);
  wire::PutU32(p + kOffBodyLen, static_cast<uint32_t>(body.size()));
  const Hash256 body_hash = Blake2b256(body);
  std::memcpy(p + kOffBodyHash, body_hash.data(), kHashBytes);
  const auto signing_input = SigningInput(p);
  const Signature sig = key.Sign(absl::Span<const uint8_t>(signing_input));
  std::memcpy(p + kHeaderBytes, sig.data(), kSignatureBytes);
  if (!body.empty()) std::memcpy(p + kEnvelopeOverhead, body.data(), body.size());
  return out;
}

Hash256 EnvelopeHash(absl::string_view envelope_bytes) { return Blake2b256(envelope_bytes); }

absl::StatusOr<EnvelopeHeader> PeekHeader(absl::string_view bytes) {
  if (bytes.size() < kHeaderBytes) {
    return Refuse(Reason::kBadLength,
                  absl::StrCat("envelope: ", bytes.size(), " bytes, header needs ", kHeaderBytes));
  }
  return ParseHeader(U8(bytes));
}

absl::StatusOr<OpenedEnvelope> OpenEnvelope(absl::string_view bytes, const OpenContext& ctx) {
  // 1. Size: the cheapest check, before touching any field.
  if (bytes.size() > ctx.max_envelope_bytes) {
    return Refuse(Reason::kOversize, absl::StrCat("envelope: ", bytes.size(),
                                                  " bytes (limit ", ctx.max_envelope_bytes, ")"));
  }
  if (bytes.size() < kEnvelopeOverhead) {
    return Refuse(Reason::kBadLength, absl::StrCat("envelope: ", bytes.size(),
                                                   " bytes, minimum ", kEnvelopeOverhead));
  }
  const uint8_t* p = U8(bytes);
  // 2. Version.
  if (p[kOffVersion] != kProtocolVersion) {
    return Refuse(Reason::kBadVersion, absl::StrCat("envelope.version: ", p[kOffVersion],
                                                    " (speaks ", kProtocolVersion, ")"));
  }
  const uint32_t body_len = wire::GetU32(p + kOffBodyLen);
  if (bytes.size() - kEnvelopeOverhead != body_len) {
    return Refuse(Reason::kBadLength,
                  absl::StrCat("envelope.body_len: header says ", body_len, ", frame carries ",
                               bytes.size() - kEnvelopeOverhead));
  }
  // 3. Signature over the exact header bytes received, then the body against
  // the signed hash. An all-zero signature fails verification like any other.
  const Signature sig = Copy<kSignatureBytes>(p + kHeaderBytes);
  const PublicKey sender = Copy<kPublicKeyBytes>(p + kOffSender);
  const auto signing_input = SigningInput(p);
  if (!VerifySignature(sender, absl::Span<const uint8_t>(signing_input), sig)) {
    return Refuse(Reason::kBadSignature, "envelope.signature does not verify for envelope.sender");
  }
  const absl::string_view body = bytes.substr(kEnvelopeOverhead);
  const Hash256 body_hash = Blake2b256(body);
  if (!ConstantTimeEqual(body_hash, absl::Span<const uint8_t>(p + kOffBodyHash, kHashBytes))) {
    return Refuse(Reason::kBadBodyHash, "envelope.body_hash does not match the body");
  }
  EnvelopeHeader header = ParseHeader(p);
  if (header.flags != 0) {
    return Refuse(Reason::kBadVersion, absl::StrCat("envelope.flags: ", header.flags,
                                                    " (no flags are defined in version 1)"));
  }
  // 4. Receiver.
  if (header.receiver != ctx.self) {
    return Refuse(Reason::kWrongReceiver, "envelope.receiver is not this node's hotkey");
  }
  // 5. Timestamp within the skew window.
  // Written without additions so hostile values near 2^64 cannot wrap.
  if (header.timestamp_ms < ctx.now_ms && ctx.now_ms - header.timestamp_ms > ctx.max_skew_ms) {
    return Refuse(Reason::kStaleTimestamp,
                  absl::StrCat("envelope.timestamp: ", (ctx.now_ms - header.timestamp_ms) / 1000,
                               " s behind (limit ", ctx.max_skew_ms / 1000, " s)"));
  }
  if (header.timestamp_ms > ctx.now_ms && header.timestamp_ms - ctx.now_ms > ctx.max_skew_ms) {
    return Refuse(Reason::kFutureTimestamp,
                  absl::StrCat("envelope.timestamp: ", (header.timestamp_ms - ctx.now_ms) / 1000,
                               " s ahead (limit ", ctx.max_skew_ms / 1000, " s)"));
  }
  // 6. Replay: only now, so forged envelopes cannot fill the window.
  if (ctx.replay != nullptr) {
    absl::Status s =
        ctx.replay->CheckAndRecord(header.sender, header.nonce, header.timestamp_ms, ctx.now_ms);
    if (!s.ok()) return s;
  }
  return OpenedEnvelope{std::move(header), body};
}

}  // namespace agora::protocol
