#include "protocol/envelope.h"

#include <gtest/gtest.h>

#include <string>

#include "protocol/codec.h"
#include "protocol/messages.h"
#include "protocol/refusal.h"
#include "protocol/replay_window.h"

namespace agora::protocol {
namespace {

constexpr uint64_t kNow = 1'800'000'000'000;  // a fixed "now": tests never read the clock

SigningKey KeyFromByte(uint8_t b) {
  std::array<uint8_t, kSeedBytes> seed;
  seed.fill(b);
  return *SigningKey::FromSeed(seed);
}

class EnvelopeTest : public ::testing::Test {
 protected:
  SigningKey alice_ = KeyFromByte(1);
  SigningKey bob_ = KeyFromByte(2);
  std::string body_ = Encode(Ping{7, "payload bytes"});

  std::string Seal(uint64_t nonce = 1, uint64_t ts = kNow) {
    SealParams p;
    p.receiver = bob_.public_key();
    p.kind = MessageKind::kPing;
    p.nonce = nonce;
    p.timestamp_ms = ts;
    return SealEnvelope(alice_, p, body_);
  }
  OpenContext Ctx(ReplayGuard* replay = nullptr) {
    OpenContext c;
    c.self = bob_.public_key();
    c.now_ms = kNow;
    c.replay = replay;
    return c;
  }
  static std::optional<Reason> RefusalOf(const absl::StatusOr<OpenedEnvelope>& r) {
    return r.ok() ? std::nullopt : ReasonOf(r.status());
  }
};

TEST_F(EnvelopeTest, SealThenOpen) {
  const std::string bytes = Seal();
  ASSERT_EQ(bytes.size(), kEnvelopeOverhead + body_.size());
  absl::StatusOr<OpenedEnvelope> opened = OpenEnvelope(bytes, Ctx());
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_EQ(opened->header.sender, alice_.public_key());
  EXPECT_EQ(opened->header.receiver, bob_.public_key());
  EXPECT_EQ(opened->header.kind, MessageKind::kPing);
  EXPECT_EQ(opened->header.nonce, 1u);
  EXPECT_EQ(opened->header.timestamp_ms, kNow);
  EXPECT_EQ(opened->body, body_);
  absl::StatusOr<Ping> ping = Decode<Ping>(opened->body, "Ping");
  ASSERT_TRUE(ping.ok());
  EXPECT_EQ(ping->payload, "payload bytes");
}

TEST_F(EnvelopeTest, SealingIsDeterministic) { EXPECT_EQ(Seal(5), Seal(5)); }

TEST_F(EnvelopeTest, TamperingAnyByteIsRefusedWithTheRightReason) {
  const std::string good = Seal();
  for (size_t i = 0; i < good.size(); ++i) {
    for (uint8_t flip : {0x01, 0x80}) {
      std::string bad = good;
      bad[i] = static_cast<char>(bad[i] ^ flip);
      const absl::StatusOr<OpenedEnvelope> r = OpenEnvelope(bad, Ctx());
      ASSERT_FALSE(r.ok()) << "byte " << i << " flip " << int(flip) << " accepted";
      Reason want;
      if (i == 0) {
        want = Reason::kBadVersion;
      } else if (i >= 116 && i < 120) {
        want = Reason::kBadLength;  // body_len is checked against the frame first
      } else if (i < kEnvelopeOverhead) {
        want = Reason::kBadSignature;  // header and signature bytes
      } else {
        want = Reason::kBadBodyHash;
      }
      EXPECT_EQ(RefusalOf(r), want) << "byte " << i << ": " << r.status();
    }
  }
}

TEST_F(EnvelopeTest, EmptyOrZeroSignatureIsRefused) {
  std::string bad = Seal();
  std::fill(bad.begin() + kHeaderBytes, bad.begin() + kEnvelopeOverhead, '\0');
  EXPECT_EQ(RefusalOf(OpenEnvelope(bad, Ctx())), Reason::kBadSignature);
  // A frame with the signature cut off entirely.
  const std::string cut = Seal().substr(0, kHeaderBytes);
  EXPECT_EQ(RefusalOf(OpenEnvelope(cut, Ctx())), Reason::kBadLength);
}

TEST_F(EnvelopeTest, TruncatedAndExtendedFramesAreRefused) {
  const std::string good = Seal();
  for (size_t n = 0; n < good.size(); ++n) {
    const auto r = OpenEnvelope(absl::string_view(good).substr(0, n), Ctx());
    EXPECT_EQ(RefusalOf(r), Reason::kBadLength) << "length " << n;
  }
  EXPECT_EQ(RefusalOf(OpenEnvelope(good + "x", Ctx())), Reason::kBadLength);
}

TEST_F(EnvelopeTest, OversizeIsRefusedFirst) {
  OpenContext c = Ctx();
  const std::string good = Seal();
  c.max_envelope_bytes = good.size() - 1;
  EXPECT_EQ(RefusalOf(OpenEnvelope(good, c)), Reason::kOversize);
  // Even garbage of that size is refused as oversize, before any parsing.
  EXPECT_EQ(RefusalOf(OpenEnvelope(std::string(good.size(), '\xff'), c)), Reason::kOversize);
  c.max_envelope_bytes = good.size();
  EXPECT_TRUE(OpenEnvelope(good, c).ok());
}

TEST_F(EnvelopeTest, WrongReceiverIsRefused) {
  OpenContext c = Ctx();
  c.self = alice_.public_key();
  EXPECT_EQ(RefusalOf(OpenEnvelope(Seal(), c)), Reason::kWrongReceiver);
}

TEST_F(EnvelopeTest, TimestampSkewWindow) {
  const uint64_t skew = kDefaultMaxSkewMs;
  EXPECT_TRUE(OpenEnvelope(Seal(1, kNow - skew), Ctx()).ok());
  EXPECT_TRUE(OpenEnvelope(Seal(1, kNow + skew), Ctx()).ok());
  EXPECT_EQ(RefusalOf(OpenEnvelope(Seal(1, kNow - skew - 1), Ctx())), Reason::kStaleTimestamp);
  EXPECT_EQ(RefusalOf(OpenEnvelope(Seal(1, kNow + skew + 1), Ctx())), Reason::kFutureTimestamp);
  // Hostile extremes do not wrap around.
  EXPECT_EQ(RefusalOf(OpenEnvelope(Seal(1, UINT64_MAX), Ctx())), Reason::kFutureTimestamp);
  EXPECT_EQ(RefusalOf(OpenEnvelope(Seal(1, 0), Ctx())), Reason::kStaleTimestamp);
  const auto r = OpenEnvelope(Seal(1, kNow - 91'000), Ctx());
  EXPECT_EQ(r.status().message(), "stale-timestamp: envelope.timestamp: 91 s behind (limit 30 s)");
}

TEST_F(EnvelopeTest, ReplayIsRefusedAndOnlyValidEnvelopesConsumeNonces) {
  auto window = NonceWindow::Open("", NonceWindow::Options{});
  ASSERT_TRUE(window.ok());
  OpenContext c = Ctx(window->get());
  const std::string first = Seal(100);
  ASSERT_TRUE(OpenEnvelope(first, c).ok());
  EXPECT_EQ(RefusalOf(OpenEnvelope(first, c)), Reason::kReplayedNonce);
  // A forged copy with the next nonce but a broken signature must not burn nonce 101.
  std::string forged = Seal(101);
  forged[kHeaderBytes] ^= 1;
  EXPECT_EQ(RefusalOf(OpenEnvelope(forged, c)), Reason::kBadSignature);
  EXPECT_TRUE(OpenEnvelope(Seal(101), c).ok());
  // Out of order within the window is fine, once.
  EXPECT_TRUE(OpenEnvelope(Seal(99), c).ok());
  EXPECT_EQ(RefusalOf(OpenEnvelope(Seal(99), c)), Reason::kReplayedNonce);
}

TEST_F(EnvelopeTest, ReplyCarriesRequestHash) {
  const std::string request = Seal();
  SealParams p;
  p.receiver = alice_.public_key();
  p.kind = MessageKind::kPong;
  p.nonce = 1;
  p.timestamp_ms = kNow;
  p.request_hash = EnvelopeHash(request);
  const std::string reply = SealEnvelope(bob_, p, Encode(Pong{7, "x"}));
  OpenContext c = Ctx();
  c.self = alice_.public_key();
  absl::StatusOr<OpenedEnvelope> opened = OpenEnvelope(reply, c);
  ASSERT_TRUE(opened.ok());
  EXPECT_EQ(opened->header.request_hash, EnvelopeHash(request));
  EXPECT_EQ(opened->header.sender, bob_.public_key());
}

TEST_F(EnvelopeTest, PeekHeaderNeedsOnlyTheHeader) {
  const std::string good = Seal(77);
  absl::StatusOr<EnvelopeHeader> h = PeekHeader(good.substr(0, kHeaderBytes));
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->nonce, 77u);
  EXPECT_EQ(h->sender, alice_.public_key());
  EXPECT_FALSE(PeekHeader(good.substr(0, kHeaderBytes - 1)).ok());
}

}  // namespace
}  // namespace agora::protocol
