#include "protocol/zmq_client.h"

#include <sys/epoll.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstdint>
#include <cstring>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>
#include <zmq.hpp>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "common/clock.h"
#include "common/log.h"
#include "protocol/error_reply.h"
#include "protocol/nonce.h"
#include "protocol/peer_socket_cache.h"
#include "protocol/work_queue.h"
#include "protocol/zmq_util.h"

namespace agora::protocol {
namespace {

constexpr char kLog[] = "client";
// Messages read from one socket per round, so one chatty peer cannot starve
// the others or the deadlines.
constexpr int kDrainBatch = 512;
constexpr int kMaxEvents = 256;

using DeadlineIndex = std::multimap<Deadline, Hash256>;

// A request on its way from a calling thread to the I/O thread.
struct Command {
  Peer peer;
  std::string envelope;
  Hash256 request_hash{};
  Deadline deadline;
  Client::Callback done;
  Client::Stream stream;  // a streamed request's chunk kind and callback
};

struct Pending {
  PeerSocket* socket = nullptr;
  PublicKey peer{};
  Client::Callback done;
  Client::Stream stream;
  DeadlineIndex::iterator deadline_it;
};

// A reply matched to its request, waiting to be verified. The request is
// already forgotten by the I/O thread, so its deadline no longer applies.
struct VerifyJob {
  zmq::message_t bytes;
  PublicKey peer{};
  std::string endpoint;
  Client::Callback done;
};

}  // namespace

class Client::Impl {
 public:
  Impl(std::shared_ptr<const SigningKey> key, ClientOptions options)
      : key_(std::move(key)),
        options_(std::move(options)),
        nonces_(NonceGeneratorFor(key_->public_key())),
        use_curve_(options_.curve && CurveAvailable()) {}

  ~Impl() {
    stop_.store(true);
    if (wake_.has_value()) wake_->Notify();
    if (io_thread_.joinable()) io_thread_.join();
    if (verify_queue_.has_value()) verify_queue_->Close();  // drained first
    for (std::thread& t : verify_threads_) t.join();
    sockets_.reset();  // (already empty if the I/O thread ran) before the context and epoll
    if (epfd_ >= 0) close(epfd_);
    own_context_.reset();
  }

  absl::Status Init();
  void Submit(const Peer& peer, MessageKind kind, absl::string_view body, Deadline deadline,
              Callback done, Stream stream = {});
  // Submit() to each peer; done_for(i) makes the callback of peers[i].
  void SubmitMany(const std::vector<Peer>& peers, MessageKind kind, absl::string_view body,
                  Deadline deadline, const std::function<Callback(size_t)>& done_for);
  const PublicKey& public_key() const { return key_->public_key(); }
  ClientStats Stats() const;

 private:
  // Seals a request on the calling thread, or runs `done` with the failure
  // and returns nullopt.
  std::optional<Command> Prepare(const Peer& peer, MessageKind kind, absl::string_view body,
                                 Deadline deadline, Callback& done);
  // Opens a reply to a request made to `peer` through `endpoint`: the
  // envelope checks plus the signer; the failure as Unauthenticated.
  absl::StatusOr<OpenedEnvelope> OpenReply(absl::string_view bytes, const PublicKey& peer,
                                           const std::string& endpoint);
  // Moves `cmds` to the I/O thread (or cancels them after shutdown).
  void Enqueue(std::vector<Command>& cmds);

  // Everything below runs on the I/O thread only.
  void IoLoop();
  void Send(Command& cmd);
  void MarkDirty(PeerSocket* s);
  void Drain(PeerSocket* s);
  void OnReply(PeerSocket* s, zmq::message_t& msg);
  // A chunk of a streamed request: verified here, on the I/O thread, so that
  // chunks reach the callback in the order the server sent them, and all of
  // them before the final reply.
  void OnChunk(absl::flat_hash_map<Hash256, Pending>::iterator it, PeerSocket* s,
               absl::string_view bytes);
  void Complete(absl::flat_hash_map<Hash256, Pending>::iterator it, absl::StatusOr<Reply> result);
  // Verifies a matched reply and runs its callback: on the I/O thread, or on
  // a verify thread when options_.verify_threads > 0.
  void Verify(VerifyJob& job);
  void VerifyLoop();
  void ExpireDeadlines();
  int TimeoutMs() const;
  void Shutdown();

