// The ZeroMQ server: a ROUTER socket that receives signed envelopes, checks
// them, runs the handler registered for their kind on decoded structs and
// sends back a signed reply (or a signed ErrorReply saying why not).
// Miners, the chain and validators' gateways serve through it; handlers never
// see a socket (docs/ARCHITECTURE.md "Transport").
//
// Threads:
//   - one I/O thread that only moves frames: ROUTER -> work queue, replies ->
//     ROUTER. It never runs a handler and never waits for one.
//   - `workers` threads that open envelopes (signature, receiver, clock,
//     replay), run the admission hook, decode, run the handler and seal.
//   - libzmq's own I/O thread in the context.
// Workers hand replies back through a mutex-protected outbox and an eventfd
// that the I/O thread polls next to the ROUTER: ZeroMQ sockets are not
// thread-safe, and a shared outbox lets the I/O thread send a whole batch of
// replies per wake-up where per-worker inproc PUSH sockets would cost a
// ZeroMQ message and socket per reply and per worker.
//
// Every frame is hostile. Framing that no conforming DEALER produces (empty
// frames, multi-part messages) is dropped and counted. Everything else gets a
// signed ErrorReply when refused: addressed to the claimed sender, with
// request_hash = EnvelopeHash(received bytes); a frame too short to name a
// sender is answered to the all-zero key (a conforming client has no request
// with that hash and drops it; a debugging one learns "bad-length"). Frames
// over max_envelope_bytes never reach us: libzmq drops them and closes that
// connection (maxmsgsize). When the work queue is full the request is refused
// as "overloaded" by the I/O thread itself, without opening it, and so is a
// request whose claimed sender the prescreen hook rejects ("unregistered");
// those replies are rate-limited (overload_replies_per_s) so a flood cannot
// turn the I/O thread into a signing thread, and frames over 64 KiB are not
// hashed for one. Lines a peer can trigger are logged at DEBUG only.
//
// Streaming: a handler registered with HandleStreaming may emit chunks
// before its final reply (a miner's generated tokens as they come); each is
// its own signed envelope carrying the request's hash, posted to the outbox
// at once, so the requester sees them in order and before the final reply
// (protocol/zmq_client.h, CallStreaming).
//
// Lifetime: construct, register handlers, Start(), ..., Stop() (or destroy).
// Handle() and options are fixed once Start() has been called.
#ifndef AGORA_PROTOCOL_ZMQ_SERVER_H_
#define AGORA_PROTOCOL_ZMQ_SERVER_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/crypto.h"
#include "protocol/codec.h"
#include "protocol/envelope.h"
#include "protocol/message_kind.h"
#include "protocol/refusal.h"

namespace zmq {
class context_t;
}

namespace agora::protocol {

// Number of refusal reasons (Reason is dense from 0 to kInternal).
inline constexpr size_t kReasonCount = static_cast<size_t>(Reason::kInternal) + 1;

// What a handler learns about the request besides its decoded body.
struct RequestContext {
  PublicKey sender{};        // verified: the envelope's signature checked out
  EnvelopeHeader header;     // the verified header
  uint64_t received_ms = 0;  // wall clock when the I/O thread read the frame
};

struct ServerOptions {
  // Where to bind. "tcp://127.0.0.1:*" picks a free port; endpoint() says which.
  std::string endpoint = "tcp://127.0.0.1:*";
  // Handler threads; 0 means std::thread::hardware_concurrency().
  int workers = 0;
  // Requests waiting for a worker, by count and by bytes; past either the
  // request is refused as "overloaded".
  size_t queue_capacity = 1024;
  size_t queue_max_bytes = 64u << 20;
  // Largest envelope accepted; also the socket's maxmsgsize.
  size_t max_envelope_bytes = kDefaultMaxEnvelopeBytes;
  uint64_t max_skew_ms = kDefaultMaxSkewMs;
  // Replay check for requests; not owned, must outlive the server. Null: none.
  ReplayGuard* replay = nullptr;
  // Run after the envelope verified and before the body is decoded (stake,
  // registration, rate limits). A non-OK status refuses the request with
  // RefusalReasonFor(status) (protocol/error_reply.h). Called on worker threads.
  std::function<absl::Status(const EnvelopeHeader&)> admission;
  // Run on the I/O thread before a request is queued, with the sender its
  // header claims (not yet verified): false refuses it there and then as
  // "unregistered", without opening it, so a flood of unknown senders never
  // queues ahead of members' requests nor costs a signature check each.
  // Those refusals share the overload replies' signing budget
  // (overload_replies_per_s); past it they are dropped. A forged claim of a
  // member's key passes here and fails verification on a worker. Must be
  // cheap and never block. Null: every request is queued.
  std::function<bool(const PublicKey& claimed_sender)> prescreen;
  // CurveZMQ encryption with the server key derived from the hotkey
  // (SigningKey::CurveSecretKey). Clients must use curve too, or their
  // handshake fails and their requests time out.
  bool curve = true;
  // Per-connection high-water mark, in messages, each way.
  int hwm = 1000;
  // Most "overloaded" (and prescreen) replies signed per second, with a
  // burst of a tenth of that; the rest are dropped and counted.
  uint32_t overload_replies_per_s = 2000;
  // How long Stop() lets queued replies drain to peers before closing.
  int stop_linger_ms = 100;
  // Shared ZeroMQ context (not owned, must outlive the server); null: the
  // server owns a context with one I/O thread.
  zmq::context_t* context = nullptr;
};

// A snapshot of the counters (each read atomically, not all at one instant).
struct ServerStats {
  uint64_t received = 0;                         // frames read from the ROUTER
  uint64_t replied = 0;                          // successful (non-error) replies sent
  uint64_t chunks = 0;                           // chunks of streamed replies sent
  uint64_t dropped = 0;                          // frames that got no reply at all
  uint64_t queue_depth = 0;                      // requests waiting for a worker now
  std::array<uint64_t, kReasonCount> refused{};  // by protocol::Reason
  uint64_t refused_total() const;
  uint64_t refused_for(Reason r) const { return refused[static_cast<size_t>(r)]; }
};

class Server {
 public:
  // The handler for one request kind, on raw body bytes: returns the reply
  // body (already encoded) or a status to refuse with. Called on worker
  // threads, concurrently; must not throw (an exception becomes "internal").
  using RawHandler =
      std::function<absl::StatusOr<std::string>(const RequestContext&, absl::string_view body)>;
  // Sends one chunk of a streamed reply (an encoded body) to the requester at
  // once, sealed as its own envelope of the registration's chunk kind with
  // the request's hash. False if it was not sent (larger than an envelope
  // may be); the handler should then stop streaming.
  using ChunkSink = std::function<bool(std::string chunk_body)>;
  // A handler that may stream: it emits any number of chunks, in order,
  // before it returns the final reply. Same contract as RawHandler.
  using RawStreamHandler = std::function<absl::StatusOr<std::string>(
      const RequestContext&, absl::string_view body, const ChunkSink& emit)>;

