#include "tests/integration/transport_test_util.h"

#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/clock.h"
#include "gtest/gtest.h"
#include "protocol/codec.h"

namespace agora::testing {

using protocol::MessageKind;

uint64_t TestSeed() {
  static const uint64_t seed = [] {
    const char* env = std::getenv("AGORA_TEST_SEED");
    const uint64_t s = env != nullptr ? std::strtoull(env, nullptr, 10) : 20240601;
    std::fprintf(stderr, "transport tests: AGORA_TEST_SEED=%llu\n",
                 static_cast<unsigned long long>(s));
    return s;
  }();
  return seed;
}

std::mt19937_64& TestRng() {
  static std::mt19937_64* rng = new std::mt19937_64(TestSeed());
  return *rng;
}

std::shared_ptr<const SigningKey> NewKey() {
  static absl::Mutex mu(absl::kConstInit);
  std::array<uint8_t, kSeedBytes> seed;
  {
    absl::MutexLock lock(&mu);
    for (uint8_t& b : seed) b = static_cast<uint8_t>(TestRng()());
  }
  absl::StatusOr<SigningKey> key = SigningKey::FromSeed(seed);
  if (!key.ok()) std::abort();
  return std::make_shared<const SigningKey>(std::move(key).value());
}

absl::Status MemoryReplayGuard::CheckAndRecord(const PublicKey& sender, uint64_t nonce, uint64_t,
                                               uint64_t) {
  absl::MutexLock lock(&mu_);
  if (!seen_.emplace(sender, nonce).second) {
    return protocol::Refuse(protocol::Reason::kReplayedNonce, "nonce seen before");
  }
  return absl::OkStatus();
}

protocol::ServerOptions TestServerOptions(bool curve, int workers) {
  protocol::ServerOptions o;
  o.endpoint = "tcp://127.0.0.1:*";
  o.workers = workers;
  o.curve = curve;
  o.queue_capacity = 4096;
  return o;
}

void AddEcho(protocol::Server& server) {
  server.Handle<protocol::Ping, protocol::Pong>(
      MessageKind::kPing, MessageKind::kPong,
      [](const protocol::RequestContext&,
         const protocol::Ping& ping) -> absl::StatusOr<protocol::Pong> {
        return protocol::Pong{ping.seq, ping.payload};
      });
}

std::unique_ptr<protocol::Server> StartEchoServer(std::shared_ptr<const SigningKey> key,
                                                  protocol::ServerOptions options) {
  auto server = std::make_unique<protocol::Server>(std::move(key), std::move(options));
  AddEcho(*server);
  absl::Status s = server->Start();
  if (!s.ok()) {
    ADD_FAILURE() << "server did not start: " << s;
    return nullptr;
  }
  return server;
}

protocol::Peer PeerOf(const protocol::Server& server) {
  return protocol::Peer{server.endpoint(), server.public_key()};
}

std::unique_ptr<protocol::Client> NewClient(std::shared_ptr<const SigningKey> key, bool curve) {
  protocol::ClientOptions o;
  o.curve = curve;
  absl::StatusOr<std::unique_ptr<protocol::Client>> c = protocol::Client::Create(std::move(key), o);
  if (!c.ok()) {
    ADD_FAILURE() << "client: " << c.status();
    return nullptr;
  }
  return std::move(c).value();
}

std::string PingBody(uint64_t seq, size_t payload_bytes) {
  protocol::Ping ping;
  ping.seq = seq;
  ping.payload = std::string(payload_bytes, static_cast<char>('a' + seq % 26));
  return protocol::Encode(ping);
}

RawPeer::RawPeer(const protocol::Server& server, bool curve)
    : RawPeer(PeerOf(server), curve, NewKey()) {}

RawPeer::RawPeer(const protocol::Peer& peer, bool curve, std::shared_ptr<const SigningKey> key)
    : key_(std::move(key)), server_key_(peer.hotkey), socket_(ctx_, zmq::socket_type::dealer) {
  socket_.set(zmq::sockopt::linger, 0);
  if (curve) {
    const CurveKey server_curve = Ed25519ToCurvePublic(peer.hotkey).value();
    const CurveKey mine = key_->CurvePublicKey();
    const SecretBytes secret = key_->CurveSecretKey();
    socket_.set(zmq::sockopt::curve_serverkey, zmq::buffer(server_curve));
    socket_.set(zmq::sockopt::curve_publickey, zmq::buffer(mine));
    socket_.set(zmq::sockopt::curve_secretkey, zmq::const_buffer(secret.data(), secret.size()));
  }
  socket_.connect(peer.endpoint);
}

RawPeer::~RawPeer() { socket_.close(); }

void RawPeer::Send(const std::vector<std::string>& frames) {
  for (size_t i = 0; i < frames.size(); ++i) {
    const auto flags = i + 1 < frames.size() ? zmq::send_flags::sndmore : zmq::send_flags::none;
    socket_.send(zmq::buffer(frames[i]), flags);
  }
}

std::optional<std::string> RawPeer::Receive(std::chrono::milliseconds timeout) {
  zmq::pollitem_t item{socket_.handle(), 0, ZMQ_POLLIN, 0};
  if (zmq::poll(&item, 1, timeout) == 0) return std::nullopt;
  zmq::message_t msg;
  if (!socket_.recv(msg, zmq::recv_flags::dontwait)) return std::nullopt;
  return msg.to_string();
}

std::string RawPeer::Seal(MessageKind kind, const std::string& body,
                          std::optional<PublicKey> receiver, std::optional<uint64_t> timestamp_ms) {
  protocol::SealParams p;
  p.receiver = receiver.value_or(server_key_);
  p.kind = kind;
  p.nonce = nonce_++;
  p.timestamp_ms = timestamp_ms.value_or(UnixMillis());
  return protocol::SealEnvelope(*key_, p, body);
}

absl::StatusOr<RawReply> OpenRawReply(const std::string& bytes, const PublicKey& self,
                                      const PublicKey& server) {
  protocol::OpenContext ctx;
  ctx.self = self;
  ctx.now_ms = UnixMillis();
  absl::StatusOr<protocol::OpenedEnvelope> opened = protocol::OpenEnvelope(bytes, ctx);
  if (!opened.ok()) return opened.status();
  if (opened->header.sender != server) return absl::UnauthenticatedError("not the server's key");
  RawReply out{opened->header, ""};
  if (opened->header.kind == MessageKind::kError) {
    absl::StatusOr<protocol::ErrorReply> err =
        protocol::Decode<protocol::ErrorReply>(opened->body, "ErrorReply");
    if (!err.ok()) return err.status();
    out.reason = err->reason;
  }
  return out;
}

}  // namespace agora::testing
