#include "common/file_util.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/crypto.h"

namespace agora {

absl::Status ErrnoError(int error_number, absl::string_view what, absl::string_view path) {
  return absl::ErrnoToStatus(error_number, absl::StrCat(what, " ", path));
}

namespace {

std::string DirName(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

// Closes `fd` on scope exit unless released.
class FdCloser {
 public:
  explicit FdCloser(int fd) : fd_(fd) {}
  ~FdCloser() {
    if (fd_ >= 0) ::close(fd_);
  }
  FdCloser(const FdCloser&) = delete;
  FdCloser& operator=(const FdCloser&) = delete;
  // Closes now and reports the close(2) error (which can carry a deferred write error).
  int Close() {
    const int rc = ::close(fd_);
    fd_ = -1;
    return rc;
  }

 private:
  int fd_;
};

absl::Status WriteAll(int fd, absl::string_view bytes, const std::string& path) {
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoError(errno, "write", path);
    }
    done += static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

absl::Status FsyncDir(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return ErrnoError(errno, "open directory", dir);
  FdCloser closer(fd);
  if (::fsync(fd) != 0 && errno != EINVAL) return ErrnoError(errno, "fsync directory", dir);
  return absl::OkStatus();
}

// Steps 1 and 2 of WriteFileAtomic: a complete, synced temporary file.
absl::Status WriteTemp(const std::string& tmp, absl::string_view bytes, mode_t mode) {
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
  if (fd < 0) return ErrnoError(errno, "create", tmp);
  FdCloser closer(fd);
  if (::fchmod(fd, mode) != 0) return ErrnoError(errno, "chmod", tmp);
  absl::Status s = WriteAll(fd, bytes, tmp);
  if (!s.ok()) return s;
  if (::fsync(fd) != 0) return ErrnoError(errno, "fsync", tmp);
  if (closer.Close() != 0) return ErrnoError(errno, "close", tmp);
  return absl::OkStatus();
}

}  // namespace

absl::Status WriteFileAtomic(absl::string_view path_view, absl::string_view bytes, mode_t mode,
                             IfExists if_exists) {
  const std::string path(path_view);
  if (path.empty() || path.back() == '/') {
    return absl::InvalidArgumentError(absl::StrCat("write: not a file path: '", path, "'"));
  }
  std::array<uint8_t, 8> suffix{};
  RandomBytes(absl::MakeSpan(suffix));
  const std::string tmp = absl::StrCat(path, ".tmp-", ToHex(suffix));
  absl::Status s = WriteTemp(tmp, bytes, mode);
  if (s.ok()) {
    switch (if_exists) {
      case IfExists::kReplace:
        if (::rename(tmp.c_str(), path.c_str()) != 0) s = ErrnoError(errno, "rename to", path);
        break;
      case IfExists::kFail:
        if (::link(tmp.c_str(), path.c_str()) != 0) s = ErrnoError(errno, "create", path);
        break;
    }
  }
  if (!s.ok() || if_exists == IfExists::kFail) ::unlink(tmp.c_str());
  if (!s.ok()) return s;
  return FsyncDir(DirName(path));
}

absl::StatusOr<std::string> ReadFile(absl::string_view path_view, size_t max_bytes) {
  const std::string path(path_view);
  // O_NONBLOCK: opening a FIFO must not hang; it is refused below as not regular.
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return ErrnoError(errno, "open", path);
  FdCloser closer(fd);
  struct stat st;
  if (::fstat(fd, &st) != 0) return ErrnoError(errno, "stat", path);
  if (!S_ISREG(st.st_mode)) {
    return absl::FailedPreconditionError(absl::StrCat("read ", path, ": not a regular file"));
  }
  auto too_big = [&] {
    return absl::ResourceExhaustedError(
        absl::StrCat("read ", path, ": larger than the limit of ", max_bytes, " bytes"));
  };
  if (static_cast<uint64_t>(st.st_size) > max_bytes) return too_big();
  std::string out;
  out.resize(static_cast<size_t>(st.st_size) + 1);  // +1 detects a file that grew
  size_t done = 0;
  while (true) {
    if (done == out.size()) {
      if (out.size() > max_bytes) return too_big();
      out.resize(std::min(max_bytes + 1, out.size() * 2 + 64));
    }
    const ssize_t n = ::read(fd, out.data() + done, out.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoError(errno, "read", path);
    }
    if (n == 0) break;
    done += static_cast<size_t>(n);
  }
  if (done > max_bytes) return too_big();
  out.resize(done);
  return out;
}

absl::Status MakeDirs(absl::string_view path_view, mode_t mode) {
  const std::string path(path_view);
  if (path.empty()) return absl::InvalidArgumentError("mkdir: empty path");
  size_t pos = 0;
  while (pos != std::string::npos) {
    pos = path.find('/', pos + 1);
    const std::string prefix = path.substr(0, pos);
    if (prefix.empty() || prefix == "/") continue;
    if (::mkdir(prefix.c_str(), mode) == 0) continue;
    if (errno != EEXIST) return ErrnoError(errno, "mkdir", prefix);
    struct stat st;
    if (::stat(prefix.c_str(), &st) != 0) return ErrnoError(errno, "stat", prefix);
    if (!S_ISDIR(st.st_mode)) {
      return absl::FailedPreconditionError(absl::StrCat("mkdir ", prefix, ": not a directory"));
    }
  }
  return absl::OkStatus();
}

bool PathExists(absl::string_view path) {
  struct stat st;
  return ::lstat(std::string(path).c_str(), &st) == 0;
}

}  // namespace agora
