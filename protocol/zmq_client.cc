#include "protocol/zmq_client.h"

#include <sys/epoll.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <list>
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
};

// One DEALER and what the I/O thread knows about it.
struct PeerSocket {
  std::string cache_key;
  std::string endpoint;
  std::optional<zmq::socket_t> socket;
  int fd = -1;                 // ZMQ_FD, registered with epoll
  size_t outstanding = 0;      // requests sent on it and not yet completed
  bool dirty = false;          // queued for a drain this round
  bool evicted = false;        // closed this round; freed at the end of it
  std::list<PeerSocket*>::iterator lru;
};

struct Pending {
  PeerSocket* socket = nullptr;
  PublicKey peer{};
  Client::Callback done;
  DeadlineIndex::iterator deadline_it;
};

std::string CacheKey(const Peer& peer) {
  return absl::StrCat(peer.endpoint, "|", AsStringView(peer.hotkey));
}

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
    if (epfd_ >= 0) close(epfd_);
    own_context_.reset();
  }

  absl::Status Init();
  void Submit(const Peer& peer, MessageKind kind, absl::string_view body, Deadline deadline,
              Callback done);
  const PublicKey& public_key() const { return key_->public_key(); }
  ClientStats Stats() const;

 private:
  // Everything below runs on the I/O thread only.
  void IoLoop();
  void Send(Command& cmd);
  absl::StatusOr<PeerSocket*> SocketFor(const Peer& peer);
  void Evict(PeerSocket* s);
  void MarkDirty(PeerSocket* s);
  void Drain(PeerSocket* s);
  void OnReply(PeerSocket* s, const zmq::message_t& msg);
  void Complete(absl::flat_hash_map<Hash256, Pending>::iterator it, absl::StatusOr<Reply> result);
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
  std::atomic<bool> stop_{false};
  std::atomic<size_t> outstanding_{0};

  absl::Mutex in_mu_;
  std::vector<Command> inbox_ ABSL_GUARDED_BY(in_mu_);
  bool closed_ ABSL_GUARDED_BY(in_mu_) = false;

  // I/O thread state.
  absl::flat_hash_map<std::string, std::unique_ptr<PeerSocket>> sockets_;
  std::list<PeerSocket*> lru_;  // front: most recently used
  std::vector<std::unique_ptr<PeerSocket>> graveyard_;
  std::vector<PeerSocket*> dirty_;
  absl::flat_hash_map<Hash256, Pending> pending_;
  DeadlineIndex deadlines_;

  std::atomic<uint64_t> sent_{0};
  std::atomic<uint64_t> completed_{0};
  std::atomic<uint64_t> timed_out_{0};
  std::atomic<uint64_t> unmatched_{0};
  std::atomic<uint64_t> rejected_{0};
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
  io_thread_ = std::thread([this] { IoLoop(); });
  return absl::OkStatus();
}

void Client::Impl::Submit(const Peer& peer, MessageKind kind, absl::string_view body,
                          Deadline deadline, Callback done) {
  if (body.size() > options_.max_envelope_bytes - kEnvelopeOverhead) {
    done(absl::InvalidArgumentError(absl::StrCat("request: ", body.size() + kEnvelopeOverhead,
                                                 " bytes (limit ", options_.max_envelope_bytes,
                                                 ")")));
    return;
  }
  if (outstanding_.fetch_add(1) >= options_.max_outstanding) {
    outstanding_.fetch_sub(1);
    done(absl::ResourceExhaustedError(
        absl::StrCat("client: ", options_.max_outstanding, " requests already in flight")));
    return;
  }
  SealParams params;
  params.receiver = peer.hotkey;
  params.kind = kind;
  params.nonce = nonces_->Next();
  params.timestamp_ms = UnixMillis();
  Command cmd{peer, SealEnvelope(*key_, params, body), {}, deadline, std::move(done)};
  cmd.request_hash = EnvelopeHash(cmd.envelope);
  bool was_empty = false;
  {
    absl::MutexLock lock(&in_mu_);
    if (!closed_) {
      was_empty = inbox_.empty();
      inbox_.push_back(std::move(cmd));
      cmd.done = nullptr;
    }
  }
  if (cmd.done) {  // the client is shutting down
    outstanding_.fetch_sub(1);
    cmd.done(absl::CancelledError("client: shutting down"));
    return;
  }
  if (was_empty) wake_->Notify();
}

