// The client's sockets: one DEALER per peer (endpoint + hotkey), connected on
// first use, kept in a cache bounded by max_peers. When the cache is full the
// least recently used socket with no request in flight is closed; if every
// socket is busy, Get() fails. Each socket's ZMQ_FD is registered with the
// owner's epoll instance, with the PeerSocket* as its event data.
//
// Thread-safety: none; only the client's I/O thread uses it (ZeroMQ sockets
// are not thread-safe).
#ifndef AGORA_PROTOCOL_PEER_SOCKET_CACHE_H_
#define AGORA_PROTOCOL_PEER_SOCKET_CACHE_H_

#include <cstddef>
#include <list>
#include <memory>
#include <optional>
#include <string>
#include <vector>
#include <zmq.hpp>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "common/crypto.h"

namespace agora::protocol {

struct PeerSocket {
  std::string endpoint;
  std::optional<zmq::socket_t> socket;
  int fd = -1;             // ZMQ_FD, registered with epoll
  size_t outstanding = 0;  // requests in flight on it (kept by the client)
  bool dirty = false;      // the client's "drain this round" mark
  bool evicted = false;    // closed; the object lives until ReleaseEvicted()

 private:
  friend class PeerSocketCache;
  std::string cache_key_;
  std::list<PeerSocket*>::iterator lru_;
};

struct PeerSocketOptions {
  size_t max_peers = 1024;
  size_t max_envelope_bytes = 0;  // maxmsgsize
  int hwm = 1000;
  // CURVE client keys (ours); null: no CURVE. Must outlive the cache.
  const CurveKey* curve_public = nullptr;
  const SecretBytes* curve_secret = nullptr;
};

class PeerSocketCache {
 public:
  // `context` and the epoll instance `epfd` must outlive the cache.
  PeerSocketCache(zmq::context_t& context, int epfd, PeerSocketOptions options);
  ~PeerSocketCache();  // closes every socket
  PeerSocketCache(const PeerSocketCache&) = delete;
  PeerSocketCache& operator=(const PeerSocketCache&) = delete;

  // The socket for the peer, created and connected if needed. InvalidArgument
  // for a bad endpoint or (with CURVE) a hotkey that is not a curve point;
  // ResourceExhausted when all max_peers sockets have requests in flight.
  // An evicted socket is marked `evicted` and stays allocated until
  // ReleaseEvicted(), so pointers to it collected this round stay valid.
  absl::StatusOr<PeerSocket*> Get(const std::string& endpoint, const PublicKey& hotkey);

  // Frees the sockets evicted since the last call.
  void ReleaseEvicted() { evicted_.clear(); }
  size_t size() const { return sockets_.size(); }

 private:
  void Evict(PeerSocket* s);
  void Close(PeerSocket* s);

  zmq::context_t& context_;
  const int epfd_;
  const PeerSocketOptions options_;
  absl::flat_hash_map<std::string, std::unique_ptr<PeerSocket>> sockets_;
  std::list<PeerSocket*> lru_;  // front: most recently used
  std::vector<std::unique_ptr<PeerSocket>> evicted_;
};

}  // namespace agora::protocol

#endif  // AGORA_PROTOCOL_PEER_SOCKET_CACHE_H_
