// Helpers for the transport integration tests (tests/integration/transport_*):
// deterministic keys, an in-memory replay guard, an echo server, a raw DEALER
// for sending hand-made frames, and a seeded RNG (AGORA_TEST_SEED replays).
//
// Everything here runs real sockets on 127.0.0.1 with ports picked by the
// kernel, so parallel ctest runs do not clash.
#ifndef AGORA_TESTS_INTEGRATION_TRANSPORT_TEST_UTIL_H_
#define AGORA_TESTS_INTEGRATION_TRANSPORT_TEST_UTIL_H_

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>
#include <zmq.hpp>

#include "absl/synchronization/mutex.h"
#include "common/crypto.h"
#include "protocol/envelope.h"
#include "protocol/messages.h"
#include "protocol/refusal.h"
#include "protocol/zmq_client.h"
#include "protocol/zmq_server.h"

namespace agora::testing {

// The test seed: AGORA_TEST_SEED if set, else a fixed default. Printed once.
uint64_t TestSeed();
std::mt19937_64& TestRng();

// A signing key drawn from the test RNG.
std::shared_ptr<const SigningKey> NewKey();

// Remembers every (sender, nonce); refuses repeats as replayed-nonce.
class MemoryReplayGuard : public protocol::ReplayGuard {
 public:
  absl::Status CheckAndRecord(const PublicKey& sender, uint64_t nonce, uint64_t timestamp_ms,
                              uint64_t now_ms) override;

 private:
  absl::Mutex mu_;
  std::set<std::pair<PublicKey, uint64_t>> seen_ ABSL_GUARDED_BY(mu_);
};

// Options for tests: small queue, given worker count and curve setting.
protocol::ServerOptions TestServerOptions(bool curve, int workers = 2);

// Registers Ping -> Pong echo on `server`.
void AddEcho(protocol::Server& server);

// A started echo server; fails the test (ADD_FAILURE) and returns null if it
// cannot start.
std::unique_ptr<protocol::Server> StartEchoServer(std::shared_ptr<const SigningKey> key,
                                                  protocol::ServerOptions options);

protocol::Peer PeerOf(const protocol::Server& server);

std::unique_ptr<protocol::Client> NewClient(std::shared_ptr<const SigningKey> key, bool curve);

// A Ping body with `seq` and a payload derived from it.
std::string PingBody(uint64_t seq, size_t payload_bytes = 32);

// A DEALER that sends hand-made frames (garbage included) to a server and
// reads whatever comes back. Speaks CURVE when the server does.
class RawPeer {
 public:
  RawPeer(const protocol::Server& server, bool curve);
  // A peer in another process (its endpoint and hotkey), sending as `key`
  // (a registered hotkey gets past a miner's admission to its decoders).
  RawPeer(const protocol::Peer& peer, bool curve, std::shared_ptr<const SigningKey> key);
  ~RawPeer();

  const SigningKey& key() const { return *key_; }
  // Sends one message of `frames` parts (each may be empty).
  void Send(const std::vector<std::string>& frames);
  // The next single-frame message, or nullopt after `timeout`.
  std::optional<std::string> Receive(std::chrono::milliseconds timeout);
  // A correctly sealed request from key(), with overridable fields.
  std::string Seal(protocol::MessageKind kind, const std::string& body,
                   std::optional<PublicKey> receiver = std::nullopt,
                   std::optional<uint64_t> timestamp_ms = std::nullopt);

 private:
  std::shared_ptr<const SigningKey> key_;
  PublicKey server_key_{};
  zmq::context_t ctx_{1};
  zmq::socket_t socket_;
  uint64_t nonce_ = 1;
};

// A decoded reply as RawPeer sees it.
struct RawReply {
  protocol::EnvelopeHeader header;
  std::string reason;  // ErrorReply.reason for kError replies, else empty
};
// Opens `bytes` (a reply addressed to `self`, signed by `server`) and decodes
// an ErrorReply if it is one; an error if it does not verify.
absl::StatusOr<RawReply> OpenRawReply(const std::string& bytes, const PublicKey& self,
                                      const PublicKey& server);

}  // namespace agora::testing

#endif  // AGORA_TESTS_INTEGRATION_TRANSPORT_TEST_UTIL_H_
