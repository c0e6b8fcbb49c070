#include "protocol/zmq_server.h"

#include <algorithm>
#include <atomic>
#include <exception>
#include <optional>
#include <thread>
#include <utility>
#include <vector>
#include <zmq.hpp>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/clock.h"
#include "common/log.h"
#include "protocol/error_reply.h"
#include "protocol/nonce.h"
#include "protocol/work_queue.h"
#include "protocol/zmq_util.h"

namespace agora::protocol {
namespace {

constexpr char kLog[] = "server";
// Frames read per poll round before the I/O thread flushes replies again.
constexpr int kReadBatch = 256;
// Overloaded frames larger than this get no reply: hashing them would make
// the I/O thread do real work exactly when the server is saturated.
constexpr size_t kMaxOverloadReplyFrame = 64u << 10;

// A request waiting for a worker. zmq::message_t moves without copying the
// payload, and is safe to hand to another thread.
struct Work {
  zmq::message_t identity;
  zmq::message_t payload;
  uint64_t received_ms = 0;
};

// A reply waiting for the I/O thread.
struct Outgoing {
  zmq::message_t identity;
  std::string bytes;
};

struct HandlerEntry {
  MessageKind rep_kind = MessageKind::kError;
  MessageKind chunk_kind = MessageKind::kError;  // streaming handlers only
  Server::RawStreamHandler fn;
};

// Tokens for signing "overloaded" replies on the I/O thread (single thread).
class TokenBucket {
 public:
  explicit TokenBucket(uint32_t per_s)
      : per_ms_(per_s / 1000.0), burst_(std::max(1.0, per_s / 10.0)), tokens_(burst_) {}
  bool Take(uint64_t now_ms) {
    if (now_ms > last_ms_) {
      tokens_ = std::min(burst_, tokens_ + static_cast<double>(now_ms - last_ms_) * per_ms_);
      last_ms_ = now_ms;
    }
    if (tokens_ < 1.0) return false;
    tokens_ -= 1.0;
    return true;
  }

 private:
  double per_ms_;
  double burst_;
  double tokens_;
  uint64_t last_ms_ = 0;
};

}  // namespace

uint64_t ServerStats::refused_total() const {
  uint64_t total = 0;
  for (uint64_t n : refused) total += n;
  return total;
}

class Server::Impl {
 public:
  Impl(std::shared_ptr<const SigningKey> key, ServerOptions options)
      : key_(std::move(key)),
        options_(std::move(options)),
        nonces_(NonceGeneratorFor(key_->public_key())),
        queue_(std::max<size_t>(1, options_.queue_capacity), options_.queue_max_bytes),
        overload_bucket_(options_.overload_replies_per_s) {}

  ~Impl() { Stop(); }

  void HandleRaw(MessageKind req_kind, MessageKind rep_kind, RawHandler handler) {
    handlers_[static_cast<uint8_t>(req_kind)] = HandlerEntry{
        rep_kind, MessageKind::kError,
        [handler = std::move(handler)](const RequestContext& ctx, absl::string_view body,
                                       const ChunkSink&) { return handler(ctx, body); }};
  }
  void HandleRawStreaming(MessageKind req_kind, MessageKind chunk_kind, MessageKind rep_kind,
                          RawStreamHandler handler) {
    handlers_[static_cast<uint8_t>(req_kind)] =
        HandlerEntry{rep_kind, chunk_kind, std::move(handler)};
  }

  absl::Status Start();
  void Stop();
  ServerStats Stats() const;

  const std::string& endpoint() const { return endpoint_; }
  const PublicKey& public_key() const { return key_->public_key(); }

