// A child process for integration tests: argv run with its stdout and
// stderr appended to a log file, SIGKILLed on destruction and by the kernel
// if the test dies first (PR_SET_PDEATHSIG). Not thread-safe.
#ifndef AGORA_TESTS_COMMON_CHILD_PROCESS_H_
#define AGORA_TESTS_COMMON_CHILD_PROCESS_H_

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "common/file_util.h"

namespace agora::testing {

// A child process with its output in `log`; SIGKILLed on destruction.
class Process {
 public:
  Process(std::vector<std::string> argv, std::string log)
      : argv_(std::move(argv)), log_(std::move(log)) {}
  ~Process() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      int st = 0;
      waitpid(pid_, &st, 0);
    }
  }
  void Start() {
    const pid_t parent = getpid();
    pid_ = fork();
    if (pid_ == 0) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (getppid() != parent) _exit(1);
      const int fd = open(log_.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      if (fd >= 0) {
        dup2(fd, 1);
        dup2(fd, 2);
      }
      std::vector<char*> args;
      for (std::string& a : argv_) args.push_back(a.data());
      args.push_back(nullptr);
      execv(args[0], args.data());
      _exit(127);
    }
  }
  // The exit status if the process ended within `timeout`.
  std::optional<int> Wait(std::chrono::milliseconds timeout) {
    const auto until = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < until) {
      int st = 0;
      if (waitpid(pid_, &st, WNOHANG) == pid_) {
        pid_ = -1;
        return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));  // polling a child
    }
    return std::nullopt;
  }
  bool Running() {
    int st = 0;
    return pid_ > 0 && waitpid(pid_, &st, WNOHANG) == 0;
  }
  void Signal(int sig) { kill(pid_, sig); }
  // SIGKILL and reap (kill -9); a no-op if not running.
  void Kill() {
    if (pid_ <= 0) return;
    kill(pid_, SIGKILL);
    int st = 0;
    waitpid(pid_, &st, 0);
    pid_ = -1;
  }
  std::string LogText() const {
    absl::StatusOr<std::string> t = ReadFile(log_, 1 << 20);
    return t.ok() ? *t : "";
  }

 private:
  std::vector<std::string> argv_;
  std::string log_;
  pid_t pid_ = -1;
};

// Waits for `path` to hold a complete (newline-terminated) text.
inline absl::StatusOr<std::string> WaitForFile(const std::string& path, Process& p,
                                        std::chrono::seconds timeout) {
  const auto until = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < until) {
    absl::StatusOr<std::string> t = ReadFile(path, 4096);
    if (t.ok() && absl::EndsWith(*t, "\n")) return *t;
    if (!p.Running()) return absl::InternalError("process exited; log:\n" + p.LogText());
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // polling for the file
  }
  return absl::DeadlineExceededError(path + " not written; log:\n" + p.LogText());
}

}  // namespace agora::testing

#endif  // AGORA_TESTS_COMMON_CHILD_PROCESS_H_
