// The connection threads of Agora's HTTP servers (the gateway, the miner's
// metrics): cpp-httplib serves each connection on a thread of its task queue,
// and its default is a fixed pool of max(8, cores - 1) threads. A connection
// holds its thread for as long as its client keeps it busy: a streamed
// completion until the miner finishes, and a hostile client that trickles a
// request head one byte at a time (the read timeout restarts with every
// byte) indefinitely. With a fixed pool of 8, eight such clients starve
// everyone else.
//
// This queue starts a thread per waiting connection, up to max_threads, and
// lets threads that stay idle for idle_exit end, so a quiet server holds few
// threads and a busy one is bounded. It raises the number of slow clients a
// server tolerates from the pool size to max_threads; it does not bound what
// one client may open (that needs a per-client limit in front, e.g. a
// reverse proxy, docs/GATEWAY.md).
//
// Header-only: included only by files that already include <httplib.h>.
#ifndef AGORA_COMMON_HTTP_TASK_QUEUE_H_
#define AGORA_COMMON_HTTP_TASK_QUEUE_H_

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include <httplib.h>

namespace agora {

class ElasticTaskQueue final : public httplib::TaskQueue {
 public:
  explicit ElasticTaskQueue(size_t max_threads,
                            std::chrono::milliseconds idle_exit = std::chrono::seconds(30))
      : max_threads_(max_threads < 1 ? 1 : max_threads), idle_exit_(idle_exit) {}
  ~ElasticTaskQueue() override { shutdown(); }

  // Queues a connection; starts a thread for it unless an idle one will take
  // it or max_threads are busy (then it waits for the first to finish).
  void enqueue(std::function<void()> fn) override {
    std::lock_guard<std::mutex> lock(mu_);
    jobs_.push_back(std::move(fn));
    ReapLocked();
    if (jobs_.size() > idle_ && workers_.size() < max_threads_) {
      const uint64_t id = next_id_++;
      workers_.emplace(id, std::thread([this, id] { Work(id); }));
    }
    cv_.notify_one();
  }

  // Runs what is queued, then joins every thread. Idempotent.
  void shutdown() override {
    std::map<uint64_t, std::thread> workers;
    {
      std::lock_guard<std::mutex> lock(mu_);
      shutdown_ = true;
      cv_.notify_all();
      workers.swap(workers_);
    }
    for (auto& [id, t] : workers) {
      if (t.joinable()) t.join();
    }
  }

  size_t threads() {
    std::lock_guard<std::mutex> lock(mu_);
    ReapLocked();
    return workers_.size();
  }

 private:
  void Work(uint64_t id) {
    std::unique_lock<std::mutex> lock(mu_);
    while (true) {
      ++idle_;
      const bool woken =
          cv_.wait_for(lock, idle_exit_, [this] { return !jobs_.empty() || shutdown_; });
      --idle_;
      if (jobs_.empty()) {
        if (shutdown_ || !woken) break;
        continue;
      }
      std::function<void()> fn = std::move(jobs_.front());
      jobs_.pop_front();
      lock.unlock();
      fn();
      lock.lock();
    }
    finished_.push_back(id);  // joined by the next enqueue (or shutdown)
  }

  // Joins threads that ended for being idle. Requires: mu_ held. They no
  // longer need mu_, so joining here cannot deadlock.
  void ReapLocked() {
    for (uint64_t id : finished_) {
      auto it = workers_.find(id);
      if (it == workers_.end()) continue;
      if (it->second.joinable()) it->second.join();
      workers_.erase(it);
    }
    finished_.clear();
  }

  const size_t max_threads_;
  const std::chrono::milliseconds idle_exit_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> jobs_;
  std::map<uint64_t, std::thread> workers_;
  std::vector<uint64_t> finished_;
  size_t idle_ = 0;
  uint64_t next_id_ = 0;
  bool shutdown_ = false;
};

}  // namespace agora

#endif  // AGORA_COMMON_HTTP_TASK_QUEUE_H_