  // `key` signs every reply and is the identity requests must be addressed to.
  Server(std::shared_ptr<const SigningKey> key, ServerOptions options);
  ~Server();  // Stop()
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Registers `handler` for requests of `req_kind`; its replies go out as
  // `rep_kind`. A body that does not decode as Req is refused as "bad-body".
  // A later registration for the same kind replaces the earlier one.
  // Requires: Start() has not been called.
  template <class Req, class Rep>
  void Handle(MessageKind req_kind, MessageKind rep_kind,
              std::function<absl::StatusOr<Rep>(const RequestContext&, const Req&)> handler) {
    HandleRaw(
        req_kind, rep_kind,
        [handler = std::move(handler), req_kind](
            const RequestContext& ctx, absl::string_view body) -> absl::StatusOr<std::string> {
          absl::StatusOr<Req> req = Decode<Req>(body, KindName(req_kind));
          if (!req.ok()) return Refuse(Reason::kBadBody, req.status().message());
          absl::StatusOr<Rep> rep = handler(ctx, *req);
          if (!rep.ok()) return rep.status();
          return Encode(*rep);
        });
  }
  // Requires: Start() has not been called.
  void HandleRaw(MessageKind req_kind, MessageKind rep_kind, RawHandler handler);

  // Handle() for a request whose handler may stream: each emit(chunk) goes
  // out at once as a reply of `chunk_kind` (the client's CallStreaming hands
  // it over before the final reply); emit returns false when the chunk could
  // not be sent. Requires: Start() has not been called.
  template <class Req, class Chunk, class Rep>
  void HandleStreaming(
      MessageKind req_kind, MessageKind chunk_kind, MessageKind rep_kind,
      std::function<absl::StatusOr<Rep>(const RequestContext&, const Req&,
                                        const std::function<bool(const Chunk&)>& emit)>
          handler) {
    HandleRawStreaming(
        req_kind, chunk_kind, rep_kind,
        [handler = std::move(handler), req_kind](const RequestContext& ctx, absl::string_view body,
                                                 const ChunkSink& sink)
            -> absl::StatusOr<std::string> {
          absl::StatusOr<Req> req = Decode<Req>(body, KindName(req_kind));
          if (!req.ok()) return Refuse(Reason::kBadBody, req.status().message());
          const std::function<bool(const Chunk&)> emit = [&sink](const Chunk& c) {
            return sink(Encode(c));
          };
          absl::StatusOr<Rep> rep = handler(ctx, *req, emit);
          if (!rep.ok()) return rep.status();
          return Encode(*rep);
        });
  }
  // Requires: Start() has not been called.
  void HandleRawStreaming(MessageKind req_kind, MessageKind chunk_kind, MessageKind rep_kind,
                          RawStreamHandler handler);

  // Binds and starts the threads. InvalidArgument for a bad endpoint or
  // options, Unavailable if the address is taken, FailedPrecondition if
  // called twice.
  absl::Status Start();
  // The bound endpoint (e.g. "tcp://127.0.0.1:40123"); empty before Start().
  const std::string& endpoint() const;
  const PublicKey& public_key() const;

  // Stops reading new requests, lets the workers finish every queued one,
  // sends their replies, joins all threads and closes the socket. Idempotent.
  // Requires: not called from a handler.
  void Stop();

  ServerStats Stats() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace agora::protocol

#endif  // AGORA_PROTOCOL_ZMQ_SERVER_H_
