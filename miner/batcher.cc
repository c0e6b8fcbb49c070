#include "miner/batcher.h"

#include <algorithm>
#include <mutex>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "protocol/refusal.h"

namespace agora::miner {

struct Batcher::Job {
  std::vector<std::vector<uint32_t>> rows;
  Clock::time_point deadline;
  std::promise<absl::StatusOr<Logits>> promise;
  std::mutex mu;
  Logits out;              // filled row by row
  size_t remaining = 0;    // rows not yet filled
  bool done = false;       // promise set

  void Fail(absl::Status status) {
    std::lock_guard<std::mutex> lock(mu);
    if (done) return;
    done = true;
    promise.set_value(std::move(status));
  }
  bool Done() {
    std::lock_guard<std::mutex> lock(mu);
    return done;
  }
  void Fill(size_t index, absl::Span<const float> logits) {
    std::lock_guard<std::mutex> lock(mu);
    if (done) return;
    if (out.vocab == 0) {
      out.rows = rows.size();
      out.vocab = logits.size();
      out.data.assign(out.rows * out.vocab, 0.0f);
    }
    std::copy(logits.begin(), logits.end(), out.data.begin() + index * out.vocab);
    if (--remaining == 0) {
      done = true;
      promise.set_value(std::move(out));
    }
  }
};

Batcher::Batcher(ModelBackend* model, BatcherOptions options)
    : model_(model), options_(options) {
  worker_ = std::thread([this] { Loop(); });
}

Batcher::~Batcher() { Stop(); }

void Batcher::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (worker_.joinable()) worker_.join();
}

std::future<absl::StatusOr<Logits>> Batcher::Submit(std::vector<std::vector<uint32_t>> rows,
                                                    uint64_t priority,
                                                    Clock::time_point deadline) {
  auto job = std::make_shared<Job>();
  std::future<absl::StatusOr<Logits>> result = job->promise.get_future();
  if (rows.empty()) {
    job->Fail(absl::InvalidArgumentError("batch: no rows"));
    return result;
  }
  for (size_t i = 0; i < rows.size(); ++i) {
    if (rows[i].empty()) {
      job->Fail(absl::InvalidArgumentError(absl::StrCat("rows[", i, "]: empty")));
      return result;
    }
  }
  job->rows = std::move(rows);
  job->deadline = deadline;
  job->remaining = job->rows.size();
  std::vector<std::shared_ptr<Job>> evicted;
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) {
      job->Fail(absl::UnavailableError("miner is shutting down"));
      return result;
    }
    const size_t n = job->rows.size();
    // Make room by evicting strictly lower-priority rows, lowest first.
    while (queue_.size() + n > options_.max_queue_rows && !queue_.empty() &&
           std::prev(queue_.end())->priority < priority) {
      auto last = std::prev(queue_.end());
      evicted.push_back(last->job);
      queue_.erase(last);
      ++stats_.evicted;
    }
    if (queue_.size() + n > options_.max_queue_rows) {
      job->Fail(protocol::Refuse(protocol::Reason::kOverloaded,
                                 absl::StrCat("model queue full (", queue_.size(), " rows)")));
    } else {
      for (size_t i = 0; i < n; ++i) queue_.insert(Item{priority, next_seq_++, job, i, Clock::now()});
    }
  }
  for (auto& e : evicted) {
    e->Fail(protocol::Refuse(protocol::Reason::kOverloaded, "evicted by higher-stake work"));
  }
  return result;
}

absl::StatusOr<Logits> Batcher::Run(std::vector<std::vector<uint32_t>> rows, uint64_t priority,
                                    Clock::time_point deadline) {
  return Submit(std::move(rows), priority, deadline).get();
}

BatcherStats Batcher::Stats() const {
  absl::MutexLock lock(&mu_);
  BatcherStats s = stats_;
  s.queue_rows = queue_.size();
  return s;
}

void Batcher::Loop() {
  for (;;) {
    std::vector<Item> items;
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(
          +[](Batcher* b) ABSL_EXCLUSIVE_LOCKS_REQUIRED(b->mu_) {
            return b->stopping_ || !b->queue_.empty();
          },
          this));
      if (queue_.empty()) return;  // stopping and drained
      Clock::time_point oldest = Clock::time_point::max();
      for (const Item& it : queue_) oldest = std::min(oldest, it.enqueued);
      const Clock::duration left = oldest + options_.max_wait - Clock::now();
      if (left > Clock::duration::zero() && queue_.size() < options_.max_batch && !stopping_) {
        mu_.AwaitWithTimeout(
            absl::Condition(
                +[](Batcher* b) ABSL_EXCLUSIVE_LOCKS_REQUIRED(b->mu_) {
                  return b->stopping_ || b->queue_.size() >= b->options_.max_batch;
                },
                this),
            absl::FromChrono(left));
      }
      while (!queue_.empty() && items.size() < options_.max_batch) {
        items.push_back(*queue_.begin());
        queue_.erase(queue_.begin());
      }
    }
    RunStep(std::move(items));
  }
}

void Batcher::RunStep(std::vector<Item> items) {
  const Clock::time_point now = Clock::now();
  std::vector<Item> live;
  std::vector<Item> expired;
  for (Item& it : items) {
    if (it.job->Done()) continue;  // failed or evicted earlier
    if (it.job->deadline <= now) {
      expired.push_back(std::move(it));
      continue;
    }
    live.push_back(std::move(it));
  }
  if (!expired.empty()) {
    // Counted before the callers learn of it, so Stats() never lags a result they saw.
    {
      absl::MutexLock lock(&mu_);
      stats_.expired += expired.size();
    }
    for (Item& it : expired) it.job->Fail(absl::DeadlineExceededError("deadline passed while queued"));
  }
  if (live.empty()) return;
  std::vector<std::vector<uint32_t>> rows;
  rows.reserve(live.size());
  uint64_t tokens = 0;
  for (const Item& it : live) {
    rows.push_back(it.job->rows[it.index]);
    tokens += std::min<uint64_t>(rows.back().size(), model_->max_context());
  }
  const Clock::time_point t0 = Clock::now();
  absl::StatusOr<Logits> logits = model_->NextTokenLogits(rows);
  const double seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  {
    // Counted before the results are handed out, so Stats() never lags a
    // result a caller has already seen.
    absl::MutexLock lock(&mu_);
    stats_.forward_seconds += seconds;
    if (logits.ok()) {
      ++stats_.batches;
      stats_.rows += live.size();
      stats_.tokens += tokens;
      for (size_t b = 0; b < kBatchSizeBuckets; ++b) {
        if (live.size() <= (size_t{1} << b)) ++stats_.batch_size_le[b];
      }
    } else {
      stats_.failed += live.size();
    }
  }
  if (logits.ok()) {
    for (size_t i = 0; i < live.size(); ++i) live[i].job->Fill(live[i].index, logits->Row(i));
  } else {
    for (Item& it : live) it.job->Fail(logits.status());
  }
}

}  // namespace agora::miner
