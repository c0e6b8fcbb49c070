// Peers that go away, a full work queue, handler and admission failures, and
// key or CURVE mismatches: each ends in the documented Status, and the server
// keeps serving whatever arrives.
#include <atomic>
#include <future>
#include <thread>
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
using protocol::Reason;

// A server whose Ping handler blocks, for requests with seq >= 1000, until
// release() (or 10 s, so a failing test cannot hang).
class BlockingServer {
 public:
  explicit BlockingServer(protocol::ServerOptions options) {
    server_ = std::make_unique<protocol::Server>(NewKey(), std::move(options));
    server_->Handle<Ping, Pong>(
        MessageKind::kPing, MessageKind::kPong,
        [this](const protocol::RequestContext&, const Ping& ping) -> absl::StatusOr<Pong> {
          if (ping.seq >= 1000) {
            if (entered_.fetch_add(1) == 0) first_entered_.Notify();
            release_.WaitForNotificationWithTimeout(absl::Seconds(10));
          }
          return Pong{ping.seq, ping.payload};
        });
    EXPECT_TRUE(server_->Start().ok());
  }
  ~BlockingServer() { Release(); }
  protocol::Server& server() { return *server_; }
  void WaitUntilBlocked() {
    ASSERT_TRUE(first_entered_.WaitForNotificationWithTimeout(absl::Seconds(10)));
  }
  void Release() {
    if (!release_.HasBeenNotified()) release_.Notify();
  }
  void Destroy() { server_.reset(); }

 private:
  std::atomic<int> entered_{0};
  absl::Notification first_entered_;
  absl::Notification release_;
  std::unique_ptr<protocol::Server> server_;
};

TEST(TransportFailureTest, ServerThatDisappearsMidRequestGivesDeadlineExceeded) {
  BlockingServer blocking(TestServerOptions(/*curve=*/true, /*workers=*/1));
  const protocol::Peer peer = PeerOf(blocking.server());
  auto client = NewClient(NewKey(), /*curve=*/true);
  ASSERT_NE(client, nullptr);
  auto pending = client->CallFuture(peer, MessageKind::kPing, PingBody(1000), DeadlineAfter(400ms));
  blocking.WaitUntilBlocked();
  // Stop() drains, so it waits for the handler; the peer is gone meanwhile.
  std::thread stopper([&] { blocking.Destroy(); });
  absl::StatusOr<protocol::Reply> reply = pending.get();
  EXPECT_EQ(reply.status().code(), absl::StatusCode::kDeadlineExceeded) << reply.status();
  blocking.Release();  // the late reply, if it goes out, is dropped by the client
  stopper.join();
  // The client still works with another server.
  auto other = StartEchoServer(NewKey(), TestServerOptions(true));
  ASSERT_NE(other, nullptr);
  EXPECT_TRUE(
      client->Call(PeerOf(*other), MessageKind::kPing, PingBody(1), DeadlineAfter(5s)).ok());
}

TEST(TransportFailureTest, ClientThatDisappearsMidRequestDoesNotStopTheServer) {
  BlockingServer blocking(TestServerOptions(/*curve=*/true, /*workers=*/2));
  const protocol::Peer peer = PeerOf(blocking.server());
  absl::StatusOr<protocol::Reply> abandoned;
  {
    auto leaving = NewClient(NewKey(), true);
    ASSERT_NE(leaving, nullptr);
    auto f = leaving->CallFuture(peer, MessageKind::kPing, PingBody(1000), DeadlineAfter(10s));
    blocking.WaitUntilBlocked();
    leaving.reset();  // the client goes away while its request is in a handler
    abandoned = f.get();
  }
  EXPECT_EQ(abandoned.status().code(), absl::StatusCode::kCancelled);
  // Another client is served by the second worker meanwhile...
  auto staying = NewClient(NewKey(), true);
  ASSERT_NE(staying, nullptr);
  EXPECT_TRUE(staying->Call(peer, MessageKind::kPing, PingBody(1), DeadlineAfter(5s)).ok());
  // ...and after the handler's reply went to nobody.
  blocking.Release();
  for (int i = 0; i < 20; ++i) {
    EXPECT_TRUE(staying->Call(peer, MessageKind::kPing, PingBody(i), DeadlineAfter(5s)).ok());
  }
}

