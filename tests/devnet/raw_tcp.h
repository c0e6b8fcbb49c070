// Raw TCP for hostile-input tests: send bytes nobody's client library would
// send (garbage before a ZMTP greeting, broken HTTP) and read what comes
// back, every step bounded in time so a server that hangs fails the test
// instead of hanging it.
#ifndef AGORA_TESTS_DEVNET_RAW_TCP_H_
#define AGORA_TESTS_DEVNET_RAW_TCP_H_

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <string>

namespace agora::testing {

// A connected loopback TCP socket; closed on destruction.
class RawTcp {
 public:
  explicit RawTcp(int port) {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd_ >= 0 && connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      close(fd_);
      fd_ = -1;
    }
  }
  ~RawTcp() {
    if (fd_ >= 0) close(fd_);
  }
  RawTcp(const RawTcp&) = delete;
  RawTcp& operator=(const RawTcp&) = delete;

  bool connected() const { return fd_ >= 0; }
  // Sends all of `bytes` unless the peer closes first; false then.
  bool Send(const std::string& bytes) {
    size_t off = 0;
    while (fd_ >= 0 && off < bytes.size()) {
      const ssize_t n = ::send(fd_, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
      if (n <= 0) return false;
      off += static_cast<size_t>(n);
    }
    return fd_ >= 0;
  }
  void ShutdownWrite() {
    if (fd_ >= 0) shutdown(fd_, SHUT_WR);
  }
  // Whatever arrives until the peer closes, `limit` bytes, or `timeout`.
  std::string ReadAll(std::chrono::milliseconds timeout, size_t limit = 1 << 16) {
    std::string out;
    const auto until = std::chrono::steady_clock::now() + timeout;
    char buf[4096];
    while (fd_ >= 0 && out.size() < limit) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          until - std::chrono::steady_clock::now());
      if (left.count() <= 0) break;
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
      const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) break;
      out.append(buf, static_cast<size_t>(n));
    }
    return out;
  }

 private:
  int fd_ = -1;
};

// The status code of an HTTP/1.x response's first line, or 0 if `response`
// does not start with one (the server closed without answering).
inline int HttpStatusOf(const std::string& response) {
  if (response.rfind("HTTP/1.", 0) != 0 || response.size() < 12) return 0;
  return std::atoi(response.substr(9, 3).c_str());
}

}  // namespace agora::testing

#endif  // AGORA_TESTS_DEVNET_RAW_TCP_H_
