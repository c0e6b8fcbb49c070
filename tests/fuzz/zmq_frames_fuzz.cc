// Fuzz target: what the transport does with one received frame, without
// sockets. Server side (protocol/zmq_server.cc): open it and, when refused,
// seal the signed ErrorReply for the claimed sender. Client side
// (protocol/zmq_client.cc): open that refusal as its addressee and turn it
// back into a Status. Checks that every refusal reply opens for its
// addressee, answers the frame's hash and carries the same reason; also that
// StatusFromErrorReply survives any bytes. Nothing may crash.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "protocol/envelope.h"
#include "protocol/error_reply.h"
#include "protocol/message_kind.h"
#include "protocol/nonce.h"
#include "protocol/refusal.h"

namespace {
constexpr uint64_t kNow = 1'800'000'000'000;  // the envelope corpus was sealed at this time
constexpr size_t kMaxBytes = 1 << 16;
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace agora;
  using namespace agora::protocol;
  static const SigningKey server = [] {
    std::array<uint8_t, kSeedBytes> seed;
    seed.fill(2);  // the receiver the envelope corpus is addressed to
    return *SigningKey::FromSeed(seed);
  }();
  static NonceGenerator nonces;
  const absl::string_view bytes(reinterpret_cast<const char*>(data), size);

  // Client side on raw bytes: an ErrorReply body from a hostile peer.
  absl::Status from_body = StatusFromErrorReply(bytes);
  if (from_body.ok()) std::abort();

  // Server side.
  OpenContext ctx;
  ctx.self = server.public_key();
  ctx.now_ms = kNow;
  ctx.max_envelope_bytes = kMaxBytes;
  absl::StatusOr<OpenedEnvelope> opened = OpenEnvelope(bytes, ctx);
  if (opened.ok()) {
    if (opened->header.kind == MessageKind::kError) (void)StatusFromErrorReply(opened->body);
    return 0;
  }
  const Hash256 request_hash = EnvelopeHash(bytes);
  absl::StatusOr<EnvelopeHeader> claimed = PeekHeader(bytes);
  const PublicKey addressee = claimed.ok() ? claimed->sender : PublicKey{};
  const std::string refusal =
      SealRefusal(server, nonces, addressee, request_hash, opened.status(), kNow);

  // Client side on the refusal, as its addressee would see it.
  OpenContext cctx;
  cctx.self = addressee;
  cctx.now_ms = kNow;
  cctx.max_envelope_bytes = kMaxBytes;
  absl::StatusOr<OpenedEnvelope> reply = OpenEnvelope(refusal, cctx);
  if (!reply.ok() || reply->header.kind != MessageKind::kError ||
      reply->header.request_hash != request_hash || reply->header.sender != server.public_key()) {
    std::abort();
  }
  const absl::Status back = StatusFromErrorReply(reply->body);
  if (ReasonOf(back) != ReasonOf(opened.status())) std::abort();
  return 0;
}