TEST(TransportFailureTest, FullQueueRefusesWithOverloaded) {
  protocol::ServerOptions options = TestServerOptions(/*curve=*/false, /*workers=*/1);
  options.queue_capacity = 2;
  BlockingServer blocking(options);
  const protocol::Peer peer = PeerOf(blocking.server());
  auto client = NewClient(NewKey(), false);
  ASSERT_NE(client, nullptr);
  std::vector<std::future<absl::StatusOr<protocol::Reply>>> futures;
  futures.push_back(
      client->CallFuture(peer, MessageKind::kPing, PingBody(1000), DeadlineAfter(10s)));
  blocking.WaitUntilBlocked();  // the only worker is busy
  for (int i = 1; i < 8; ++i) {
    futures.push_back(
        client->CallFuture(peer, MessageKind::kPing, PingBody(1000 + i), DeadlineAfter(10s)));
  }
  // Two fit the queue; the other five are refused at once, while the worker
  // is still blocked.
  int overloaded = 0;
  for (int i = 3; i < 8; ++i) {
    absl::StatusOr<protocol::Reply> r = futures[i].get();
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(protocol::ReasonOf(r.status()), Reason::kOverloaded) << r.status();
    EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable);
    ++overloaded;
  }
  EXPECT_EQ(overloaded, 5);
  EXPECT_EQ(blocking.server().Stats().refused_for(Reason::kOverloaded), 5u);
  blocking.Release();
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(futures[i].get().ok());
}

TEST(TransportFailureTest, StopAnswersEveryQueuedRequest) {
  BlockingServer blocking(TestServerOptions(/*curve=*/false, /*workers=*/1));
  const protocol::Peer peer = PeerOf(blocking.server());
  auto client = NewClient(NewKey(), false);
  ASSERT_NE(client, nullptr);
  std::vector<std::future<absl::StatusOr<protocol::Reply>>> futures;
  futures.push_back(
      client->CallFuture(peer, MessageKind::kPing, PingBody(1000), DeadlineAfter(10s)));
  blocking.WaitUntilBlocked();
  for (int i = 1; i < 4; ++i) {
    futures.push_back(
        client->CallFuture(peer, MessageKind::kPing, PingBody(i), DeadlineAfter(10s)));
  }
  // Wait until the three are queued (the I/O thread read them).
  const auto until = std::chrono::steady_clock::now() + 10s;
  while (blocking.server().Stats().received < 4 && std::chrono::steady_clock::now() < until) {
    std::this_thread::yield();
  }
  std::thread stopper([&] { blocking.server().Stop(); });
  blocking.Release();
  stopper.join();
  for (auto& f : futures) EXPECT_TRUE(f.get().ok());
}

