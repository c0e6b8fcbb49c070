// Small pieces shared by the ZeroMQ server (protocol/zmq_server.h) and client
// (protocol/zmq_client.h): socket options, the CURVE capability check and a
// wake-up file descriptor that a poll loop can wait on next to its sockets.
//
// Thread-safety: CurveAvailable() and ConfigureSocket() are safe from any
// thread (for a socket the calling thread owns). WakeFd::Notify() may be
// called from any thread; Drain() only by the thread that polls the fd.
#ifndef AGORA_PROTOCOL_ZMQ_UTIL_H_
#define AGORA_PROTOCOL_ZMQ_UTIL_H_

#include <cstddef>
#include <zmq.hpp>

#include "absl/status/statusor.h"

namespace agora::protocol {

// True if this libzmq was built with CURVE (libsodium or tweetnacl). When it
// was not, the first call logs one warning: traffic then stays signed but is
// not encrypted.
bool CurveAvailable();

// Options every Agora socket gets: maxmsgsize = `max_envelope_bytes` (larger
// frames are dropped inside libzmq, which also closes that connection, before
// any allocation), send and receive high-water marks = `hwm` messages, and
// linger 0 (closing never waits for a peer).
void ConfigureSocket(zmq::socket_t& socket, size_t max_envelope_bytes, int hwm);

// An eventfd used as a doorbell: Notify() makes fd() readable until the
// polling thread calls Drain(). Notifications coalesce.
class WakeFd {
 public:
  // Internal if the kernel refuses an eventfd (out of descriptors).
  static absl::StatusOr<WakeFd> Create();
  WakeFd(WakeFd&& other) noexcept;
  WakeFd& operator=(WakeFd&& other) noexcept;
  WakeFd(const WakeFd&) = delete;
  WakeFd& operator=(const WakeFd&) = delete;
  ~WakeFd();

  void Notify();
  void Drain();
  int fd() const { return fd_; }

 private:
  explicit WakeFd(int fd) : fd_(fd) {}
  int fd_ = -1;
};

}  // namespace agora::protocol

#endif  // AGORA_PROTOCOL_ZMQ_UTIL_H_
