// A client that sends garbage frames, interleaved with good requests from
// another client: every good request is still answered, every refusable
// frame gets a signed ErrorReply with the right reason, and frames that are
// not even one message (empty, multi-part, oversize) are dropped.
#include <atomic>
#include <map>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/clock.h"
#include "gtest/gtest.h"
#include "protocol/codec.h"
#include "protocol/messages.h"
#include "tests/integration/transport_test_util.h"

namespace agora::testing {
namespace {

using namespace std::chrono_literals;
using protocol::DeadlineAfter;
using protocol::MessageKind;

std::string RandomBytes(size_t n) {
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(TestRng()());
  return s;
}

PublicKey ClaimedSender(const std::string& frame) {
  PublicKey k{};
  std::copy(frame.begin() + 4, frame.begin() + 36, k.begin());
  return k;
}

// Good requests from a well-behaved client while the test misbehaves.
class GoodTraffic {
 public:
  GoodTraffic(const protocol::Server& server, bool curve)
      : client_(NewClient(NewKey(), curve)), peer_(PeerOf(server)) {
    thread_ = std::thread([this] {
      for (int i = 0; i < 200 && !stop_.load(); ++i) {
        absl::StatusOr<protocol::Reply> r =
            client_->Call(peer_, MessageKind::kPing, PingBody(i), DeadlineAfter(10s));
        (r.ok() ? ok_ : failed_).fetch_add(1);
      }
    });
  }
  // Joins and returns how many good requests failed.
  int Finish() {
    thread_.join();
    return failed_.load();
  }
  int ok() const { return ok_.load(); }