  const std::shared_ptr<const SigningKey> key_;
  const ClientOptions options_;
  const std::shared_ptr<NonceGenerator> nonces_;
  const bool use_curve_;
  CurveKey curve_public_{};
  SecretBytes curve_secret_;

  std::unique_ptr<zmq::context_t> own_context_;
  zmq::context_t* ctx_ = nullptr;
  std::optional<WakeFd> wake_;
  int epfd_ = -1;
  std::thread io_thread_;
  std::vector<std::thread> verify_threads_;
  std::optional<WorkQueue<VerifyJob>> verify_queue_;
  std::atomic<bool> stop_{false};
  std::atomic<size_t> outstanding_{0};

  absl::Mutex in_mu_;
  std::vector<Command> inbox_ ABSL_GUARDED_BY(in_mu_);
  bool closed_ ABSL_GUARDED_BY(in_mu_) = false;

  // I/O thread state.
  std::optional<PeerSocketCache> sockets_;
  std::vector<PeerSocket*> dirty_;
  absl::flat_hash_map<Hash256, Pending> pending_;
  DeadlineIndex deadlines_;

  std::atomic<uint64_t> sent_{0};
  std::atomic<uint64_t> completed_{0};
  std::atomic<uint64_t> timed_out_{0};
  std::atomic<uint64_t> unmatched_{0};
  std::atomic<uint64_t> rejected_{0};
  std::atomic<uint64_t> chunks_{0};
  std::atomic<uint64_t> peer_count_{0};
};

absl::Status Client::Impl::Init() {
  if (options_.max_envelope_bytes < kEnvelopeOverhead || options_.max_peers == 0 ||
      options_.max_outstanding == 0) {
    return absl::InvalidArgumentError(
        "client options: max_envelope_bytes below an envelope, or a zero bound");
  }
  if (use_curve_) {
    curve_public_ = key_->CurvePublicKey();
    curve_secret_ = key_->CurveSecretKey();
  }
  absl::StatusOr<WakeFd> wake = WakeFd::Create();
  if (!wake.ok()) return wake.status();
  wake_.emplace(std::move(wake).value());
  epfd_ = epoll_create1(EPOLL_CLOEXEC);
  if (epfd_ < 0) return absl::InternalError(absl::StrCat("epoll_create1: ", std::strerror(errno)));
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.ptr = nullptr;  // the wake fd
  if (epoll_ctl(epfd_, EPOLL_CTL_ADD, wake_->fd(), &ev) != 0) {
    return absl::InternalError(absl::StrCat("epoll_ctl: ", std::strerror(errno)));
  }
  ctx_ = options_.context;
  if (ctx_ == nullptr) {
    own_context_ = std::make_unique<zmq::context_t>(1);
    own_context_->set(zmq::ctxopt::max_sockets, static_cast<int>(options_.max_peers) + 16);
    ctx_ = own_context_.get();
  }
  PeerSocketOptions socket_options;
  socket_options.max_peers = options_.max_peers;
  socket_options.max_envelope_bytes = options_.max_envelope_bytes;
  socket_options.hwm = options_.hwm;
  if (use_curve_) {
    socket_options.curve_public = &curve_public_;
    socket_options.curve_secret = &curve_secret_;
  }
  sockets_.emplace(*ctx_, epfd_, socket_options);
  if (options_.verify_threads > 0) {
    // Bounded by max_outstanding: each job is a request still counted there.
    verify_queue_.emplace(options_.max_outstanding + 1, SIZE_MAX);
    for (int i = 0; i < options_.verify_threads; ++i) {
      verify_threads_.emplace_back([this] { VerifyLoop(); });
    }
  }
  io_thread_ = std::thread([this] { IoLoop(); });
  return absl::OkStatus();
}

std::optional<Command> Client::Impl::Prepare(const Peer& peer, MessageKind kind,
                                             absl::string_view body, Deadline deadline,
                                             Callback& done) {
  if (body.size() > options_.max_envelope_bytes - kEnvelopeOverhead) {
    done(absl::InvalidArgumentError(absl::StrCat("request: ", body.size() + kEnvelopeOverhead,
                                                 " bytes (limit ", options_.max_envelope_bytes,
                                                 ")")));
    return std::nullopt;
  }
  if (outstanding_.fetch_add(1) >= options_.max_outstanding) {
    outstanding_.fetch_sub(1);
    done(absl::ResourceExhaustedError(
        absl::StrCat("client: ", options_.max_outstanding, " requests already in flight")));
    return std::nullopt;
  }
  SealParams params;
  params.receiver = peer.hotkey;
  params.kind = kind;
  params.nonce = nonces_->Next();
  params.timestamp_ms = UnixMillis();
  Command cmd{peer, SealEnvelope(*key_, params, body), {}, deadline, std::move(done), {}};
  cmd.request_hash = EnvelopeHash(cmd.envelope);
  return cmd;
}

void Client::Impl::Enqueue(std::vector<Command>& cmds) {
  if (cmds.empty()) return;
  bool was_empty = false;
  bool closed = false;
  {
    absl::MutexLock lock(&in_mu_);
    closed = closed_;
    if (!closed) {
      was_empty = inbox_.empty();
      for (Command& c : cmds) inbox_.push_back(std::move(c));
    }
  }
  if (closed) {
    for (Command& c : cmds) {
      outstanding_.fetch_sub(1);
      c.done(absl::CancelledError("client: shutting down"));
    }
  } else if (was_empty) {
    wake_->Notify();  // otherwise the I/O thread has a wake-up pending
  }
  cmds.clear();
}

void Client::Impl::Submit(const Peer& peer, MessageKind kind, absl::string_view body,
                          Deadline deadline, Callback done, Stream stream) {
  std::optional<Command> cmd = Prepare(peer, kind, body, deadline, done);
  if (!cmd.has_value()) return;
  cmd->stream = std::move(stream);
  std::vector<Command> one;
  one.push_back(std::move(*cmd));
  Enqueue(one);
}

void Client::Impl::SubmitMany(const std::vector<Peer>& peers, MessageKind kind,
                              absl::string_view body, Deadline deadline,
                              const std::function<Callback(size_t)>& done_for) {
  // Hands envelopes over in small groups: the first peers get their request
  // after a few signatures, and the I/O thread wakes once per group instead
  // of once per peer.
  constexpr size_t kGroup = 8;
  std::vector<Command> group;
  group.reserve(kGroup);
  for (size_t i = 0; i < peers.size(); ++i) {
    Callback done = done_for(i);
    std::optional<Command> cmd = Prepare(peers[i], kind, body, deadline, done);
    if (cmd.has_value()) group.push_back(std::move(*cmd));
    if (group.size() == kGroup) Enqueue(group);
  }
  Enqueue(group);
}

ClientStats Client::Impl::Stats() const {
  ClientStats s;
  s.sent = sent_.load(std::memory_order_relaxed);
  s.completed = completed_.load(std::memory_order_relaxed);
  s.timed_out = timed_out_.load(std::memory_order_relaxed);
  s.unmatched = unmatched_.load(std::memory_order_relaxed);
  s.rejected = rejected_.load(std::memory_order_relaxed);
  s.chunks = chunks_.load(std::memory_order_relaxed);
  s.peers = peer_count_.load(std::memory_order_relaxed);
  return s;
}

// ---- I/O thread -------------------------------------------------------------
//
// ZeroMQ sockets expose ZMQ_FD, which becomes readable when the socket has
// commands to process, not necessarily messages. The loop therefore treats a
// readable fd as "drain this socket until EAGAIN" and also drains a socket
// after each send (a send may process the command that made input readable
// without the fd staying readable). epoll scales to many peers where
// zmq_poll would walk every socket on every round.

void Client::Impl::IoLoop() {
  epoll_event events[kMaxEvents];
  std::vector<Command> batch;
  while (true) {
    const int n = epoll_wait(epfd_, events, kMaxEvents, TimeoutMs());
    if (n < 0 && errno != EINTR) {
      AGORA_LOG(ERROR, kLog, "epoll_wait: %s", std::strerror(errno));
    }
    for (int i = 0; i < n; ++i) {
      if (events[i].data.ptr == nullptr) {
        wake_->Drain();
      } else {
        MarkDirty(static_cast<PeerSocket*>(events[i].data.ptr));
      }
    }
    if (stop_.load()) break;
    {
      absl::MutexLock lock(&in_mu_);
      batch.swap(inbox_);
    }
    for (Command& cmd : batch) Send(cmd);
    batch.clear();
    std::vector<PeerSocket*> round;
    round.swap(dirty_);
    for (PeerSocket* s : round) {
      s->dirty = false;
      if (!s->evicted) Drain(s);
    }
    ExpireDeadlines();
    // Sockets evicted this round were only in `round`, which is done with.
    sockets_->ReleaseEvicted();
  }
  Shutdown();
}

int Client::Impl::TimeoutMs() const {
  if (!dirty_.empty()) return 0;
  if (deadlines_.empty()) return -1;
  const auto left = deadlines_.begin()->first - std::chrono::steady_clock::now();
  if (left <= std::chrono::steady_clock::duration::zero()) return 0;
  // Round up so the loop does not wake just before the deadline and spin.
  return static_cast<int>(std::chrono::ceil<std::chrono::milliseconds>(left).count());
}

void Client::Impl::MarkDirty(PeerSocket* s) {
  if (s->dirty || s->evicted) return;
  s->dirty = true;
  dirty_.push_back(s);
}

void Client::Impl::Send(Command& cmd) {
  if (cmd.deadline <= std::chrono::steady_clock::now()) {
    outstanding_.fetch_sub(1);
    timed_out_.fetch_add(1, std::memory_order_relaxed);
    cmd.done(absl::DeadlineExceededError("request: deadline passed before it was sent"));
    return;
  }
  absl::StatusOr<PeerSocket*> socket = sockets_->Get(cmd.peer.endpoint, cmd.peer.hotkey);
  peer_count_.store(sockets_->size(), std::memory_order_relaxed);
  if (!socket.ok()) {
    outstanding_.fetch_sub(1);
    cmd.done(socket.status());
    return;
  }
  PeerSocket* s = *socket;
  bool sent = false;
  try {
    sent = s->socket->send(zmq::buffer(cmd.envelope), zmq::send_flags::dontwait).has_value();
  } catch (const zmq::error_t& e) {
    AGORA_LOG(DEBUG, kLog, "send to %s: %s", s->endpoint, e.what());
  }
  MarkDirty(s);
  if (!sent) {
    outstanding_.fetch_sub(1);
    cmd.done(absl::UnavailableError(absl::StrCat("peer ", s->endpoint, ": send queue full")));
    return;
  }
  sent_.fetch_add(1, std::memory_order_relaxed);
  auto [it, inserted] = pending_.try_emplace(cmd.request_hash);
  if (!inserted) {  // two identical envelopes: impossible with monotone nonces
    outstanding_.fetch_sub(1);
    cmd.done(absl::InternalError("client: duplicate request hash"));
    return;
  }
  Pending& p = it->second;
  p.socket = s;
  p.peer = cmd.peer.hotkey;
  p.done = std::move(cmd.done);
  p.stream = std::move(cmd.stream);
  p.deadline_it = deadlines_.emplace(cmd.deadline, cmd.request_hash);
  ++s->outstanding;
}

void Client::Impl::Drain(PeerSocket* s) {
  for (int i = 0; i < kDrainBatch; ++i) {
    zmq::message_t msg;
    try {
      if (!s->socket->recv(msg, zmq::recv_flags::dontwait)) return;
      if (msg.more()) {  // servers send one frame: drop the whole message
        zmq::message_t rest;
        do {
          if (!s->socket->recv(rest, zmq::recv_flags::dontwait)) break;
        } while (rest.more());
        unmatched_.fetch_add(1, std::memory_order_relaxed);
        continue;
      }
    } catch (const zmq::error_t& e) {
      AGORA_LOG(DEBUG, kLog, "recv from %s: %s", s->endpoint, e.what());
      return;
    }
    OnReply(s, msg);
  }
  MarkDirty(s);  // batch used up: come back next round
}

void Client::Impl::OnReply(PeerSocket* s, zmq::message_t& msg) {
  const absl::string_view bytes(msg.data<char>(), msg.size());
  absl::StatusOr<EnvelopeHeader> claimed = PeekHeader(bytes);
  auto it = claimed.ok() ? pending_.find(claimed->request_hash) : pending_.end();
  if (it == pending_.end() || it->second.socket != s) {
    unmatched_.fetch_add(1, std::memory_order_relaxed);
    AGORA_LOG(DEBUG, kLog, "dropped a reply from %s that matches no request", s->endpoint);
    return;
  }
  if (it->second.stream.on_chunk && claimed->kind == it->second.stream.chunk_kind) {
    OnChunk(it, s, bytes);
    return;
  }
  // The claimed request hash matches: the request is answered now, for
  // better or worse (a forged reply on this connection fails it, as the
  // header says). Verification may run elsewhere.
  VerifyJob job{std::move(msg), it->second.peer, s->endpoint, std::move(it->second.done)};
  deadlines_.erase(it->second.deadline_it);
  --s->outstanding;
  pending_.erase(it);
  if (verify_queue_.has_value() && verify_queue_->TryPush(job, 0)) return;
  Verify(job);
}

void Client::Impl::OnChunk(absl::flat_hash_map<Hash256, Pending>::iterator it, PeerSocket* s,
                           absl::string_view bytes) {
  absl::StatusOr<OpenedEnvelope> opened = OpenReply(bytes, it->second.peer, s->endpoint);
  if (!opened.ok()) {
    // A chunk that does not verify fails the whole request, as a final
    // reply would: what came before it can no longer be trusted to be all.
    rejected_.fetch_add(1, std::memory_order_relaxed);
    Complete(it, opened.status());
    return;
  }
  chunks_.fetch_add(1, std::memory_order_relaxed);
  it->second.stream.on_chunk(Reply{opened->header, std::string(bytes)});
}

absl::StatusOr<OpenedEnvelope> Client::Impl::OpenReply(absl::string_view bytes,
                                                       const PublicKey& peer,
                                                       const std::string& endpoint) {
  OpenContext ctx;
  ctx.self = key_->public_key();
  ctx.now_ms = UnixMillis();
  ctx.max_skew_ms = options_.max_skew_ms;
  ctx.max_envelope_bytes = options_.max_envelope_bytes;
  absl::StatusOr<OpenedEnvelope> opened = OpenEnvelope(bytes, ctx);
  if (!opened.ok()) {
    return absl::UnauthenticatedError(
        absl::StrCat("reply from ", endpoint, ": ", opened.status().message()));
  }
  if (opened->header.sender != peer) {
    return absl::UnauthenticatedError(
        absl::StrCat("reply from ", endpoint, ": signed by another key than the one called"));
  }
  return opened;
}

void Client::Impl::VerifyLoop() {
  while (std::optional<VerifyJob> job = verify_queue_->Pop()) Verify(*job);
}

void Client::Impl::Verify(VerifyJob& job) {
  const absl::string_view bytes(job.bytes.data<char>(), job.bytes.size());
  absl::StatusOr<OpenedEnvelope> opened = OpenReply(bytes, job.peer, job.endpoint);
  absl::StatusOr<Reply> result;
  if (!opened.ok()) {
    rejected_.fetch_add(1, std::memory_order_relaxed);
    result = opened.status();
  } else {
    completed_.fetch_add(1, std::memory_order_relaxed);
    if (opened->header.kind == MessageKind::kError) {
      result = StatusFromErrorReply(opened->body);
    } else {
      result = Reply{opened->header, std::string(bytes)};
    }
  }
  Callback done = std::move(job.done);
  outstanding_.fetch_sub(1);
  done(std::move(result));
}

void Client::Impl::Complete(absl::flat_hash_map<Hash256, Pending>::iterator it,
                            absl::StatusOr<Reply> result) {
  Callback done = std::move(it->second.done);
  deadlines_.erase(it->second.deadline_it);
  --it->second.socket->outstanding;
  pending_.erase(it);
  outstanding_.fetch_sub(1);
  done(std::move(result));
}

void Client::Impl::ExpireDeadlines() {
  const Deadline now = std::chrono::steady_clock::now();
  while (!deadlines_.empty() && deadlines_.begin()->first <= now) {
    auto it = pending_.find(deadlines_.begin()->second);
    timed_out_.fetch_add(1, std::memory_order_relaxed);
    Complete(it, absl::DeadlineExceededError(absl::StrCat(
                     "no reply from ", it->second.socket->endpoint, " before the deadline")));
  }
}

void Client::Impl::Shutdown() {
  std::vector<Command> batch;
  {
    absl::MutexLock lock(&in_mu_);
    closed_ = true;
    batch.swap(inbox_);
  }
  for (Command& cmd : batch) {
    outstanding_.fetch_sub(1);
    cmd.done(absl::CancelledError("client: shutting down"));
  }
  while (!pending_.empty())
    Complete(pending_.begin(), absl::CancelledError("client: shutting down"));
  sockets_.reset();  // closes every socket
  peer_count_.store(0, std::memory_order_relaxed);
}

// ---- Client -------------------------------------------------------------------

absl::StatusOr<std::unique_ptr<Client>> Client::Create(std::shared_ptr<const SigningKey> key,
                                                       ClientOptions options) {
  auto impl = std::make_unique<Impl>(std::move(key), std::move(options));
  absl::Status s = impl->Init();
  if (!s.ok()) return s;
  return std::unique_ptr<Client>(new Client(std::move(impl)));
}

Client::Client(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Client::~Client() = default;

void Client::CallAsync(const Peer& peer, MessageKind kind, absl::string_view body,
                       Deadline deadline, Callback done) {
  impl_->Submit(peer, kind, body, deadline, std::move(done));
}

std::future<absl::StatusOr<Reply>> Client::CallFuture(const Peer& peer, MessageKind kind,
                                                      absl::string_view body, Deadline deadline) {
  auto promise = std::make_shared<std::promise<absl::StatusOr<Reply>>>();
  std::future<absl::StatusOr<Reply>> future = promise->get_future();
  impl_->Submit(peer, kind, body, deadline,
                [promise](absl::StatusOr<Reply> r) { promise->set_value(std::move(r)); });
  return future;
}

void Client::CallStreaming(const Peer& peer, MessageKind kind, absl::string_view body,
                           Deadline deadline, Stream stream, Callback done) {
  impl_->Submit(peer, kind, body, deadline, std::move(done), std::move(stream));
}

absl::StatusOr<Reply> Client::Call(const Peer& peer, MessageKind kind, absl::string_view body,
                                   Deadline deadline) {
  return CallFuture(peer, kind, body, deadline).get();
}

std::vector<absl::StatusOr<Reply>> Client::FanOut(const std::vector<Peer>& peers, MessageKind kind,
                                                  absl::string_view body, Deadline deadline) {
  struct State {
    std::mutex mu;
    std::condition_variable cv;
    size_t remaining = 0;
    std::vector<absl::StatusOr<Reply>> results;
  };
  auto state = std::make_shared<State>();
  state->remaining = peers.size();
  state->results.resize(peers.size());
  impl_->SubmitMany(peers, kind, body, deadline, [state](size_t i) -> Callback {
    return [state, i](absl::StatusOr<Reply> r) {
      std::lock_guard<std::mutex> lock(state->mu);
      state->results[i] = std::move(r);
      if (--state->remaining == 0) state->cv.notify_all();
    };
  });
  std::unique_lock<std::mutex> lock(state->mu);
  state->cv.wait(lock, [&] { return state->remaining == 0; });
  return std::move(state->results);
}

const PublicKey& Client::public_key() const { return impl_->public_key(); }
ClientStats Client::Stats() const { return impl_->Stats(); }

}  // namespace agora::protocol
