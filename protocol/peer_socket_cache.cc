#include "protocol/peer_socket_cache.h"

#include <sys/epoll.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "protocol/zmq_util.h"

namespace agora::protocol {

PeerSocketCache::PeerSocketCache(zmq::context_t& context, int epfd, PeerSocketOptions options)
    : context_(context), epfd_(epfd), options_(options) {}

PeerSocketCache::~PeerSocketCache() {
  for (auto& [key, s] : sockets_) Close(s.get());
}

void PeerSocketCache::Close(PeerSocket* s) {
  // Unregister before closing: libzmq closes the fd later, on its reaper
  // thread, and epoll must not report a socket that is gone.
  epoll_ctl(epfd_, EPOLL_CTL_DEL, s->fd, nullptr);
  s->socket.reset();  // linger 0
}

absl::StatusOr<PeerSocket*> PeerSocketCache::Get(const std::string& endpoint,
                                                 const PublicKey& hotkey) {
  std::string key = absl::StrCat(endpoint, "|", AsStringView(hotkey));
  auto found = sockets_.find(key);
  if (found != sockets_.end()) {
    PeerSocket* s = found->second.get();
    lru_.splice(lru_.begin(), lru_, s->lru_);
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
  s->endpoint = endpoint;
  try {
    s->socket.emplace(context_, zmq::socket_type::dealer);
    ConfigureSocket(*s->socket, options_.max_envelope_bytes, options_.hwm);
    if (options_.curve_public != nullptr && options_.curve_secret != nullptr) {
      absl::StatusOr<CurveKey> server_key = Ed25519ToCurvePublic(hotkey);
      if (!server_key.ok()) {
        return absl::InvalidArgumentError(absl::StrCat(
            "peer ", endpoint, ": hotkey has no curve key (", server_key.status().message(), ")"));
      }
      s->socket->set(zmq::sockopt::curve_serverkey, zmq::buffer(*server_key));
      s->socket->set(zmq::sockopt::curve_publickey, zmq::buffer(*options_.curve_public));
      s->socket->set(
          zmq::sockopt::curve_secretkey,
          zmq::const_buffer(options_.curve_secret->data(), options_.curve_secret->size()));
    }
    s->socket->connect(endpoint);
    s->fd = s->socket->get(zmq::sockopt::fd);
  } catch (const zmq::error_t& e) {
    return absl::InvalidArgumentError(absl::StrCat("peer ", endpoint, ": ", e.what()));
  }
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.ptr = s.get();
  if (epoll_ctl(epfd_, EPOLL_CTL_ADD, s->fd, &ev) != 0) {
    return absl::ResourceExhaustedError(absl::StrCat("epoll_ctl: ", std::strerror(errno)));
  }
  lru_.push_front(s.get());
  s->lru_ = lru_.begin();
  s->cache_key_ = key;
  PeerSocket* raw = s.get();
  sockets_.emplace(std::move(key), std::move(s));
  return raw;
}

void PeerSocketCache::Evict(PeerSocket* s) {
  Close(s);
  lru_.erase(s->lru_);
  s->evicted = true;
  auto it = sockets_.find(s->cache_key_);
  evicted_.push_back(std::move(it->second));
  sockets_.erase(it);
}

}  // namespace agora::protocol
