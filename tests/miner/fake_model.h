// A deterministic, torch-free ModelBackend for the miner's unit tests: the
// logits of a row peak at token (sum of the row + its length) % vocab, so
// every answer is predictable and rows are told apart.
#ifndef AGORA_TESTS_MINER_FAKE_MODEL_H_
#define AGORA_TESTS_MINER_FAKE_MODEL_H_

#include <algorithm>
#include <chrono>
#include <cmath>
#include <mutex>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "miner/model.h"

namespace agora::miner::testing {

class FakeModel : public ModelBackend {
 public:
  explicit FakeModel(uint32_t vocab = 256, std::chrono::microseconds delay = {})
      : vocab_(vocab), delay_(delay) {
    hash_.fill(0x42);
  }

  static uint32_t Peak(const std::vector<uint32_t>& row, uint32_t vocab) {
    uint64_t s = row.size();
    for (uint32_t t : row) s += t;
    return static_cast<uint32_t>(s % vocab);
  }

  absl::StatusOr<Logits> NextTokenLogits(const std::vector<std::vector<uint32_t>>& rows) override {
    if (rows.empty()) return absl::InvalidArgumentError("no rows");
    {
      std::lock_guard<std::mutex> lock(mu_);
      batch_sizes_.push_back(rows.size());
    }
    if (delay_.count() > 0) std::this_thread::sleep_for(delay_);
    Logits out;
    out.rows = rows.size();
    out.vocab = vocab_;
    out.data.resize(out.rows * vocab_);
    for (size_t i = 0; i < rows.size(); ++i) FillLogits(rows[i], &out.data[i * vocab_]);
    return out;
  }

  // Records what the batcher says of sequences; the logits are NextTokenLogits'.
  absl::StatusOr<Logits> DecodeStep(const std::vector<std::vector<uint32_t>>& rows,
                                    const std::vector<uint64_t>& sequences) override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      steps_sequences_.push_back(sequences);
    }
    return NextTokenLogits(rows);
  }
  void EndSequence(uint64_t sequence) override {
    std::lock_guard<std::mutex> lock(mu_);
    ended_.push_back(sequence);
  }
  std::vector<std::vector<uint64_t>> steps_sequences() {
    std::lock_guard<std::mutex> lock(mu_);
    return steps_sequences_;
  }
  std::vector<uint64_t> ended() {
    std::lock_guard<std::mutex> lock(mu_);
    return ended_;
  }

  // The fake logits' log-softmax at each token of [from[i], row size), on the host.
  absl::StatusOr<std::vector<std::vector<float>>> TokenLogprobs(
      const std::vector<std::vector<uint32_t>>& rows, const std::vector<size_t>& from) override {
    if (rows.empty()) return absl::InvalidArgumentError("no rows");
    if (rows.size() != from.size()) return absl::InvalidArgumentError("rows and from differ");
    std::vector<std::vector<float>> out(rows.size());
    std::vector<float> logits(vocab_);
    for (size_t i = 0; i < rows.size(); ++i) {
      const std::vector<uint32_t>& row = rows[i];
      if (row.empty() || row.size() > max_context() || from[i] < 1 || from[i] > row.size()) {
        return absl::InvalidArgumentError(absl::StrCat("rows[", i, "]: bad length or from"));
      }
      for (uint32_t t : row) {
        if (t >= vocab_) return absl::InvalidArgumentError(absl::StrCat("rows[", i, "]: bad token"));
      }
      for (size_t t = from[i]; t < row.size(); ++t) {
        FillLogits(std::vector<uint32_t>(row.begin(), row.begin() + t), logits.data());
        double max = logits[0];
        for (float l : logits) max = std::max<double>(max, l);
        double sum = 0;
        for (float l : logits) sum += std::exp(l - max);
        out[i].push_back(static_cast<float>(logits[row[t]] - max - std::log(sum)));
      }
    }
    return out;
  }
  uint32_t vocab_size() const override { return vocab_; }
  uint32_t max_context() const override { return 64; }
  const Hash256& content_hash() const override { return hash_; }
  std::string device() const override { return "cpu"; }
  std::string Describe() const override { return absl::StrCat("fake vocab=", vocab_); }

  // The logits after `row`: -0.5 * (circular distance to Peak(row)).
  void FillLogits(const std::vector<uint32_t>& row, float* out) const {
    const uint32_t peak = Peak(row, vocab_);
    for (uint32_t v = 0; v < vocab_; ++v) {
      const double d = std::min<double>((v + vocab_ - peak) % vocab_, (peak + vocab_ - v) % vocab_);
      out[v] = static_cast<float>(-0.5 * d);
    }
  }

  std::vector<size_t> batch_sizes() {
    std::lock_guard<std::mutex> lock(mu_);
    return batch_sizes_;
  }

 private:
  uint32_t vocab_;
  std::chrono::microseconds delay_;
  Hash256 hash_{};
  std::mutex mu_;
  std::vector<size_t> batch_sizes_;
  std::vector<std::vector<uint64_t>> steps_sequences_;
  std::vector<uint64_t> ended_;
};

}  // namespace agora::miner::testing

#endif  // AGORA_TESTS_MINER_FAKE_MODEL_H_