 private:
  void IoLoop();
  void ReadRequests();
  void FlushOutbox();
  // A refusal decided on the I/O thread without opening the request
  // ("overloaded", or "unregistered" by the prescreen): signed within the
  // overload budget, else dropped.
  void RefuseUnopened(Work& work, const absl::Status& why);
  void WorkerLoop();
  // The reply bytes for one request (a reply or a signed refusal), or empty
  // when nothing should be sent.
  std::string Process(const Work& work);
  std::string Refusal(absl::string_view request, const Hash256& request_hash,
                      const PublicKey& receiver, const absl::Status& status);
  void CountRefusal(Reason reason) {
    refused_[static_cast<size_t>(reason)].fetch_add(1, std::memory_order_relaxed);
  }
  void PostReply(zmq::message_t identity, std::string bytes);

  const std::shared_ptr<const SigningKey> key_;
  const ServerOptions options_;
  const std::shared_ptr<NonceGenerator> nonces_;
  std::array<HandlerEntry, 256> handlers_;  // indexed by kind; fixed after Start()

  std::unique_ptr<zmq::context_t> own_context_;
  std::optional<zmq::socket_t> router_;  // used only by the I/O thread once started
  std::optional<WakeFd> wake_;
  std::string endpoint_;

  WorkQueue<Work> queue_;
  absl::Mutex out_mu_;
  std::vector<Outgoing> outbox_ ABSL_GUARDED_BY(out_mu_);
  TokenBucket overload_bucket_;  // I/O thread only

  std::thread io_thread_;
  std::vector<std::thread> workers_;
  std::atomic<bool> accepting_{false};
  std::atomic<bool> io_exit_{false};
  absl::Mutex lifecycle_mu_;
  bool started_ ABSL_GUARDED_BY(lifecycle_mu_) = false;
  bool stopped_ ABSL_GUARDED_BY(lifecycle_mu_) = false;

