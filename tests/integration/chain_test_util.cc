#include "tests/integration/chain_test_util.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>

#include <zmq.hpp>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "chain/messages.h"
#include "common/file_util.h"
#include "protocol/codec.h"

namespace agora::chain::testing {

ChainProcess::ChainProcess(std::string binary, std::string genesis_path, std::string data_dir)
    : binary_(std::move(binary)),
      genesis_path_(std::move(genesis_path)),
      data_dir_(std::move(data_dir)) {}

ChainProcess::~ChainProcess() { Kill(); }

absl::Status ChainProcess::Start() {
  Kill();
  std::error_code ec;
  std::filesystem::create_directories(data_dir_, ec);
  std::filesystem::remove(data_dir_ + "/chain.url", ec);
  const std::string log = data_dir_ + "/node.log";
  const std::string genesis_flag = "--genesis=" + genesis_path_;
  const std::string dir_flag = "--data-dir=" + data_dir_;
  const char* argv[] = {binary_.c_str(),
                        "run",
                        genesis_flag.c_str(),
                        dir_flag.c_str(),
                        "--endpoint=tcp://127.0.0.1:*",
                        "--events-endpoint=tcp://127.0.0.1:*",
                        "--block-interval-ms=100",
                        "--snapshot-every=20",
                        "--workers=16",
                        nullptr};
  const pid_t parent = getpid();
  pid_ = fork();
  if (pid_ < 0) return absl::InternalError("fork failed");
  if (pid_ == 0) {
    // The child: die with the test, log to a file, become the node.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(1);
    const int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
    }
    execv(argv[0], const_cast<char* const*>(argv));
    _exit(127);
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return absl::InternalError(
          absl::StrCat("agora-chain exited (status ", status, ") before serving; log:\n", NodeLog()));
    }
    absl::StatusOr<std::string> url = ReadFile(data_dir_ + "/chain.url", 4096);
    if (url.ok() && absl::EndsWith(*url, "\n")) {  // written atomically, newline last
      url_ = std::string(absl::StripSuffix(*url, "\n"));
      return absl::OkStatus();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));  // polling for the file
  }
  return absl::DeadlineExceededError("agora-chain wrote no chain.url in 20 s; log:\n" + NodeLog());
}

void ChainProcess::Kill() {
  if (pid_ <= 0) return;
  kill(pid_, SIGKILL);
  int status = 0;
  waitpid(pid_, &status, 0);
  pid_ = -1;
}

std::string ChainProcess::NodeLog() const {
  absl::StatusOr<std::string> log = ReadFile(data_dir_ + "/node.log", 1 << 20);
  return log.ok() ? *log : "(no log)";
}

BlockWatcher::BlockWatcher(const std::string& events_endpoint) {
  thread_ = std::thread([this, events_endpoint] {
    zmq::context_t ctx(1);
    zmq::socket_t sub(ctx, zmq::socket_type::sub);
    sub.set(zmq::sockopt::linger, 0);
    sub.set(zmq::sockopt::rcvtimeo, 50);
    sub.set(zmq::sockopt::subscribe, "block");
    sub.connect(events_endpoint);
    while (!stop_.load()) {
      zmq::message_t topic, body;
      if (!sub.recv(topic, zmq::recv_flags::none)) continue;
      if (!sub.recv(body, zmq::recv_flags::none)) continue;
      absl::StatusOr<BlockEvent> ev = protocol::Decode<BlockEvent>(
          absl::string_view(static_cast<const char*>(body.data()), body.size()), "BlockEvent");
      if (!ev.ok()) continue;
      BlockHeight prev = last_.load();
      while (ev->height > prev && !last_.compare_exchange_weak(prev, ev->height)) {
      }
    }
  });
}

BlockWatcher::~BlockWatcher() {
  stop_ = true;
  thread_.join();
}

}  // namespace agora::chain::testing