TEST(TransportFailureTest, HandlerFailuresBecomeSignedRefusals) {
  protocol::ServerOptions options = TestServerOptions(false);
  options.max_envelope_bytes = 64 << 10;
  auto server = std::make_unique<protocol::Server>(NewKey(), options);
  server->Handle<Ping, Pong>(
      MessageKind::kPing, MessageKind::kPong,
      [](const protocol::RequestContext&, const Ping& ping) -> absl::StatusOr<Pong> {
        switch (ping.seq) {
          case 1:
            return absl::InvalidArgumentError("ping.payload: too long");
          case 2:
            return protocol::Refuse(Reason::kRateLimited, "3 per second");
          case 3:
            return absl::InternalError("/secret/path failed");
          case 4:
            throw std::runtime_error("boom");
          case 6:
            return Pong{ping.seq, std::string(100 << 10, 'x')};  // over the limit
          default:
            return Pong{ping.seq, ping.payload};
        }
      });
  ASSERT_TRUE(server->Start().ok());
  auto client = NewClient(NewKey(), false);
  ASSERT_NE(client, nullptr);
  auto call = [&](uint64_t seq) {
    return client->Call(PeerOf(*server), MessageKind::kPing, PingBody(seq), DeadlineAfter(5s));
  };
  absl::StatusOr<protocol::Reply> r = call(1);
  EXPECT_EQ(protocol::ReasonOf(r.status()), Reason::kBadRequest);
  EXPECT_EQ(r.status().message(), "bad-request: ping.payload: too long");
  r = call(2);
  EXPECT_EQ(protocol::ReasonOf(r.status()), Reason::kRateLimited);
  EXPECT_EQ(r.status().message(), "rate-limited: 3 per second");
  r = call(3);
  EXPECT_EQ(protocol::ReasonOf(r.status()), Reason::kInternal);
  EXPECT_EQ(r.status().message(), "internal");  // our failure's text stays home
  r = call(4);
  EXPECT_EQ(protocol::ReasonOf(r.status()), Reason::kInternal);
  EXPECT_TRUE(call(5).ok());
  r = call(6);
  EXPECT_EQ(protocol::ReasonOf(r.status()), Reason::kInternal);
  EXPECT_EQ(r.status().message(), "internal: reply larger than max_envelope_bytes");
}

TEST(TransportFailureTest, AdmissionHookRefusesBeforeTheHandler) {
  auto banned = NewKey();
  std::atomic<int> handled{0};
  protocol::ServerOptions options = TestServerOptions(true);
  options.admission = [banned](const protocol::EnvelopeHeader& h) {
    return h.sender == banned->public_key()
               ? protocol::Refuse(Reason::kUnregistered, "hotkey not registered")
               : absl::OkStatus();
  };
  protocol::Server server(NewKey(), options);
  server.Handle<Ping, Pong>(
      MessageKind::kPing, MessageKind::kPong,
      [&](const protocol::RequestContext&, const Ping& p) -> absl::StatusOr<Pong> {
        ++handled;
        return Pong{p.seq, p.payload};
      });
  ASSERT_TRUE(server.Start().ok());
  auto bad = NewClient(banned, true);
  auto good = NewClient(NewKey(), true);
  absl::StatusOr<protocol::Reply> r =
      bad->Call(PeerOf(server), MessageKind::kPing, PingBody(1), DeadlineAfter(5s));
  EXPECT_EQ(protocol::ReasonOf(r.status()), Reason::kUnregistered) << r.status();
  EXPECT_EQ(r.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(handled.load(), 0);
  EXPECT_TRUE(good->Call(PeerOf(server), MessageKind::kPing, PingBody(2), DeadlineAfter(5s)).ok());
  EXPECT_EQ(handled.load(), 1);
  EXPECT_EQ(server.Stats().refused_for(Reason::kUnregistered), 1u);
}

TEST(TransportFailureTest, PrescreenRefusesUnknownSendersWithoutQueueingThem) {
  auto member = NewKey();
  std::atomic<int> handled{0}, screened{0};
  protocol::ServerOptions options = TestServerOptions(true);
  options.prescreen = [&screened, m = member->public_key()](const PublicKey& claimed) {
    ++screened;
    return claimed == m;
  };
  protocol::Server server(NewKey(), options);
  server.Handle<Ping, Pong>(
      MessageKind::kPing, MessageKind::kPong,
      [&](const protocol::RequestContext&, const Ping& p) -> absl::StatusOr<Pong> {
        ++handled;
        return Pong{p.seq, p.payload};
      });
  ASSERT_TRUE(server.Start().ok());
  auto stranger = NewClient(NewKey(), true);
  auto known = NewClient(member, true);
  absl::StatusOr<protocol::Reply> r =
      stranger->Call(PeerOf(server), MessageKind::kPing, PingBody(1), DeadlineAfter(5s));
  EXPECT_EQ(protocol::ReasonOf(r.status()), Reason::kUnregistered) << r.status();
  EXPECT_EQ(r.status().message(), "unregistered: hotkey is not registered on this subnet");
  EXPECT_EQ(handled.load(), 0);
  EXPECT_TRUE(known->Call(PeerOf(server), MessageKind::kPing, PingBody(2), DeadlineAfter(5s)).ok());
  EXPECT_EQ(handled.load(), 1);
  EXPECT_EQ(screened.load(), 2);
  const protocol::ServerStats stats = server.Stats();
  EXPECT_EQ(stats.refused_for(Reason::kUnregistered), 1u);
  EXPECT_EQ(stats.replied, 1u);
}

TEST(TransportFailureTest, ReplyFromAnotherKeyIsUnauthenticated) {
  auto server = StartEchoServer(NewKey(), TestServerOptions(false));
  ASSERT_NE(server, nullptr);
  auto client = NewClient(NewKey(), false);
  ASSERT_NE(client, nullptr);
  // We believe the endpoint belongs to another hotkey: the server refuses
  // (wrong-receiver), but its signed refusal is not from the key we called.
  protocol::Peer wrong{server->endpoint(), NewKey()->public_key()};
  absl::StatusOr<protocol::Reply> r =
      client->Call(wrong, MessageKind::kPing, PingBody(1), DeadlineAfter(5s));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnauthenticated) << r.status();
  EXPECT_FALSE(protocol::ReasonOf(r.status()).has_value());
  EXPECT_EQ(client->Stats().rejected, 1u);
}

