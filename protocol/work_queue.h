// A bounded multi-producer, multi-consumer FIFO for the server's requests.
//
// Bounded twice: by item count and by total bytes (the caller states each
// item's size), so a flood of large frames cannot exhaust memory. A push that
// would pass either bound fails at once instead of waiting: the caller (the
// server's I/O thread) must never block, and refuses the request instead. One
// item is always accepted into an empty queue, whatever its size.
//
// Thread-safety: every method may be called from any thread.
#ifndef AGORA_PROTOCOL_WORK_QUEUE_H_
#define AGORA_PROTOCOL_WORK_QUEUE_H_

#include <cstddef>
#include <deque>
#include <optional>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace agora::protocol {

template <class T>
class WorkQueue {
 public:
  WorkQueue(size_t max_items, size_t max_bytes) : max_items_(max_items), max_bytes_(max_bytes) {}
  WorkQueue(const WorkQueue&) = delete;
  WorkQueue& operator=(const WorkQueue&) = delete;

  // Appends `item` and returns true, or returns false (leaving `item`
  // untouched) when the queue is closed or the item would pass a bound.
  bool TryPush(T& item, size_t bytes) {
    {
      absl::MutexLock lock(&mu_);
      if (closed_) return false;
      if (!items_.empty() &&
          (items_.size() >= max_items_ || bytes > max_bytes_ || bytes_ > max_bytes_ - bytes)) {
        return false;
      }
      items_.emplace_back(std::move(item), bytes);
      bytes_ += bytes;
    }
    cv_.Signal();
    return true;
  }

  // Blocks until an item is available and returns it; returns nullopt once
  // the queue is closed and empty (queued items are still handed out after
  // Close(), which is how the server drains).
  std::optional<T> Pop() {
    absl::MutexLock lock(&mu_);
    while (items_.empty() && !closed_) cv_.Wait(&mu_);
    if (items_.empty()) return std::nullopt;
    std::optional<T> out(std::move(items_.front().first));
    bytes_ -= items_.front().second;
    items_.pop_front();
    return out;
  }

  // Refuses further pushes and wakes every waiting Pop().
  void Close() {
    {
      absl::MutexLock lock(&mu_);
      closed_ = true;
    }
    cv_.SignalAll();
  }

  size_t size() const {
    absl::MutexLock lock(&mu_);
    return items_.size();
  }

 private:
  const size_t max_items_;
  const size_t max_bytes_;
  mutable absl::Mutex mu_;
  absl::CondVar cv_;
  std::deque<std::pair<T, size_t>> items_ ABSL_GUARDED_BY(mu_);
  size_t bytes_ ABSL_GUARDED_BY(mu_) = 0;
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace agora::protocol

#endif  // AGORA_PROTOCOL_WORK_QUEUE_H_
