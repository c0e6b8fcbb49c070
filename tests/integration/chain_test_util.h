// Helpers for the chain integration tests (tests/integration/chain_*): the
// real `agora-chain run` as a child process, and a follower of its block
// events. Everything runs on 127.0.0.1 with ports picked by the kernel.
#ifndef AGORA_TESTS_INTEGRATION_CHAIN_TEST_UTIL_H_
#define AGORA_TESTS_INTEGRATION_CHAIN_TEST_UTIL_H_

#include <sys/types.h>

#include <atomic>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "chain/state.h"

namespace agora::chain::testing {

// One `agora-chain run` process on a data directory, with a 100 ms block
// interval and snapshots every 20 blocks. Its stdout and stderr go to
// <data_dir>/node.log. Killed (SIGKILL) on destruction, and by the kernel if
// the test process dies first (PR_SET_PDEATHSIG). Not thread-safe.
class ChainProcess {
 public:
  ChainProcess(std::string binary, std::string genesis_path, std::string data_dir);
  ~ChainProcess();
  ChainProcess(const ChainProcess&) = delete;
  ChainProcess& operator=(const ChainProcess&) = delete;

  // Starts the node and waits up to 20 s for it to write a fresh chain.url.
  // Internal (with the node's log) if it exits first, DeadlineExceeded if it
  // writes no URL in time.
  absl::Status Start();
  // SIGKILL and reap; a no-op if not running.
  void Kill();

  // "<address>@tcp://127.0.0.1:<port>" of the running node.
  const std::string& url() const { return url_; }
  // The node's log so far (all runs on this data directory).
  std::string NodeLog() const;

 private:
  const std::string binary_;
  const std::string genesis_path_;
  const std::string data_dir_;
  pid_t pid_ = -1;
  std::string url_;
};

// Subscribes to a node's block events (BlockEvent on topic "block") on a
// thread of its own and remembers the highest height announced. Thread-safe.
class BlockWatcher {
 public:
  explicit BlockWatcher(const std::string& events_endpoint);
  ~BlockWatcher();  // stops and joins within ~50 ms
  BlockWatcher(const BlockWatcher&) = delete;
  BlockWatcher& operator=(const BlockWatcher&) = delete;

  BlockHeight last() const { return last_.load(); }

 private:
  std::atomic<bool> stop_{false};
  std::atomic<BlockHeight> last_{0};
  std::thread thread_;
};

}  // namespace agora::chain::testing

#endif  // AGORA_TESTS_INTEGRATION_CHAIN_TEST_UTIL_H_
