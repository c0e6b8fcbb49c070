#include "validator/holdout.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "common/crypto.h"
#include "common/file_util.h"

namespace agora::validator {
namespace {

constexpr size_t kMaxSourceBytes = size_t{1} << 30;

// SplitMix64: a tiny generator whose stream is the same on every platform,
// so a step's challenges follow from its seed alone (score records carry it).
uint64_t Mix(uint64_t& state) {
  uint64_t z = (state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

}  // namespace

absl::StatusOr<std::unique_ptr<HoldoutSource>> HoldoutSource::Open(
    const std::vector<std::string>& paths) {
  if (paths.empty()) return absl::InvalidArgumentError("holdout: no source configured");
  std::vector<std::string> files;
  for (const std::string& p : paths) {
    std::error_code ec;
    if (std::filesystem::is_directory(p, ec)) {
      std::vector<std::string> in_dir;
      for (const auto& e : std::filesystem::directory_iterator(p, ec)) {
        if (e.is_regular_file()) in_dir.push_back(e.path().string());
      }
      if (ec) return absl::NotFoundError(absl::StrCat("holdout: ", p, ": ", ec.message()));
      std::sort(in_dir.begin(), in_dir.end());
      files.insert(files.end(), in_dir.begin(), in_dir.end());
    } else {
      files.push_back(p);
    }
  }
  std::string text, names;
  for (const std::string& f : files) {
    absl::StatusOr<std::string> t = ReadFile(f, kMaxSourceBytes);
    if (!t.ok()) return absl::Status(t.status().code(), absl::StrCat("holdout: ", t.status().message()));
    absl::StrAppend(&names, f, ":", t->size(), ";");
    text += *t;
  }
  if (text.size() < 2) return absl::InvalidArgumentError("holdout: sources hold fewer than 2 bytes");
  // The fingerprint hashes contents too: a replaced file of the same size
  // must not inherit the old cursor.
  const std::string fp = ToHex(Blake2b256(absl::StrCat(names, "|", ToHex(Blake2b256(text)))));
  return std::unique_ptr<HoldoutSource>(new HoldoutSource(std::move(text), fp));
}

absl::StatusOr<std::unique_ptr<HoldoutSource>> HoldoutSource::OpenCommand(
    const std::string& command, std::chrono::milliseconds first_wait,
    std::chrono::milliseconds wait) {
  if (command.empty()) return absl::InvalidArgumentError("holdout command: empty");
  std::unique_ptr<HoldoutSource> source(new HoldoutSource("", absl::StrCat("command:", command)));
  source->command_ = command;
  source->first_wait_ = first_wait;
  source->wait_ = wait;
  absl::Status s = source->Start();
  if (!s.ok()) return s;
  return source;
}

HoldoutSource::~HoldoutSource() { Stop(); }

absl::Status HoldoutSource::Start() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    return absl::InternalError(absl::StrCat("holdout command: pipe: ", std::strerror(errno)));
  }
  // A small pipe: the command runs at most a few KB ahead of what is asked.
  (void)::fcntl(fds[0], F_SETPIPE_SZ, 4096);
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) {
    ::close(fds[0]);
    ::close(fds[1]);
    return absl::InternalError(absl::StrCat("holdout command: fork: ", std::strerror(errno)));
  }
  if (pid == 0) {  // only async-signal-safe calls until exec
    ::setpgid(0, 0);  // its own group: Stop() ends whatever the shell started
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (::getppid() != parent) ::_exit(127);
    ::dup2(fds[1], 1);
    ::execl("/bin/sh", "sh", "-c", command_.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ::close(fds[1]);
  pid_ = pid;
  fd_ = fds[0];
  got_bytes_ = false;
  started_ = std::chrono::steady_clock::now();
  return absl::OkStatus();
}

void HoldoutSource::Stop() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  if (pid_ > 0) {
    ::kill(-pid_, SIGTERM);
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
  }
  pid_ = -1;
}

void HoldoutSource::ReadUpTo(uint64_t end) {
  using Clock = std::chrono::steady_clock;
  if (fd_ < 0) {  // ended earlier: start again, at most once a minute
    if (Clock::now() - started_ < std::chrono::minutes(1)) return;
    absl::Status s = Start();
    if (!s.ok()) {
      problem_ = std::string(s.message());
      return;
    }
  }
  const Clock::time_point deadline = Clock::now() + (got_bytes_ ? wait_ : first_wait_);
  char buf[4096];
  while (size() < end) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) {
      problem_ = absl::StrCat("holdout command gave no text for ",
                              (got_bytes_ ? wait_ : first_wait_).count(), " ms; restarting it");
      Stop();
      return;
    }
    pollfd p{fd_, POLLIN, 0};
    const int r = ::poll(&p, 1, static_cast<int>(left.count()));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) continue;  // the deadline check above decides
    const ssize_t n = ::read(fd_, buf, std::min<uint64_t>(sizeof(buf), end - size()));
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n <= 0) {
      int status = 0;
      const pid_t pid = pid_;
      ::close(fd_);
      fd_ = -1;
      while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
      }
      pid_ = -1;
      problem_ = absl::StrCat("holdout command ended (",
                              WIFEXITED(status) ? absl::StrCat("exit status ", WEXITSTATUS(status))
                                                : absl::StrCat("signal ", WTERMSIG(status)),
                              "); restarting it within a minute");
      return;
    }
    text_.append(buf, static_cast<size_t>(n));
    got_bytes_ = true;
    problem_.clear();
  }
}

std::vector<Challenge> HoldoutSource::Cut(uint64_t cursor, size_t count, uint32_t min_len,
                                          uint32_t max_len, uint64_t seed, uint64_t* next) {
  std::vector<Challenge> out;
  uint64_t rng = seed;
  min_len = std::max<uint32_t>(min_len, 1);
  max_len = std::max(max_len, min_len);
  if (endless()) {
    // Forget what is consumed; a cursor from before this stream's start
    // (never saved across starts) begins at what is held.
    if (cursor > base_) {
      const uint64_t drop = std::min<uint64_t>(cursor - base_, text_.size());
      text_.erase(0, drop);
      base_ += drop;
    }
    cursor = std::max(cursor, base_);
    ReadUpTo(cursor + uint64_t{count} * (max_len + 1));
  }
  uint64_t at = cursor;
  for (size_t i = 0; i < count; ++i) {
    const uint32_t len = min_len + static_cast<uint32_t>(Mix(rng) % (max_len - min_len + 1));
    if (at + len + 1 > size() || at < base_) break;
    Challenge c;
    c.offset = at;
    c.prefix.reserve(len);
    for (uint32_t k = 0; k < len; ++k) c.prefix.push_back(static_cast<uint8_t>(text_[at - base_ + k]));
    c.target = static_cast<uint8_t>(text_[at - base_ + len]);
    out.push_back(std::move(c));
    at += len + 1;
  }
  *next = at;
  return out;
}

double StepsLeft(uint64_t size, uint64_t cursor, size_t challenges_per_step, uint32_t min_len,
                 uint32_t max_len) {
  const double per_step = challenges_per_step * ((double(min_len) + double(max_len)) / 2.0 + 1.0);
  if (per_step <= 0 || cursor >= size) return 0;
  return double(size - cursor) / per_step;
}

}  // namespace agora::validator
