// Fan-out to many servers at once, one of them too slow: every other peer's
// reply comes back, in order, and the slow one ends in DeadlineExceeded.
#include <chrono>
#include <vector>

#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"
#include "protocol/codec.h"
#include "protocol/messages.h"
#include "tests/integration/transport_test_util.h"

namespace agora::testing {
namespace {

using namespace std::chrono_literals;
using protocol::DeadlineAfter;
using protocol::MessageKind;
using protocol::Ping;
using protocol::Pong;

TEST(TransportFanOutTest, ThirtyTwoServersOneSlow) {
  constexpr int kServers = 32;
  constexpr int kSlow = 13;
  absl::Notification release_slow;
  std::vector<std::unique_ptr<protocol::Server>> servers;
  std::vector<protocol::Peer> peers;
  for (int i = 0; i < kServers; ++i) {
    auto server = std::make_unique<protocol::Server>(NewKey(), TestServerOptions(true, 1));
    const bool slow = i == kSlow;
    server->Handle<Ping, Pong>(MessageKind::kPing, MessageKind::kPong,
                               [slow, i, &release_slow](const protocol::RequestContext&,
                                                        const Ping& ping) -> absl::StatusOr<Pong> {
                                 if (slow)
                                   release_slow.WaitForNotificationWithTimeout(absl::Seconds(10));
                                 return Pong{ping.seq, std::to_string(i)};
                               });
    ASSERT_TRUE(server->Start().ok());
    peers.push_back(PeerOf(*server));
    servers.push_back(std::move(server));
  }
  auto client = NewClient(NewKey(), true);
  ASSERT_NE(client, nullptr);
  const auto start = std::chrono::steady_clock::now();
  std::vector<absl::StatusOr<protocol::Reply>> results =
      client->FanOut(peers, MessageKind::kPing, PingBody(5), DeadlineAfter(1500ms));
  const auto took = std::chrono::steady_clock::now() - start;
  release_slow.Notify();
  ASSERT_EQ(results.size(), peers.size());
  for (int i = 0; i < kServers; ++i) {
    if (i == kSlow) {
      EXPECT_EQ(results[i].status().code(), absl::StatusCode::kDeadlineExceeded);
      continue;
    }
    ASSERT_TRUE(results[i].ok()) << i << ": " << results[i].status();
    EXPECT_EQ(results[i]->header.sender, peers[i].hotkey);
    absl::StatusOr<Pong> pong = protocol::Decode<Pong>(results[i]->body(), "Pong");
    ASSERT_TRUE(pong.ok());
    EXPECT_EQ(pong->payload, std::to_string(i));  // the reply of peer i, in slot i
  }
  EXPECT_GE(took, 1400ms);  // it waited for the deadline, not less
  EXPECT_LT(took, 5s);
  // A second fan-out reuses the cached sockets.
  release_slow.WaitForNotification();
  results = client->FanOut(peers, MessageKind::kPing, PingBody(6), DeadlineAfter(5s));
  for (int i = 0; i < kServers; ++i) EXPECT_TRUE(results[i].ok()) << i;
  EXPECT_EQ(client->Stats().peers, static_cast<uint64_t>(kServers));
}

TEST(TransportFanOutTest, PeerCacheIsBoundedAndEvictsIdleSockets) {
  std::vector<std::unique_ptr<protocol::Server>> servers;
  for (int i = 0; i < 4; ++i) {
    servers.push_back(StartEchoServer(NewKey(), TestServerOptions(false, 1)));
    ASSERT_NE(servers.back(), nullptr);
  }
  protocol::ClientOptions options;
  options.curve = false;
  options.max_peers = 2;
  auto client = protocol::Client::Create(NewKey(), options);
  ASSERT_TRUE(client.ok());
  for (int round = 0; round < 3; ++round) {
    for (auto& s : servers) {
      EXPECT_TRUE(
          (*client)->Call(PeerOf(*s), MessageKind::kPing, PingBody(round), DeadlineAfter(5s)).ok());
    }
  }
  EXPECT_LE((*client)->Stats().peers, 2u);
}

}  // namespace
}  // namespace agora::testing