 private:
  std::unique_ptr<protocol::Client> client_;
  protocol::Peer peer_;
  std::atomic<bool> stop_{false};
  std::atomic<int> ok_{0};
  std::atomic<int> failed_{0};
  std::thread thread_;
};

class TransportGarbageTest : public ::testing::TestWithParam<bool> {
 protected:
  bool curve() const { return GetParam(); }
};

TEST_P(TransportGarbageTest, EveryRefusalCarriesItsReasonAndGoodRequestsAreServed) {
  MemoryReplayGuard replay;
  protocol::ServerOptions options = TestServerOptions(curve());
  options.replay = &replay;
  auto server = StartEchoServer(NewKey(), options);
  ASSERT_NE(server, nullptr);
  GoodTraffic good(*server, curve());
  RawPeer raw(*server, curve());
  const PublicKey me = raw.key().public_key();

  struct Expected {
    std::string what;
    std::string reason;   // "" for a successful reply
    PublicKey addressee;  // whom the reply is addressed to
  };
  std::map<Hash256, Expected> expected;
  auto send = [&](const std::string& what, const std::string& frame, const std::string& reason,
                  const PublicKey& addressee) {
    expected[protocol::EnvelopeHash(frame)] = Expected{what, reason, addressee};
    raw.Send({frame});
  };

  const std::string ping = PingBody(7);
  const std::string valid = raw.Seal(MessageKind::kPing, ping);
  send("short random bytes", RandomBytes(100), "bad-length", PublicKey{});
  std::string bad_version = RandomBytes(400);
  bad_version[0] = 7;
  send("random bytes, version 7", bad_version, "bad-version", ClaimedSender(bad_version));
  send("truncated envelope", valid.substr(0, valid.size() - 10), "bad-length", me);
  std::string bad_sig = raw.Seal(MessageKind::kPing, ping);
  bad_sig[protocol::kHeaderBytes + 3] ^= 0x01;
  send("bad signature", bad_sig, "bad-signature", me);
  std::string bad_body_hash = raw.Seal(MessageKind::kPing, ping);
  bad_body_hash.back() ^= 0x01;
  send("tampered body", bad_body_hash, "bad-body-hash", me);
  send("wrong receiver", raw.Seal(MessageKind::kPing, ping, NewKey()->public_key()),
       "wrong-receiver", me);
  send("stale timestamp", raw.Seal(MessageKind::kPing, ping, std::nullopt, UnixMillis() - 600'000),
       "stale-timestamp", me);
  send("future timestamp", raw.Seal(MessageKind::kPing, ping, std::nullopt, UnixMillis() + 600'000),
       "future-timestamp", me);
  send("unknown kind", raw.Seal(static_cast<MessageKind>(200), ping), "unknown-kind", me);
  send("kind without a handler", raw.Seal(MessageKind::kInfoRequest, ping), "unknown-kind", me);
  send("body that is not a Ping", raw.Seal(MessageKind::kPing, "\xc1"), "bad-body", me);
  send("valid request", valid, "", me);
  // Dropped without a reply: not one frame of envelope.
  raw.Send({""});
  raw.Send({valid, valid});
  raw.Send({"", RandomBytes(300), ""});
  // The replay is sent last so it cannot overtake the original on a worker.
  const std::string replay_frame = valid;

  std::map<Hash256, std::string> seen;  // hash -> reason (or "" for success)
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (seen.size() < expected.size() && std::chrono::steady_clock::now() < deadline) {
    std::optional<std::string> bytes = raw.Receive(200ms);
    if (!bytes) continue;
    absl::StatusOr<protocol::EnvelopeHeader> header = protocol::PeekHeader(*bytes);
    ASSERT_TRUE(header.ok());
    auto it = expected.find(header->request_hash);
    ASSERT_NE(it, expected.end()) << "a reply to no request we sent";
    absl::StatusOr<RawReply> reply =
        OpenRawReply(*bytes, it->second.addressee, server->public_key());
    ASSERT_TRUE(reply.ok()) << it->second.what << ": " << reply.status();
    seen[header->request_hash] = reply->reason;
  }
  for (const auto& [hash, exp] : expected) {
    auto it = seen.find(hash);
    ASSERT_NE(it, seen.end()) << "no reply to: " << exp.what;
    EXPECT_EQ(it->second, exp.reason) << exp.what;
  }

  // Now the replay of an envelope that was accepted.
  raw.Send({replay_frame});
  std::optional<std::string> replayed = raw.Receive(5s);
  ASSERT_TRUE(replayed.has_value());
  absl::StatusOr<RawReply> reply = OpenRawReply(*replayed, me, server->public_key());
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_EQ(reply->reason, "replayed-nonce");

  EXPECT_EQ(good.Finish(), 0);
  EXPECT_EQ(good.ok(), 200);
  const protocol::ServerStats stats = server->Stats();
  EXPECT_EQ(stats.dropped, 3u);  // the empty frame and the two multi-part messages
  EXPECT_EQ(stats.refused_for(protocol::Reason::kBadSignature), 1u);
  EXPECT_EQ(stats.refused_for(protocol::Reason::kUnknownKind), 2u);
  EXPECT_EQ(stats.refused_for(protocol::Reason::kReplayedNonce), 1u);
}

TEST_P(TransportGarbageTest, RandomFramesNeverStopTheServer) {
  auto server = StartEchoServer(NewKey(), TestServerOptions(curve()));
  ASSERT_NE(server, nullptr);
  GoodTraffic good(*server, curve());
  RawPeer raw(*server, curve());
  const std::string valid = raw.Seal(MessageKind::kPing, PingBody(1));
  std::uniform_int_distribution<int> parts(1, 3);
  std::uniform_int_distribution<size_t> len(0, 600);
  for (int i = 0; i < 500; ++i) {
    std::vector<std::string> frames;
    const int n = parts(TestRng());
    for (int p = 0; p < n; ++p) {
      // Half of the frames are mutations of a valid envelope.
      std::string f = (i % 2 == 0) ? RandomBytes(len(TestRng())) : valid;
      if (i % 2 == 1 && !f.empty()) f[len(TestRng()) % f.size()] ^= static_cast<char>(1 + i % 255);
      frames.push_back(std::move(f));
    }
    raw.Send(frames);
  }
  EXPECT_EQ(good.Finish(), 0);
  // The server still answers a fresh client.
  auto client = NewClient(NewKey(), curve());
  ASSERT_NE(client, nullptr);
  absl::StatusOr<protocol::Reply> r =
      client->Call(PeerOf(*server), MessageKind::kPing, PingBody(9), DeadlineAfter(10s));
  EXPECT_TRUE(r.ok()) << r.status();
}

TEST_P(TransportGarbageTest, OversizeFramesDieInLibzmqAndOthersAreServed) {
  protocol::ServerOptions options = TestServerOptions(curve());
  options.max_envelope_bytes = 64 << 10;
  auto server = StartEchoServer(NewKey(), options);
  ASSERT_NE(server, nullptr);
  RawPeer raw(*server, curve());
  raw.Send({std::string(100 << 10, 'x')});
  raw.Send({raw.Seal(MessageKind::kPing, std::string(200 << 10, 'y'))});
  // libzmq drops the frame and that connection; the server reads nothing.
  auto client = NewClient(NewKey(), curve());
  ASSERT_NE(client, nullptr);
  absl::StatusOr<protocol::Reply> r =
      client->Call(PeerOf(*server), MessageKind::kPing, PingBody(3), DeadlineAfter(10s));
  EXPECT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(server->Stats().received, 1u);
  // The client refuses to send what the limit would drop.
  protocol::ClientOptions small;
  small.curve = curve();
  small.max_envelope_bytes = 64 << 10;
  auto limited = protocol::Client::Create(NewKey(), small);
  ASSERT_TRUE(limited.ok());
  absl::StatusOr<protocol::Reply> big = (*limited)->Call(
      PeerOf(*server), MessageKind::kPing, std::string(70 << 10, 'z'), DeadlineAfter(1s));
  EXPECT_EQ(big.status().code(), absl::StatusCode::kInvalidArgument);
}

INSTANTIATE_TEST_SUITE_P(Curve, TransportGarbageTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "CurveOn" : "CurveOff";
                         });

}  // namespace
}  // namespace agora::testing
