#include "protocol/zmq_util.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/log.h"

namespace agora::protocol {

bool CurveAvailable() {
  static const bool available = [] {
    const bool has = zmq_has("curve") != 0;
    if (!has) {
      AGORA_LOG(WARN, "transport",
                "libzmq was built without CURVE: envelopes stay signed but travel unencrypted");
    }
    return has;
  }();
  return available;
}

void ConfigureSocket(zmq::socket_t& socket, size_t max_envelope_bytes, int hwm) {
  socket.set(zmq::sockopt::maxmsgsize, static_cast<int64_t>(max_envelope_bytes));
  socket.set(zmq::sockopt::sndhwm, hwm);
  socket.set(zmq::sockopt::rcvhwm, hwm);
  socket.set(zmq::sockopt::linger, 0);
}

absl::StatusOr<WakeFd> WakeFd::Create() {
  const int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (fd < 0) return absl::InternalError(absl::StrCat("eventfd: ", std::strerror(errno)));
  return WakeFd(fd);
}

WakeFd::WakeFd(WakeFd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}

WakeFd& WakeFd::operator=(WakeFd&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) close(fd_);
    fd_ = std::exchange(other.fd_, -1);
  }
  return *this;
}

WakeFd::~WakeFd() {
  if (fd_ >= 0) close(fd_);
}

void WakeFd::Notify() {
  const uint64_t one = 1;
  // EAGAIN means the counter is saturated, i.e. already readable: nothing lost.
  ssize_t rc;
  do {
    rc = write(fd_, &one, sizeof(one));
  } while (rc < 0 && errno == EINTR);
}

void WakeFd::Drain() {
  uint64_t value = 0;
  ssize_t rc;
  do {
    rc = read(fd_, &value, sizeof(value));
  } while (rc < 0 && errno == EINTR);
}

}  // namespace agora::protocol
