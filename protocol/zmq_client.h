// The ZeroMQ client: sends signed requests to servers (protocol/zmq_server.h)
// and returns their verified replies. Validators query miners through it,
// miners and validators send chain transactions through it.
//
// One I/O thread owns one DEALER per peer (endpoint + hotkey), connected on
// first use and kept in a bounded cache. Many requests can be in flight to
// each peer; a reply is matched to its request by request_hash, which the
// server sets to EnvelopeHash(request). Each request has its own deadline,
// enforced by the I/O thread: at the deadline the request fails with
// DeadlineExceeded and is forgotten, so a late reply is dropped like any
// reply that matches nothing.
//
// A reply is accepted only if it opens (protocol/envelope.h) for our hotkey,
// is signed by the hotkey we called and carries our request's hash. Replies
// are verified on the I/O thread, or on `verify_threads` threads (~50 us
// each with libsodium 1.0.18: one thread verifies ~20k replies/s); sealing
// happens on the calling thread, so callers sign in parallel.
//
// Results:
//   OK                 the reply (never of kind kError)
//   a refusal          the peer sent a signed ErrorReply: the Status made by
//                      protocol::Refuse(reason, detail); ReasonOf() gives the reason
//   Unknown            ErrorReply with a reason this build does not know
//   Unauthenticated    a reply that fails the checks above (no refusal payload)
//   DeadlineExceeded   no valid reply by the deadline (peer gone, slow, or a
//                      CURVE mismatch that stops the handshake)
//   Unavailable        the peer's send queue (hwm) is full
//   ResourceExhausted  max_outstanding requests in flight, or max_peers
//                      sockets all busy
//   InvalidArgument    the request is over max_envelope_bytes, the endpoint
//                      is malformed, or (with curve) the hotkey is not a
//                      valid curve point
//   Cancelled          the client was destroyed first
//
// Thread-safety: every public method may be called from any thread,
// concurrently. Callbacks run on the I/O thread or a verify thread (or on
// the calling thread if the request fails before it is queued); they must be
// quick, must not throw, must not block on another request's result and must
// not destroy the Client.
#ifndef AGORA_PROTOCOL_ZMQ_CLIENT_H_
#define AGORA_PROTOCOL_ZMQ_CLIENT_H_

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <future>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "common/crypto.h"
#include "protocol/codec.h"
#include "protocol/envelope.h"
#include "protocol/message_kind.h"

namespace zmq {
class context_t;
}

namespace agora::protocol {

using Deadline = std::chrono::steady_clock::time_point;
inline Deadline DeadlineAfter(std::chrono::milliseconds timeout) {
  return std::chrono::steady_clock::now() + timeout;
}

// Whom to call: where it listens and the hotkey that must sign its replies.
struct Peer {
  std::string endpoint;  // e.g. "tcp://127.0.0.1:40123"
  PublicKey hotkey{};
};

// A verified reply; owns its bytes.
struct Reply {
  EnvelopeHeader header;
  std::string envelope;  // the whole envelope as received
  absl::string_view body() const { return absl::string_view(envelope).substr(kEnvelopeOverhead); }
};

struct ClientOptions {
  // CurveZMQ to every peer, with the server key derived from the peer's
  // hotkey and our curve keys derived from ours. Must match the server's.
  bool curve = true;
  size_t max_envelope_bytes = kDefaultMaxEnvelopeBytes;  // requests and replies
  uint64_t max_skew_ms = kDefaultMaxSkewMs;              // reply timestamps
  size_t max_outstanding = 65536;                        // requests in flight, all peers together
  size_t max_peers = 1024;  // cached sockets; idle ones are evicted first
  int hwm = 1000;           // per-peer queue, in messages, each way
  // Threads that verify replies (~50 us each). 0: the I/O thread verifies,
  // which caps the client near 20k replies/s but costs no hand-off; use
  // more where fan-outs to remote peers must finish sooner.
  int verify_threads = 0;
  // Shared ZeroMQ context (not owned, must outlive the client; it must allow
  // max_peers sockets). Null: the client owns one.
  zmq::context_t* context = nullptr;
};

struct ClientStats {
  uint64_t sent = 0;       // requests handed to a socket
  uint64_t completed = 0;  // requests that got a verified reply or refusal
  uint64_t timed_out = 0;  // requests that hit their deadline
  uint64_t unmatched = 0;  // replies that matched no outstanding request
  uint64_t rejected = 0;   // replies (and chunks) that failed verification
  uint64_t chunks = 0;     // verified chunks of streamed requests
  uint64_t peers = 0;      // sockets in the cache
};

class Client {
 public:
  using Callback = std::function<void(absl::StatusOr<Reply>)>;
  // A streamed request: replies of `chunk_kind` are intermediate pieces,
  // each verified like a reply and passed to `on_chunk` in the order the
  // server sent them; the request stays in flight (under its deadline) until
  // a reply of any other kind ends it.
  struct Stream {
    MessageKind chunk_kind = MessageKind::kError;
    std::function<void(const Reply& chunk)> on_chunk;
  };

  // Starts the I/O thread. Internal if the kernel refuses an eventfd or epoll
  // instance, InvalidArgument for unusable options.
  static absl::StatusOr<std::unique_ptr<Client>> Create(std::shared_ptr<const SigningKey> key,
                                                        ClientOptions options = {});
  // Fails every outstanding request with Cancelled (their callbacks run) and
  // joins the I/O thread.
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Seals `body` as a request of `kind` to `peer` and sends it; `done` runs
  // exactly once with the result (see the table above).
  void CallAsync(const Peer& peer, MessageKind kind, absl::string_view body, Deadline deadline,
                 Callback done);
  // CallAsync for a streamed request (the server's HandleStreaming): every
  // chunk goes to stream.on_chunk (on the I/O thread, before `done`), then
  // `done` runs exactly once with the final reply or the failure. A chunk
  // that fails verification fails the request.
  void CallStreaming(const Peer& peer, MessageKind kind, absl::string_view body, Deadline deadline,
                     Stream stream, Callback done);
  std::future<absl::StatusOr<Reply>> CallFuture(const Peer& peer, MessageKind kind,
                                                absl::string_view body, Deadline deadline);
  // Blocks until the result is known (at the latest, about at the deadline).
  absl::StatusOr<Reply> Call(const Peer& peer, MessageKind kind, absl::string_view body,
                             Deadline deadline);

  // Call() with encoding and decoding: InvalidArgument if the reply is not of
  // `rep_kind` or does not decode as Rep.
  template <class Req, class Rep>
  absl::StatusOr<Rep> CallTyped(const Peer& peer, MessageKind req_kind, MessageKind rep_kind,
                                const Req& request, Deadline deadline) {
    absl::StatusOr<Reply> reply = Call(peer, req_kind, Encode(request), deadline);
    if (!reply.ok()) return reply.status();
    if (reply->header.kind != rep_kind) {
      return absl::InvalidArgumentError(absl::StrCat("reply.kind: ", KindName(reply->header.kind),
                                                     ", expected ", KindName(rep_kind)));
    }
    return Decode<Rep>(reply->body(), KindName(rep_kind));
  }

  // Sends `body` to every peer at once (each gets its own envelope, since the
  // receiver differs) and waits for all results, in the order of `peers`.
  std::vector<absl::StatusOr<Reply>> FanOut(const std::vector<Peer>& peers, MessageKind kind,
                                            absl::string_view body, Deadline deadline);

  const PublicKey& public_key() const;
  ClientStats Stats() const;

 private:
  class Impl;
  explicit Client(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace agora::protocol

#endif  // AGORA_PROTOCOL_ZMQ_CLIENT_H_