ClientStats Client::Impl::Stats() const {
  ClientStats s;
  s.sent = sent_.load(std::memory_order_relaxed);
  s.completed = completed_.load(std::memory_order_relaxed);
  s.timed_out = timed_out_.load(std::memory_order_relaxed);
  s.unmatched = unmatched_.load(std::memory_order_relaxed);
  s.rejected = rejected_.load(std::memory_order_relaxed);
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
    graveyard_.clear();
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
  absl::StatusOr<PeerSocket*> socket = SocketFor(cmd.peer);
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
  p.deadline_it = deadlines_.emplace(cmd.deadline, cmd.request_hash);
  ++s->outstanding;
}

absl::StatusOr<PeerSocket*> Client::Impl::SocketFor(const Peer& peer) {
  const std::string key = CacheKey(peer);
  auto found = sockets_.find(key);
  if (found != sockets_.end()) {
    PeerSocket* s = found->second.get();
    lru_.splice(lru_.begin(), lru_, s->lru);
    return s;
  }
  if (sockets_.size() >= options_.max_peers) {
    PeerSocket* victim = nullptr;
    for (auto it = lru_.rbegin(); it != lru_.rend(); ++it) {
      if ((*it)->outstanding == 0) {
        victim = *it;
        break;
      }
    }
    if (victim == nullptr) {
      return absl::ResourceExhaustedError(
          absl::StrCat("client: all ", options_.max_peers, " peer sockets are busy"));
    }
    Evict(victim);
  }
  auto s = std::make_unique<PeerSocket>();
  s->cache_key = key;
  s->endpoint = peer.endpoint;
  try {
    s->socket.emplace(*ctx_, zmq::socket_type::dealer);
    ConfigureSocket(*s->socket, options_.max_envelope_bytes, options_.hwm);
    if (use_curve_) {
      absl::StatusOr<CurveKey> server_key = Ed25519ToCurvePublic(peer.hotkey);
      if (!server_key.ok()) {
        return absl::InvalidArgumentError(
            absl::StrCat("peer ", peer.endpoint, ": hotkey has no curve key (",
                         server_key.status().message(), ")"));
      }
      s->socket->set(zmq::sockopt::curve_serverkey, zmq::buffer(*server_key));
      s->socket->set(zmq::sockopt::curve_publickey, zmq::buffer(curve_public_));
      s->socket->set(zmq::sockopt::curve_secretkey,
                     zmq::const_buffer(curve_secret_.data(), curve_secret_.size()));
    }
    s->socket->connect(peer.endpoint);
    s->fd = s->socket->get(zmq::sockopt::fd);
  } catch (const zmq::error_t& e) {
    return absl::InvalidArgumentError(absl::StrCat("peer ", peer.endpoint, ": ", e.what()));
  }
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.ptr = s.get();
  if (epoll_ctl(epfd_, EPOLL_CTL_ADD, s->fd, &ev) != 0) {
    return absl::ResourceExhaustedError(absl::StrCat("epoll_ctl: ", std::strerror(errno)));
  }
  lru_.push_front(s.get());
  s->lru = lru_.begin();
  PeerSocket* raw = s.get();
  sockets_.emplace(key, std::move(s));
  peer_count_.store(sockets_.size(), std::memory_order_relaxed);
  return raw;
}

