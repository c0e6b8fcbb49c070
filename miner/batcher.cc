#include "miner/batcher.h"

#include <algorithm>
#include <mutex>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "protocol/refusal.h"

namespace agora::miner {

// A request: rows whose logits are wanted (Submit), or one generation's row
// that grows a token per step (Generate).
struct Batcher::Job {
  std::vector<std::vector<uint32_t>> rows;
  Clock::time_point deadline;
  bool generation = false;
  NextToken next;         // a generation's
  std::function<void()> on_end;  // a generation's: called once it ends, before `finished` is set
  uint64_t sequence = 0;  // a generation's id for the model, else 0
  std::mutex mu;
  std::promise<absl::StatusOr<Logits>> promise;  // Submit's result
  std::promise<absl::Status> finished;           // Generate's result
  Logits out;              // Submit's, filled row by row
  size_t remaining = 0;    // Submit's rows not yet filled
  bool done = false;       // promise set

  void Fail(absl::Status status) {
    if (!MarkDone()) return;
    if (generation) {
      if (on_end) on_end();
      finished.set_value(std::move(status));
    } else {
      promise.set_value(std::move(status));
    }
  }
  // Claims the right to set the result: false if it was set already.
  bool MarkDone() {
    std::lock_guard<std::mutex> lock(mu);
    if (done) return false;
    done = true;
    return true;
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
  // A generation is complete.
  void Finish() {
    if (!MarkDone()) return;
    if (on_end) on_end();
    finished.set_value(absl::OkStatus());
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
  Enqueue(job, priority);
  return result;
}

absl::StatusOr<Logits> Batcher::Run(std::vector<std::vector<uint32_t>> rows, uint64_t priority,
                                    Clock::time_point deadline) {
  return Submit(std::move(rows), priority, deadline).get();
}

std::future<absl::Status> Batcher::Generate(std::vector<uint32_t> prompt, uint64_t priority,
                                            Clock::time_point deadline, NextToken next,
                                            std::function<void()> on_end) {
  auto job = std::make_shared<Job>();
  job->generation = true;
  job->next = std::move(next);
  job->on_end = std::move(on_end);
  std::future<absl::Status> result = job->finished.get_future();
  if (prompt.empty()) {
    job->Fail(absl::InvalidArgumentError("generate: empty prompt"));
    return result;
  }
  if (!job->next) {
    job->Fail(absl::InvalidArgumentError("generate: no NextToken"));
    return result;
  }
  job->rows.push_back(std::move(prompt));
  job->deadline = deadline;
  Enqueue(job, priority);
  return result;
}

void Batcher::Enqueue(const std::shared_ptr<Job>& job, uint64_t priority) {
  std::vector<std::shared_ptr<Job>> evicted;
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) {
      job->Fail(absl::UnavailableError("miner is shutting down"));
      return;
    }
    const size_t n = job->rows.size();
    // Make room by evicting strictly lower-priority rows, lowest first.
    while (queue_.size() + n > options_.max_queue_rows && !queue_.empty() &&
           std::prev(queue_.end())->priority < priority) {
      auto last = std::prev(queue_.end());
      evicted.push_back(last->job);
      if (last->job->sequence != 0) ended_.push_back(last->job->sequence);
      Dequeued(*last);
      queue_.erase(last);
      ++stats_.evicted;
    }
    if (queue_.size() + n > options_.max_queue_rows) {
      job->Fail(protocol::Refuse(protocol::Reason::kOverloaded,
                                 absl::StrCat("model queue full (", queue_.size(), " rows)")));
    } else {
      if (job->generation) {
        job->sequence = next_sequence_++;
        ++queued_generations_;
      }
      for (size_t i = 0; i < n; ++i) queue_.insert(Item{priority, next_seq_++, job, i, Clock::now()});
    }
  }
  for (auto& e : evicted) {
    e->Fail(protocol::Refuse(protocol::Reason::kOverloaded, "evicted by higher-stake work"));
  }
}

BatcherStats Batcher::Stats() const {
  absl::MutexLock lock(&mu_);
  BatcherStats s = stats_;
  s.queue_rows = queue_.size();
  return s;
}

void Batcher::Dequeued(const Item& item) {
  if (item.job->generation) --queued_generations_;
}

bool Batcher::BatchReady() const {
  return stopping_ || queue_.size() >= options_.max_batch || queued_generations_ > 0;
}

void Batcher::Loop() {
  for (;;) {
    std::vector<Item> items;
    std::vector<uint64_t> ended;
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
      if (left > Clock::duration::zero() && !BatchReady()) {
        mu_.AwaitWithTimeout(
            absl::Condition(
                +[](Batcher* b) ABSL_EXCLUSIVE_LOCKS_REQUIRED(b->mu_) { return b->BatchReady(); },
                this),
            absl::FromChrono(left));
      }
      while (!queue_.empty() && items.size() < options_.max_batch) {
        Dequeued(*queue_.begin());
        items.push_back(*queue_.begin());
        queue_.erase(queue_.begin());
      }
      ended.swap(ended_);
    }
    for (uint64_t sequence : ended) model_->EndSequence(sequence);
    RunStep(std::move(items));
  }
}

void Batcher::Abandon(Job& job, absl::Status status) {
  if (job.sequence != 0) model_->EndSequence(job.sequence);  // before the caller hears of it
  job.Fail(std::move(status));
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
    for (Item& it : expired) Abandon(*it.job, absl::DeadlineExceededError("deadline passed while queued"));
  }
  if (live.empty()) return;
  std::vector<std::vector<uint32_t>> rows;
  std::vector<uint64_t> sequences;
  rows.reserve(live.size());
  sequences.reserve(live.size());
  uint64_t tokens = 0;
  for (const Item& it : live) {
    rows.push_back(it.job->rows[it.index]);
    sequences.push_back(it.job->sequence);
    tokens += std::min<uint64_t>(rows.back().size(), model_->max_context());
  }
  const Clock::time_point t0 = Clock::now();
  absl::StatusOr<Logits> logits = model_->DecodeStep(rows, sequences);
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
  if (!logits.ok()) {
    for (Item& it : live) Abandon(*it.job, logits.status());
    return;
  }
  std::vector<Item> again;  // generations going on to their next token
  for (size_t i = 0; i < live.size(); ++i) {
    Job& job = *live[i].job;
    if (!job.generation) {
      job.Fill(live[i].index, logits->Row(i));
    } else if (job.next(logits->Row(i), job.rows[0])) {
      again.push_back(std::move(live[i]));
    } else {
      model_->EndSequence(job.sequence);  // before the caller hears it is done
      job.Finish();
    }
  }
  if (again.empty()) return;
  absl::MutexLock lock(&mu_);
  for (Item& it : again) {
    // A new place in line (behind work that arrived meanwhile, at the same
    // priority); not bounded by max_queue_rows: the work was admitted already.
    it.seq = next_seq_++;
    it.enqueued = Clock::now();
    ++queued_generations_;
    queue_.insert(std::move(it));
  }
}

}  // namespace agora::miner
