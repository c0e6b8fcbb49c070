// A server and many clients over real loopback sockets: concurrent and
// pipelined requests are all answered, each with the reply to its own request.
#include <atomic>
#include <future>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "protocol/codec.h"
#include "protocol/messages.h"
#include "protocol/nonce.h"
#include "tests/integration/transport_test_util.h"

namespace agora::testing {
namespace {

using namespace std::chrono_literals;
using protocol::DeadlineAfter;
using protocol::MessageKind;
using protocol::Ping;
using protocol::Pong;

class TransportConcurrencyTest : public ::testing::TestWithParam<bool> {
 protected:
  bool curve() const { return GetParam(); }
};

TEST_P(TransportConcurrencyTest, SixteenClientsConcurrentRequestsAllAnsweredCorrectly) {
  auto server = StartEchoServer(NewKey(), TestServerOptions(curve()));
  ASSERT_NE(server, nullptr);
  const protocol::Peer peer = PeerOf(*server);
  constexpr int kClients = 16;
  constexpr int kPerClient = 64;
  std::atomic<int> correct{0};
  std::vector<std::thread> threads;
  for (int c = 0; c < kClients; ++c) {
    threads.emplace_back([&, c] {
      auto client = NewClient(NewKey(), curve());
      ASSERT_NE(client, nullptr);
      std::vector<std::future<absl::StatusOr<protocol::Reply>>> futures;
      for (int i = 0; i < kPerClient; ++i) {
        futures.push_back(client->CallFuture(peer, MessageKind::kPing,
                                             PingBody(c * 1000 + i, 16 + i), DeadlineAfter(10s)));
      }
      for (int i = 0; i < kPerClient; ++i) {
        absl::StatusOr<protocol::Reply> reply = futures[i].get();
        ASSERT_TRUE(reply.ok()) << reply.status();
        EXPECT_EQ(reply->header.kind, MessageKind::kPong);
        EXPECT_EQ(reply->header.sender, peer.hotkey);
        EXPECT_EQ(reply->header.receiver, client->public_key());
        absl::StatusOr<Pong> pong = protocol::Decode<Pong>(reply->body(), "Pong");
        ASSERT_TRUE(pong.ok()) << pong.status();
        absl::StatusOr<Ping> sent = protocol::Decode<Ping>(PingBody(c * 1000 + i, 16 + i), "Ping");
        EXPECT_EQ(pong->seq, static_cast<uint64_t>(c * 1000 + i));
        EXPECT_EQ(pong->payload, sent->payload);
        if (pong->seq == static_cast<uint64_t>(c * 1000 + i)) ++correct;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(correct.load(), kClients * kPerClient);
  const protocol::ServerStats stats = server->Stats();
  EXPECT_EQ(stats.received, static_cast<uint64_t>(kClients * kPerClient));
  EXPECT_EQ(stats.replied, static_cast<uint64_t>(kClients * kPerClient));
  EXPECT_EQ(stats.refused_total(), 0u);
}

TEST_P(TransportConcurrencyTest, OneClientPipelinesAThousandRequests) {
  auto server = StartEchoServer(NewKey(), TestServerOptions(curve()));
  ASSERT_NE(server, nullptr);
  auto client = NewClient(NewKey(), curve());
  ASSERT_NE(client, nullptr);
  constexpr int kRequests = 1000;
  std::vector<std::future<absl::StatusOr<protocol::Reply>>> futures;
  for (int i = 0; i < kRequests; ++i) {
    futures.push_back(
        client->CallFuture(PeerOf(*server), MessageKind::kPing, PingBody(i), DeadlineAfter(15s)));
  }
  for (int i = 0; i < kRequests; ++i) {
    absl::StatusOr<protocol::Reply> reply = futures[i].get();
    ASSERT_TRUE(reply.ok()) << reply.status();
    absl::StatusOr<Pong> pong = protocol::Decode<Pong>(reply->body(), "Pong");
    ASSERT_TRUE(pong.ok());
    EXPECT_EQ(pong->seq, static_cast<uint64_t>(i));
  }
  EXPECT_EQ(client->Stats().completed, static_cast<uint64_t>(kRequests));
  EXPECT_EQ(client->Stats().peers, 1u);
}

TEST_P(TransportConcurrencyTest, CallTypedDecodesTheReply) {
  auto server = StartEchoServer(NewKey(), TestServerOptions(curve()));
  ASSERT_NE(server, nullptr);
  auto client = NewClient(NewKey(), curve());
  ASSERT_NE(client, nullptr);
  absl::StatusOr<Pong> pong =
      client->CallTyped<Ping, Pong>(PeerOf(*server), MessageKind::kPing, MessageKind::kPong,
                                    Ping{42, "hello"}, DeadlineAfter(5s));
  ASSERT_TRUE(pong.ok()) << pong.status();
  EXPECT_EQ(pong->seq, 42u);
  EXPECT_EQ(pong->payload, "hello");
  // Expecting another reply kind is a typed error, not a crash.
  absl::StatusOr<protocol::InfoReply> info = client->CallTyped<Ping, protocol::InfoReply>(
      PeerOf(*server), MessageKind::kPing, MessageKind::kInfoReply, Ping{1, ""}, DeadlineAfter(5s));
  EXPECT_EQ(info.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_P(TransportConcurrencyTest, VerifyThreadsGiveTheSameResults) {
  auto server = StartEchoServer(NewKey(), TestServerOptions(curve()));
  ASSERT_NE(server, nullptr);
  protocol::ClientOptions options;
  options.curve = curve();
  options.verify_threads = 2;
  auto client = protocol::Client::Create(NewKey(), options);
  ASSERT_TRUE(client.ok());
  constexpr int kRequests = 500;
  std::vector<std::future<absl::StatusOr<protocol::Reply>>> futures;
  for (int i = 0; i < kRequests; ++i) {
    futures.push_back((*client)->CallFuture(PeerOf(*server), MessageKind::kPing, PingBody(i),
                                            DeadlineAfter(15s)));
  }
  for (int i = 0; i < kRequests; ++i) {
    absl::StatusOr<protocol::Reply> reply = futures[i].get();
    ASSERT_TRUE(reply.ok()) << reply.status();
    absl::StatusOr<Pong> pong = protocol::Decode<Pong>(reply->body(), "Pong");
    ASSERT_TRUE(pong.ok());
    EXPECT_EQ(pong->seq, static_cast<uint64_t>(i));
  }
  if (!curve()) {  // with curve the handshake to a wrong key never completes
    protocol::Peer wrong{server->endpoint(), NewKey()->public_key()};
    absl::StatusOr<protocol::Reply> r =
        (*client)->Call(wrong, MessageKind::kPing, PingBody(1), DeadlineAfter(5s));
    EXPECT_EQ(r.status().code(), absl::StatusCode::kUnauthenticated) << r.status();
  }
}

// A burst of nonces runs ahead of the clock; a successor generator for the
// same key (after every holder let go) must still start above it.
TEST(TransportNonceTest, SameKeyNeverRepeatsAfterABurst) {
  const PublicKey key = NewKey()->public_key();
  uint64_t last = 0;
  {
    std::shared_ptr<protocol::NonceGenerator> gen = protocol::NonceGeneratorFor(key);
    EXPECT_EQ(gen, protocol::NonceGeneratorFor(key));  // one per key while held
    for (int i = 0; i < 200000; ++i) last = gen->Next();
  }
  std::shared_ptr<protocol::NonceGenerator> next = protocol::NonceGeneratorFor(key);
  EXPECT_GT(next->Next(), last);
}

INSTANTIATE_TEST_SUITE_P(Curve, TransportConcurrencyTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "CurveOn" : "CurveOff";
                         });

}  // namespace
}  // namespace agora::testing
