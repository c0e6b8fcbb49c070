// The signed envelope: every Agora message on the wire is one envelope.
//
// Layout (big-endian; the full specification is docs/PROTOCOL.md "Envelope"):
//
//   offset  size  field
//        0     1  version        (kProtocolVersion)
//        1     1  kind           (MessageKind)
//        2     2  flags          (reserved, must be 0)
//        4    32  sender         ed25519 public key (hotkey) that signed
//       36    32  receiver       ed25519 public key the message is for
//       68     8  nonce          unique per sender within the replay window
//       76     8  timestamp_ms   sender's wall clock, ms since the Unix epoch
//       84    32  request_hash   replies: BLAKE2b-256 of the request envelope; requests: zero
//      116     4  body_len       length of the body in bytes
//      120    32  body_hash      BLAKE2b-256 of the body
//      152    64  signature      ed25519 over "agora-envelope-v1" || bytes [0, 152)
//      216  body_len  body       msgpack of the struct for `kind`
//
// The signature covers the fixed header, which commits to the body through
// body_hash, so verifying costs the same for any body size and the body can be
// hashed (BLAKE2b) faster than ed25519 would hash it (SHA-512).
//
// Thread-safety: all functions are pure except OpenEnvelope's use of the
// caller's ReplayGuard, which must itself be thread-safe.
#ifndef AGORA_PROTOCOL_ENVELOPE_H_
#define AGORA_PROTOCOL_ENVELOPE_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/crypto.h"
#include "protocol/message_kind.h"

namespace agora::protocol {

inline constexpr uint8_t kProtocolVersion = 1;
inline constexpr size_t kHeaderBytes = 152;
inline constexpr size_t kEnvelopeOverhead = kHeaderBytes + kSignatureBytes;
// Default largest envelope a node accepts; the same value is set as ZeroMQ's
// maxmsgsize so larger frames are dropped inside libzmq before allocation.
inline constexpr size_t kDefaultMaxEnvelopeBytes = 8u << 20;
// Default accepted clock difference between sender and receiver.
inline constexpr uint64_t kDefaultMaxSkewMs = 30'000;

struct EnvelopeHeader {
  uint8_t version = kProtocolVersion;
  MessageKind kind = MessageKind::kPing;
  uint16_t flags = 0;
  PublicKey sender{};
  PublicKey receiver{};
  uint64_t nonce = 0;
  uint64_t timestamp_ms = 0;
  Hash256 request_hash{};
  uint32_t body_len = 0;
  Hash256 body_hash{};
};

// What a sealed envelope needs besides the signing key and the body.
struct SealParams {
  PublicKey receiver{};
  MessageKind kind = MessageKind::kPing;
  uint64_t nonce = 0;
  uint64_t timestamp_ms = 0;
  Hash256 request_hash{};  // zero for requests; EnvelopeHash(request) for replies
};

// Builds a signed envelope around `body`. Never fails for bodies up to 4 GiB.
std::string SealEnvelope(const SigningKey& key, const SealParams& params,
                         absl::string_view body);

// The hash that identifies an envelope (and that its reply carries):
// BLAKE2b-256 of all its bytes.
Hash256 EnvelopeHash(absl::string_view envelope_bytes);

// Remembers nonces per sender so a captured envelope cannot be replayed.
class ReplayGuard {
 public:
  virtual ~ReplayGuard() = default;
  // Records (sender, nonce) if it was not seen; otherwise returns a
  // kReplayedNonce (or kReplayCacheFull) refusal. Must be thread-safe.
  virtual absl::Status CheckAndRecord(const PublicKey& sender, uint64_t nonce,
                                      uint64_t timestamp_ms, uint64_t now_ms) = 0;
};

// Everything OpenEnvelope checks against.
struct OpenContext {
  PublicKey self{};              // the receiver's own hotkey
  uint64_t now_ms = 0;           // the receiver's clock
  uint64_t max_skew_ms = kDefaultMaxSkewMs;
  size_t max_envelope_bytes = kDefaultMaxEnvelopeBytes;
  ReplayGuard* replay = nullptr; // null: no replay check (replies matched by request hash)
};

// A verified envelope. `body` views into the bytes passed to OpenEnvelope,
// which must outlive it.
struct OpenedEnvelope {
  EnvelopeHeader header;
  absl::string_view body;
};

// Parses the header without verifying anything but the length. Used by the
// transport to learn who a garbage message claims to be from.
absl::StatusOr<EnvelopeHeader> PeekHeader(absl::string_view bytes);

// Verifies an envelope, cheapest checks first, and returns a refusal
// (protocol/refusal.h) naming the first failed check:
//   oversize, bad-length, bad-version, bad-signature, bad-body-hash,
//   wrong-receiver, stale-/future-timestamp, replayed-nonce.
// The nonce is recorded only when every other check passed. The body is not
// decoded here: call DecodeBody<T> (protocol/codec.h) next.
absl::StatusOr<OpenedEnvelope> OpenEnvelope(absl::string_view bytes, const OpenContext& ctx);

}  // namespace agora::protocol

#endif  // AGORA_PROTOCOL_ENVELOPE_H_
