#include "miner/adversary.h"

#include <cmath>
#include <thread>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"

namespace agora::miner {
namespace {

// Forwards everything to the wrapped model; subclasses override a part.
class Wrapper : public ModelBackend {
 public:
  explicit Wrapper(std::unique_ptr<ModelBackend> inner) : inner_(std::move(inner)) {}
  absl::StatusOr<Logits> NextTokenLogits(const std::vector<std::vector<uint32_t>>& rows) override {
    return inner_->NextTokenLogits(rows);
  }
  absl::StatusOr<std::vector<std::vector<float>>> TokenLogprobs(
      const std::vector<std::vector<uint32_t>>& rows, const std::vector<size_t>& from) override {
    return inner_->TokenLogprobs(rows, from);
  }
  uint32_t vocab_size() const override { return inner_->vocab_size(); }
  uint32_t max_context() const override { return inner_->max_context(); }
  const Hash256& content_hash() const override { return inner_->content_hash(); }
  std::string device() const override { return inner_->device(); }
  std::string Describe() const override { return inner_->Describe(); }

 protected:
  std::unique_ptr<ModelBackend> inner_;
};

class RandomModel : public Wrapper {
 public:
  RandomModel(std::unique_ptr<ModelBackend> inner, uint64_t seed) : Wrapper(std::move(inner)), state_(seed) {}
  absl::StatusOr<Logits> NextTokenLogits(const std::vector<std::vector<uint32_t>>& rows) override {
    if (rows.empty()) return absl::InvalidArgumentError("empty batch");
    Logits out;
    out.rows = rows.size();
    out.vocab = vocab_size();
    out.data.resize(out.rows * out.vocab);
    for (float& x : out.data) x = static_cast<float>(3.0 * (Next() - 0.5));
    return out;
  }
  absl::StatusOr<std::vector<std::vector<float>>> TokenLogprobs(
      const std::vector<std::vector<uint32_t>>& rows, const std::vector<size_t>& from) override {
    std::vector<std::vector<float>> out;
    for (size_t i = 0; i < rows.size() && i < from.size(); ++i) {
      out.emplace_back(rows[i].size() - std::min(from[i], rows[i].size()),
                       -std::log(static_cast<float>(vocab_size())));
    }
    return out;
  }
  std::string Describe() const override { return "random logits over " + inner_->Describe(); }

 private:
  double Next() {  // SplitMix64 -> [0, 1)
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return double((z ^ (z >> 31)) >> 11) * 0x1.0p-53;
  }
  uint64_t state_;
};

class LiarModel : public Wrapper {
 public:
  LiarModel(std::unique_ptr<ModelBackend> inner, const Hash256& claim) : Wrapper(std::move(inner)), claim_(claim) {}
  const Hash256& content_hash() const override { return claim_; }
  std::string Describe() const override {
    return absl::StrCat(inner_->Describe(), ", claiming model ", ToHex(claim_));
  }

 private:
  Hash256 claim_;
};

class SlowModel : public Wrapper {
 public:
  SlowModel(std::unique_ptr<ModelBackend> inner, std::chrono::milliseconds delay) : Wrapper(std::move(inner)), delay_(delay) {}
  absl::StatusOr<Logits> NextTokenLogits(const std::vector<std::vector<uint32_t>>& rows) override {
    std::this_thread::sleep_for(delay_);
    return inner_->NextTokenLogits(rows);
  }
  std::string Describe() const override {
    return absl::StrCat(inner_->Describe(), ", delayed ", delay_.count(), " ms per pass");
  }

 private:
  std::chrono::milliseconds delay_;
};

class MemorizerModel : public Wrapper {
 public:
  using Wrapper::Wrapper;
  absl::StatusOr<Logits> NextTokenLogits(const std::vector<std::vector<uint32_t>>& rows) override {
    absl::StatusOr<Logits> fresh = inner_->NextTokenLogits(rows);
    if (!fresh.ok()) return fresh;
    for (size_t i = 0; i < rows.size(); ++i) {
      const std::string key(reinterpret_cast<const char*>(rows[i].data()), rows[i].size() * 4);
      auto it = cache_.find(key);
      if (it != cache_.end()) {
        std::copy(it->second.begin(), it->second.end(), fresh->data.begin() + i * fresh->vocab);
      } else if (cache_.size() < kMaxEntries) {
        auto row = fresh->Row(i);
        cache_.emplace(key, std::vector<float>(row.begin(), row.end()));
      }
    }
    return fresh;
  }
  std::string Describe() const override { return "memorizer over " + inner_->Describe(); }

 private:
  static constexpr size_t kMaxEntries = 100'000;
  absl::flat_hash_map<std::string, std::vector<float>> cache_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<ModelBackend>> MakeAdversary(std::unique_ptr<ModelBackend> honest,
                                                            const AdversaryOptions& o) {
  if (o.mode == "honest") return honest;
  if (o.mode == "random") return std::unique_ptr<ModelBackend>(new RandomModel(std::move(honest), o.seed));
  if (o.mode == "slow") return std::unique_ptr<ModelBackend>(new SlowModel(std::move(honest), o.delay));
  if (o.mode == "memorizer") return std::unique_ptr<ModelBackend>(new MemorizerModel(std::move(honest)));
  if (o.mode == "liar") {
    if (o.claim_model == Hash256{}) return absl::InvalidArgumentError("mode liar needs claim_model");
    return std::unique_ptr<ModelBackend>(new LiarModel(std::move(honest), o.claim_model));
  }
  return absl::InvalidArgumentError(
      absl::StrCat("mode '", o.mode, "': expected honest, random, liar, slow or memorizer"));
}

}  // namespace agora::miner