void Client::Impl::Evict(PeerSocket* s) {
  epoll_ctl(epfd_, EPOLL_CTL_DEL, s->fd, nullptr);
  lru_.erase(s->lru);
  s->evicted = true;
  s->socket.reset();  // linger 0
  auto it = sockets_.find(s->cache_key);
  graveyard_.push_back(std::move(it->second));  // freed after this round
  sockets_.erase(it);
  peer_count_.store(sockets_.size(), std::memory_order_relaxed);
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

void Client::Impl::OnReply(PeerSocket* s, const zmq::message_t& msg) {
  const absl::string_view bytes(msg.data<char>(), msg.size());
  absl::StatusOr<EnvelopeHeader> claimed = PeekHeader(bytes);
  auto it = claimed.ok() ? pending_.find(claimed->request_hash) : pending_.end();
  if (it == pending_.end() || it->second.socket != s) {
    unmatched_.fetch_add(1, std::memory_order_relaxed);
    AGORA_LOG(DEBUG, kLog, "dropped a reply from %s that matches no request", s->endpoint);
    return;
  }
  OpenContext ctx;
  ctx.self = key_->public_key();
  ctx.now_ms = UnixMillis();
  ctx.max_skew_ms = options_.max_skew_ms;
  ctx.max_envelope_bytes = options_.max_envelope_bytes;
  absl::StatusOr<OpenedEnvelope> opened = OpenEnvelope(bytes, ctx);
  if (!opened.ok()) {
    rejected_.fetch_add(1, std::memory_order_relaxed);
    Complete(it, absl::UnauthenticatedError(
                     absl::StrCat("reply from ", s->endpoint, ": ", opened.status().message())));
    return;
  }
  if (opened->header.sender != it->second.peer) {
    rejected_.fetch_add(1, std::memory_order_relaxed);
    Complete(it, absl::UnauthenticatedError(absl::StrCat(
                     "reply from ", s->endpoint, ": signed by another key than the one called")));
    return;
  }
  completed_.fetch_add(1, std::memory_order_relaxed);
  if (opened->header.kind == MessageKind::kError) {
    Complete(it, StatusFromErrorReply(opened->body));
    return;
  }
  Complete(it, Reply{opened->header, std::string(bytes)});
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
    Complete(it, absl::DeadlineExceededError(
                     absl::StrCat("no reply from ", it->second.socket->endpoint,
                                  " before the deadline")));
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
  while (!pending_.empty()) Complete(pending_.begin(), absl::CancelledError("client: shutting down"));
  for (auto& [key, s] : sockets_) {
    epoll_ctl(epfd_, EPOLL_CTL_DEL, s->fd, nullptr);
    s->socket.reset();
  }
  sockets_.clear();
  lru_.clear();
  graveyard_.clear();
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

absl::StatusOr<Reply> Client::Call(const Peer& peer, MessageKind kind, absl::string_view body,
                                   Deadline deadline) {
  return CallFuture(peer, kind, body, deadline).get();
}

std::vector<absl::StatusOr<Reply>> Client::FanOut(const std::vector<Peer>& peers,
                                                  MessageKind kind, absl::string_view body,
                                                  Deadline deadline) {
  struct State {
    std::mutex mu;
    std::condition_variable cv;
    size_t remaining = 0;
    std::vector<absl::StatusOr<Reply>> results;
  };
  auto state = std::make_shared<State>();
  state->remaining = peers.size();
  state->results.resize(peers.size());
  for (size_t i = 0; i < peers.size(); ++i) {
    impl_->Submit(peers[i], kind, body, deadline, [state, i](absl::StatusOr<Reply> r) {
      std::lock_guard<std::mutex> lock(state->mu);
      state->results[i] = std::move(r);
      if (--state->remaining == 0) state->cv.notify_all();
    });
  }
  std::unique_lock<std::mutex> lock(state->mu);
  state->cv.wait(lock, [&] { return state->remaining == 0; });
  return std::move(state->results);
}

const PublicKey& Client::public_key() const { return impl_->public_key(); }
ClientStats Client::Stats() const { return impl_->Stats(); }

}  // namespace agora::protocol