TEST(TransportFailureTest, CurveMismatchTimesOutAndPlainPeersStillWork) {
  auto plain = StartEchoServer(NewKey(), TestServerOptions(false));
  ASSERT_NE(plain, nullptr);
  auto curve_client = NewClient(NewKey(), true);
  ASSERT_NE(curve_client, nullptr);
  absl::StatusOr<protocol::Reply> r =
      curve_client->Call(PeerOf(*plain), MessageKind::kPing, PingBody(1), DeadlineAfter(300ms));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kDeadlineExceeded) << r.status();
  EXPECT_EQ(plain->Stats().received, 0u);
  auto plain_client = NewClient(NewKey(), false);
  EXPECT_TRUE(
      plain_client->Call(PeerOf(*plain), MessageKind::kPing, PingBody(2), DeadlineAfter(5s)).ok());
}

TEST(TransportFailureTest, UnreachablePeerTimesOut) {
  auto client = NewClient(NewKey(), true);
  ASSERT_NE(client, nullptr);
  // Bind and stop a server to get a port that nobody listens on now.
  std::string endpoint;
  PublicKey key;
  {
    auto gone = StartEchoServer(NewKey(), TestServerOptions(true));
    ASSERT_NE(gone, nullptr);
    endpoint = gone->endpoint();
    key = gone->public_key();
  }
  absl::StatusOr<protocol::Reply> r =
      client->Call({endpoint, key}, MessageKind::kPing, PingBody(1), DeadlineAfter(200ms));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kDeadlineExceeded);
  r = client->Call({"not-an-endpoint", key}, MessageKind::kPing, PingBody(1), DeadlineAfter(200ms));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace agora::testing

namespace agora::testing {
namespace {

TEST(TransportFailureTest, StartReportsTakenAndBadEndpoints) {
  auto first = StartEchoServer(NewKey(), TestServerOptions(false, 1));
  ASSERT_NE(first, nullptr);
  protocol::ServerOptions taken = TestServerOptions(false, 1);
  taken.endpoint = first->endpoint();
  protocol::Server second(NewKey(), taken);
  EXPECT_EQ(second.Start().code(), absl::StatusCode::kUnavailable);
  protocol::ServerOptions bad = TestServerOptions(false, 1);
  bad.endpoint = "nonsense://here";
  protocol::Server third(NewKey(), bad);
  EXPECT_EQ(third.Start().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(third.endpoint().empty());
  EXPECT_EQ(first->Start().code(), absl::StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace agora::testing
