// Fuzz target: the signed envelope (OpenEnvelope, PeekHeader) with a replay
// window, as a receiver would run them. Whatever opens must have a consistent
// header and body; nothing may crash.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "protocol/envelope.h"
#include "protocol/refusal.h"
#include "protocol/replay_window.h"

namespace {
constexpr uint64_t kNow = 1'800'000'000'000;  // the corpus was sealed at this time
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace agora;
  using namespace agora::protocol;
  static const SigningKey receiver = [] {
    std::array<uint8_t, kSeedBytes> seed;
    seed.fill(2);
    return *SigningKey::FromSeed(seed);
  }();
  static auto window = NonceWindow::Open("", NonceWindow::Options{});
  const absl::string_view bytes(reinterpret_cast<const char*>(data), size);

  OpenContext ctx;
  ctx.self = receiver.public_key();
  ctx.now_ms = kNow;
  ctx.max_envelope_bytes = 1 << 16;
  ctx.replay = window->get();
  absl::StatusOr<OpenedEnvelope> opened = OpenEnvelope(bytes, ctx);
  if (opened.ok()) {
    absl::StatusOr<EnvelopeHeader> peeked = PeekHeader(bytes);
    if (!peeked.ok() || peeked->nonce != opened->header.nonce ||
        opened->body.size() != opened->header.body_len ||
        opened->header.receiver != receiver.public_key()) {
      std::abort();
    }
  } else if (!ReasonOf(opened.status()).has_value()) {
    std::abort();  // every refusal must carry a reason
  }
  (void)PeekHeader(bytes);
  return 0;
}
