#include "validator/fan_out.h"

#include <condition_variable>
#include <memory>
#include <mutex>

namespace agora::validator {

std::vector<TimedReply> FanOutTimed(protocol::Client& client,
                                    const std::vector<protocol::Peer>& peers,
                                    protocol::MessageKind kind, absl::string_view body,
                                    protocol::Deadline deadline) {
  struct Shared {
    std::mutex mu;
    std::condition_variable cv;
    std::vector<TimedReply> results;
    size_t pending = 0;
  };
  auto shared = std::make_shared<Shared>();
  shared->results.resize(peers.size());
  shared->pending = peers.size();
  for (size_t i = 0; i < peers.size(); ++i) {
    const auto start = std::chrono::steady_clock::now();
    client.CallAsync(peers[i], kind, body, deadline,
                     [shared, i, start](absl::StatusOr<protocol::Reply> r) {
                       const auto took = std::chrono::duration_cast<std::chrono::microseconds>(
                           std::chrono::steady_clock::now() - start);
                       std::lock_guard<std::mutex> lock(shared->mu);
                       shared->results[i].reply = std::move(r);
                       shared->results[i].latency = took;
                       if (--shared->pending == 0) shared->cv.notify_all();
                     });
  }
  std::unique_lock<std::mutex> lock(shared->mu);
  // The client fails every request by its deadline; the slack covers the
  // hand-off from its I/O thread.
  shared->cv.wait_until(lock, deadline + std::chrono::seconds(1),
                        [&] { return shared->pending == 0; });
  return shared->results;
}

}  // namespace agora::validator