  std::atomic<uint64_t> received_{0};
  std::atomic<uint64_t> replied_{0};
  std::atomic<uint64_t> chunks_{0};
  std::atomic<uint64_t> dropped_{0};
  std::array<std::atomic<uint64_t>, kReasonCount> refused_{};
};

absl::Status Server::Impl::Start() {
  absl::MutexLock lock(&lifecycle_mu_);
  if (started_) return absl::FailedPreconditionError("server: Start() called twice");
  if (options_.max_envelope_bytes < kEnvelopeOverhead) {
    return absl::InvalidArgumentError("server.max_envelope_bytes: smaller than an envelope");
  }
  absl::StatusOr<WakeFd> wake = WakeFd::Create();
  if (!wake.ok()) return wake.status();
  wake_.emplace(std::move(wake).value());
  zmq::context_t* ctx = options_.context;
  try {
    if (ctx == nullptr) {
      own_context_ = std::make_unique<zmq::context_t>(1);
      ctx = own_context_.get();
    }
    router_.emplace(*ctx, zmq::socket_type::router);
    ConfigureSocket(*router_, options_.max_envelope_bytes, options_.hwm);
    // Replies to peers that left are dropped silently instead of failing.
    router_->set(zmq::sockopt::router_mandatory, false);
    if (options_.curve && CurveAvailable()) {
      router_->set(zmq::sockopt::curve_server, true);
      const SecretBytes secret = key_->CurveSecretKey();
      router_->set(zmq::sockopt::curve_secretkey, zmq::const_buffer(secret.data(), secret.size()));
    }
    router_->bind(options_.endpoint);
    endpoint_ = router_->get(zmq::sockopt::last_endpoint);
  } catch (const zmq::error_t& e) {
    router_.reset();
    own_context_.reset();
    const std::string what = absl::StrCat("server: bind ", options_.endpoint, ": ", e.what());
    return e.num() == EADDRINUSE ? absl::UnavailableError(what) : absl::InvalidArgumentError(what);
  }
  started_ = true;
  accepting_.store(true);
  int workers = options_.workers;
  if (workers <= 0) workers = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  for (int i = 0; i < workers; ++i) workers_.emplace_back([this] { WorkerLoop(); });
  io_thread_ = std::thread([this] { IoLoop(); });
  AGORA_LOG(INFO, kLog, "serving on %s (%d workers, curve %s)", endpoint_, workers,
            options_.curve && CurveAvailable() ? "on" : "off");
  return absl::OkStatus();
}

void Server::Impl::Stop() {
  {
    absl::MutexLock lock(&lifecycle_mu_);
    if (!started_ || stopped_) return;
    stopped_ = true;
  }
  accepting_.store(false);
  wake_->Notify();
  queue_.Close();  // workers finish what is queued, then exit
  for (std::thread& t : workers_) t.join();
  workers_.clear();
  io_exit_.store(true);
  wake_->Notify();
  io_thread_.join();
  try {
    router_->set(zmq::sockopt::linger, options_.stop_linger_ms);
  } catch (const zmq::error_t&) {
  }
  router_.reset();
  own_context_.reset();  // waits up to stop_linger_ms for queued replies
}

ServerStats Server::Impl::Stats() const {
  ServerStats s;
  s.received = received_.load(std::memory_order_relaxed);
  s.replied = replied_.load(std::memory_order_relaxed);
  s.chunks = chunks_.load(std::memory_order_relaxed);
  s.dropped = dropped_.load(std::memory_order_relaxed);
  s.queue_depth = queue_.size();
  for (size_t i = 0; i < kReasonCount; ++i)
    s.refused[i] = refused_[i].load(std::memory_order_relaxed);
  return s;
}

// ---- I/O thread -----------------------------------------------------------

void Server::Impl::IoLoop() {
  zmq::pollitem_t items[2] = {{nullptr, wake_->fd(), ZMQ_POLLIN, 0},
                              {router_->handle(), 0, ZMQ_POLLIN, 0}};
  while (true) {
    const bool accepting = accepting_.load();
    try {
      zmq::poll(items, accepting ? 2 : 1, std::chrono::milliseconds(-1));
    } catch (const zmq::error_t& e) {
      if (e.num() != EINTR) AGORA_LOG(ERROR, kLog, "poll: %s", e.what());
      continue;
    }
    if (items[0].revents & ZMQ_POLLIN) wake_->Drain();
    if (io_exit_.load()) {
      FlushOutbox();  // workers are joined: this is every remaining reply
      return;
    }
    FlushOutbox();
    if (accepting && (items[1].revents & ZMQ_POLLIN)) ReadRequests();
  }
}

void Server::Impl::ReadRequests() {
  for (int i = 0; i < kReadBatch; ++i) {
    zmq::message_t identity;
    zmq::message_t payload;
    try {
      if (!router_->recv(identity, zmq::recv_flags::dontwait)) return;
      // A ROUTER message is always complete once its first frame is readable.
      if (!identity.more()) {
        dropped_.fetch_add(1, std::memory_order_relaxed);
        continue;
      }
      (void)router_->recv(payload, zmq::recv_flags::dontwait);
      if (payload.more()) {
        // More than identity + one frame: no conforming DEALER sends this.
        zmq::message_t rest;
        do {
          if (!router_->recv(rest, zmq::recv_flags::dontwait)) break;
        } while (rest.more());
        received_.fetch_add(1, std::memory_order_relaxed);
        dropped_.fetch_add(1, std::memory_order_relaxed);
        CountRefusal(Reason::kBadLength);
        AGORA_LOG(DEBUG, kLog, "dropped a multi-part message");
        continue;
      }
    } catch (const zmq::error_t& e) {
      AGORA_LOG(DEBUG, kLog, "recv: %s", e.what());
      return;
    }
    received_.fetch_add(1, std::memory_order_relaxed);
    if (payload.size() == 0) {
      dropped_.fetch_add(1, std::memory_order_relaxed);
      CountRefusal(Reason::kBadLength);
      AGORA_LOG(DEBUG, kLog, "dropped an empty frame");
      continue;
    }
    Work work{std::move(identity), std::move(payload), UnixMillis()};
    const size_t bytes = work.payload.size();
    if (options_.prescreen) {
      absl::StatusOr<EnvelopeHeader> claimed =
          PeekHeader(absl::string_view(work.payload.data<char>(), bytes));
      if (claimed.ok() && !options_.prescreen(claimed->sender)) {
        RefuseUnopened(work, Refuse(Reason::kUnregistered, "hotkey is not registered on this subnet"));
        continue;
      }
    }
    if (!queue_.TryPush(work, bytes)) RefuseUnopened(work, Refuse(Reason::kOverloaded, "work queue full"));
  }
}

void Server::Impl::RefuseUnopened(Work& work, const absl::Status& why) {
  CountRefusal(RefusalReasonFor(why));
  const absl::string_view bytes(work.payload.data<char>(), work.payload.size());
  if (bytes.size() > kMaxOverloadReplyFrame || !overload_bucket_.Take(work.received_ms)) {
    dropped_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  absl::StatusOr<EnvelopeHeader> header = PeekHeader(bytes);
  const PublicKey receiver = header.ok() ? header->sender : PublicKey{};
  std::string reply = SealRefusal(*key_, *nonces_, receiver, EnvelopeHash(bytes), why, UnixMillis());
  try {
    router_->send(work.identity, zmq::send_flags::sndmore | zmq::send_flags::dontwait);
    router_->send(zmq::buffer(reply), zmq::send_flags::dontwait);
  } catch (const zmq::error_t& e) {
    AGORA_LOG(DEBUG, kLog, "send: %s", e.what());
  }
}

void Server::Impl::FlushOutbox() {
  std::vector<Outgoing> batch;
  {
    absl::MutexLock lock(&out_mu_);
    batch.swap(outbox_);
  }
  for (Outgoing& out : batch) {
    // ROUTER without router_mandatory drops (never blocks on) a reply to a
    // peer that is gone or whose pipe is full.
    try {
      router_->send(out.identity, zmq::send_flags::sndmore | zmq::send_flags::dontwait);
      router_->send(zmq::buffer(out.bytes), zmq::send_flags::dontwait);
    } catch (const zmq::error_t& e) {
      AGORA_LOG(DEBUG, kLog, "send: %s", e.what());
    }
  }
}

// ---- workers ----------------------------------------------------------------

void Server::Impl::PostReply(zmq::message_t identity, std::string bytes) {
  bool was_empty;
  {
    absl::MutexLock lock(&out_mu_);
    was_empty = outbox_.empty();
    outbox_.push_back(Outgoing{std::move(identity), std::move(bytes)});
  }
  if (was_empty) wake_->Notify();  // otherwise a wake-up is already pending
}

void Server::Impl::WorkerLoop() {
  while (std::optional<Work> work = queue_.Pop()) {
    std::string reply = Process(*work);
    if (!reply.empty()) PostReply(std::move(work->identity), std::move(reply));
  }
}

std::string Server::Impl::Refusal(absl::string_view request, const Hash256& request_hash,
                                  const PublicKey& receiver, const absl::Status& status) {
  const Reason reason = RefusalReasonFor(status);
  CountRefusal(reason);
  AGORA_LOG(DEBUG, kLog, "refused %d-byte request: %s", request.size(), status.ToString());
  return SealRefusal(*key_, *nonces_, receiver, request_hash, status, UnixMillis());
}

std::string Server::Impl::Process(const Work& work) {
  const absl::string_view bytes(work.payload.data<char>(), work.payload.size());
  const Hash256 request_hash = EnvelopeHash(bytes);
  OpenContext ctx;
  ctx.self = key_->public_key();
  ctx.now_ms = UnixMillis();
  ctx.max_skew_ms = options_.max_skew_ms;
  ctx.max_envelope_bytes = options_.max_envelope_bytes;
  ctx.replay = options_.replay;
  absl::StatusOr<OpenedEnvelope> opened = OpenEnvelope(bytes, ctx);
  if (!opened.ok()) {
    absl::StatusOr<EnvelopeHeader> claimed = PeekHeader(bytes);
    return Refusal(bytes, request_hash, claimed.ok() ? claimed->sender : PublicKey{},
                   opened.status());
  }
  const EnvelopeHeader& header = opened->header;
  if (options_.admission) {
    absl::Status admitted;
    try {
      admitted = options_.admission(header);
    } catch (...) {
      admitted = absl::InternalError("admission hook threw");
    }
    if (!admitted.ok()) return Refusal(bytes, request_hash, header.sender, admitted);
  }
  const HandlerEntry& entry = handlers_[static_cast<uint8_t>(header.kind)];
  if (!entry.fn) {
    return Refusal(bytes, request_hash, header.sender,
                   Refuse(Reason::kUnknownKind,
                          absl::StrCat("no handler for kind ", static_cast<int>(header.kind))));
  }
  RequestContext request_ctx{header.sender, header, work.received_ms};
  // Chunks are sealed here and queued behind nothing: the outbox is FIFO and
  // the final reply is posted after the handler returns, so the peer reads
  // them in order and before the final reply.
  const ChunkSink emit = [&](std::string chunk) {
    if (entry.chunk_kind == MessageKind::kError ||
        chunk.size() > options_.max_envelope_bytes - kEnvelopeOverhead) {
      return false;
    }
    SealParams params;
    params.receiver = header.sender;
    params.kind = entry.chunk_kind;
    params.nonce = nonces_->Next();
    params.timestamp_ms = UnixMillis();
    params.request_hash = request_hash;
    PostReply(zmq::message_t(work.identity.data(), work.identity.size()),
              SealEnvelope(*key_, params, chunk));
    chunks_.fetch_add(1, std::memory_order_relaxed);
    return true;
  };
  absl::StatusOr<std::string> body;
  try {
    body = entry.fn(request_ctx, opened->body, emit);
  } catch (const std::exception& e) {
    body = absl::InternalError(absl::StrCat("handler threw: ", e.what()));
  } catch (...) {
    body = absl::InternalError("handler threw");
  }
  if (!body.ok()) return Refusal(bytes, request_hash, header.sender, body.status());
  if (body->size() > options_.max_envelope_bytes - kEnvelopeOverhead) {
    // The peer's maxmsgsize would drop it and close the connection, losing
    // every other request in flight on it: refuse instead.
    return Refusal(bytes, request_hash, header.sender,
                   Refuse(Reason::kInternal, "reply larger than max_envelope_bytes"));
  }
  SealParams params;
  params.receiver = header.sender;
  params.kind = entry.rep_kind;
  params.nonce = nonces_->Next();
  params.timestamp_ms = UnixMillis();
  params.request_hash = request_hash;
  replied_.fetch_add(1, std::memory_order_relaxed);
  return SealEnvelope(*key_, params, *body);
}

// ---- Server -------------------------------------------------------------------

Server::Server(std::shared_ptr<const SigningKey> key, ServerOptions options)
    : impl_(std::make_unique<Impl>(std::move(key), std::move(options))) {}
Server::~Server() = default;
void Server::HandleRaw(MessageKind req_kind, MessageKind rep_kind, RawHandler handler) {
  impl_->HandleRaw(req_kind, rep_kind, std::move(handler));
}
void Server::HandleRawStreaming(MessageKind req_kind, MessageKind chunk_kind,
                                MessageKind rep_kind, RawStreamHandler handler) {
  impl_->HandleRawStreaming(req_kind, chunk_kind, rep_kind, std::move(handler));
}
absl::Status Server::Start() { return impl_->Start(); }
const std::string& Server::endpoint() const { return impl_->endpoint(); }
const PublicKey& Server::public_key() const { return impl_->public_key(); }
void Server::Stop() { impl_->Stop(); }
ServerStats Server::Stats() const { return impl_->Stats(); }

}  // namespace agora::protocol
