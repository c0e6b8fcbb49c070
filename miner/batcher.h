// Dynamic batching: concurrent requests' rows are merged into one forward
// pass of the model per step. Torch-free: it sees the model only through
// ModelBackend (miner/model.h), which pads the merged rows and reads each
// row's logits at its own last token.
//
// Policy: the queue holds rows, highest priority (the sender's stake) first
// and in arrival order within a priority. The worker starts a step when
// max_batch rows are waiting, or a generation's row is waiting (generations
// under way are always queued, so waiting would only stall them), or the
// oldest row has waited max_wait; takes up to max_batch rows, drops rows
// whose request is past its deadline (the request fails with
// DeadlineExceeded, and no forward is spent on it) and runs one forward. A
// request with more rows than max_batch spans several steps. The queue is
// bounded (max_queue_rows): when full, a new request is refused as
// "overloaded" unless it outranks the lowest queued one, which is then
// evicted (and refused) instead.
//
// Generations (Generate) are run by the worker itself: after each step it
// hands the row's logits to the generation's NextToken, which appends the
// chosen token, and queues the longer row again for the next step. So a
// token costs no thread hand-off, generations join and leave the batch at any
// step (continuous batching), and the model, told the row's sequence
// (ModelBackend::DecodeStep), computes only the new token.
//
// Thread-safety: Submit/Run/Generate/Stats may be called from any thread; the
// model and every NextToken are only ever called from the one worker thread.
// Stop() (or the destructor) finishes queued work (generations included)
// first. The model must outlive the batcher.
#ifndef AGORA_MINER_BATCHER_H_
#define AGORA_MINER_BATCHER_H_

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <future>
#include <memory>
#include <set>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/types/span.h"
#include "miner/model.h"

namespace agora::miner {

using Clock = std::chrono::steady_clock;

struct BatcherOptions {
  size_t max_batch = 16;                      // rows per forward pass
  std::chrono::microseconds max_wait{2000};   // longest a row waits for company (no
                                              // generation queued: see BatchReady)
  size_t max_queue_rows = 4096;               // queued rows before "overloaded"
};

// Powers of two up to 1024: bucket i counts batches of size <= 2^i.
inline constexpr size_t kBatchSizeBuckets = 11;

struct BatcherStats {
  uint64_t batches = 0;           // forward passes
  uint64_t rows = 0;              // rows computed
  uint64_t tokens = 0;            // context tokens of computed rows (padding removed; cached ones count)
  uint64_t expired = 0;           // rows dropped past their deadline
  uint64_t evicted = 0;           // rows evicted by higher-priority work
  uint64_t failed = 0;            // rows whose forward failed
  uint64_t queue_rows = 0;        // rows waiting now
  double forward_seconds = 0;     // time spent in the model
  std::array<uint64_t, kBatchSizeBuckets> batch_size_le{};  // cumulative histogram
};

class Batcher {
 public:
  // Starts the worker thread. Requires: model outlives the batcher.
  Batcher(ModelBackend* model, BatcherOptions options);
  ~Batcher();
  Batcher(const Batcher&) = delete;
  Batcher& operator=(const Batcher&) = delete;

  // Queues `rows` (each non-empty) and returns their logits, in order, once
  // computed. Errors: DeadlineExceeded (deadline passed before its turn),
  // a kOverloaded refusal (queue full), Unavailable (stopped), InvalidArgument
  // (empty request or row) and the model's own errors.
  std::future<absl::StatusOr<Logits>> Submit(std::vector<std::vector<uint32_t>> rows,
                                             uint64_t priority, Clock::time_point deadline);
  // Submit and wait.
  absl::StatusOr<Logits> Run(std::vector<std::vector<uint32_t>> rows, uint64_t priority,
                             Clock::time_point deadline);

  // Picks a generation's next token from the logits after `row`, on the
  // worker thread, between forward passes (so it must be quick and must not
  // call the batcher): appends it to `row` and returns true to go on, or
  // returns false when the generation is complete.
  using NextToken = std::function<bool(absl::Span<const float> logits, std::vector<uint32_t>& row)>;
  // Runs a generation from `prompt` (non-empty) until `next` returns false;
  // the future is OK then, or holds what stopped it (the errors of Submit;
  // the deadline is checked before every step). `on_end` (optional) is
  // called once when the generation ends, either way, on whichever thread
  // ends it, just before the future becomes ready: after the last `next`, so
  // a caller woken by it has seen every token. `next`, `on_end` and what they
  // refer to must stay alive until the future is ready.
  std::future<absl::Status> Generate(std::vector<uint32_t> prompt, uint64_t priority,
                                     Clock::time_point deadline, NextToken next,
                                     std::function<void()> on_end = nullptr);

  // Finishes queued rows, then stops the worker. Idempotent.
  void Stop();

  BatcherStats Stats() const;
  const BatcherOptions& options() const { return options_; }

 private:
  struct Job;
  struct Item {
    uint64_t priority;
    uint64_t seq;
    std::shared_ptr<Job> job;
    size_t index;  // row within the job
    Clock::time_point enqueued;
    bool operator<(const Item& o) const {
      return priority != o.priority ? priority > o.priority : seq < o.seq;
    }
  };

  void Loop();
  void RunStep(std::vector<Item> items);
  // Fails a job on the worker, ending its sequence in the model first.
  void Abandon(Job& job, absl::Status status);
  // Queues a job's rows (or refuses or evicts, see above).
  void Enqueue(const std::shared_ptr<Job>& job, uint64_t priority);
  // Whether the worker should start a step now rather than wait for company.
  bool BatchReady() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Dequeued(const Item& item) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  ModelBackend* const model_;
  const BatcherOptions options_;
  mutable absl::Mutex mu_;
  std::set<Item> queue_ ABSL_GUARDED_BY(mu_);
  uint64_t next_seq_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t next_sequence_ ABSL_GUARDED_BY(mu_) = 1;      // generations' ids for the model
  size_t queued_generations_ ABSL_GUARDED_BY(mu_) = 0;   // generation rows in queue_
  std::vector<uint64_t> ended_ ABSL_GUARDED_BY(mu_);     // evicted generations, to end
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  BatcherStats stats_ ABSL_GUARDED_BY(mu_);
  std::thread worker_;
};

}  // namespace agora::miner

#endif  // AGORA_MINER_BATCHER_H_
