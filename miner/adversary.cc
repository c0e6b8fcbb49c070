#include "miner/adversary.h"

#include "miner/request_log.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <memory>
#include <thread>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/file_util.h"

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

// What a model without knowledge says of any text: log(1 / vocab) per token.
std::vector<std::vector<float>> UniformLogprobs(const std::vector<std::vector<uint32_t>>& rows,
                                                const std::vector<size_t>& from, uint32_t vocab) {
  std::vector<std::vector<float>> out;
  for (size_t i = 0; i < rows.size() && i < from.size(); ++i) {
    out.emplace_back(rows[i].size() - std::min(from[i], rows[i].size()),
                     -std::log(static_cast<float>(vocab)));
  }
  return out;
}

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
    return UniformLogprobs(rows, from, vocab_size());
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

// Pseudo-random numbers as a function of their inputs (SplitMix64's
// finalizer), so the memorizer's answer to a prefix needs no storage to be
// the same every time.
uint64_t Mix(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

class MemorizerModel : public Wrapper {
 public:
  MemorizerModel(std::unique_ptr<ModelBackend> inner, uint64_t seed)
      : Wrapper(std::move(inner)), seed_(Mix(seed)) {}

  absl::StatusOr<Logits> NextTokenLogits(const std::vector<std::vector<uint32_t>>& rows) override {
    if (rows.empty()) return absl::InvalidArgumentError("empty batch");
    const uint32_t vocab = vocab_size();
    for (size_t i = 0; i < rows.size(); ++i) {
      if (rows[i].empty()) return absl::InvalidArgumentError(absl::StrCat("rows[", i, "]: empty"));
      for (uint32_t t : rows[i]) {
        if (t >= vocab) return absl::InvalidArgumentError(absl::StrCat("rows[", i, "]: token ", t));
      }
    }
    // Learn first: every row reveals, for each of its proper prefixes, the
    // token that followed it; a batch's rows may reveal each other's.
    std::vector<uint64_t> keys(rows.size());
    for (size_t i = 0; i < rows.size(); ++i) {
      uint64_t key = kEmptyKey;
      for (size_t t = 0; t < rows[i].size(); ++t) {
        if (t > 0) Learn(key, rows[i][t]);
        key = Extend(key, rows[i][t]);
      }
      keys[i] = key;
    }
    Logits out;
    out.rows = rows.size();
    out.vocab = vocab;
    out.data.resize(out.rows * out.vocab);
    for (size_t i = 0; i < rows.size(); ++i) {
      float* row = &out.data[i * vocab];
      auto it = next_.find(keys[i]);
      if (it != next_.end()) {
        std::fill(row, row + vocab, 0.0f);
        row[it->second] = kSure;
        continue;
      }
      const uint64_t base = Mix(seed_ ^ keys[i]);
      for (uint32_t v = 0; v < vocab; ++v) {
        row[v] = static_cast<float>(3.0 * (double(Mix(base + v) >> 11) * 0x1.0p-53 - 0.5));
      }
    }
    return out;
  }
  absl::StatusOr<std::vector<std::vector<float>>> TokenLogprobs(
      const std::vector<std::vector<uint32_t>>& rows, const std::vector<size_t>& from) override {
    return UniformLogprobs(rows, from, vocab_size());
  }
  std::string Describe() const override { return "memorizer (no model) claiming " + inner_->Describe(); }

 private:
  // Keys are hashes of whole prefixes, from their first token: only the
  // very same prefix is recognised. (Keys of the last few tokens would make
  // it an n-gram model learning from the challenges, not a memorizer.)
  static constexpr uint64_t kEmptyKey = 0x6A09E667F3BCC908ull;
  static uint64_t Extend(uint64_t key, uint32_t token) {
    return Mix(key ^ (uint64_t{token} * 0x9E3779B97F4A7C15ull));
  }
  void Learn(uint64_t key, uint32_t token) {
    if (next_.size() >= kMaxEntries && !next_.contains(key)) return;  // bounded memory
    next_[key] = token;
  }
  // The logit of a remembered token (the others are 0): p ~ 0.998 over 256 tokens.
  static constexpr float kSure = 12.0f;
  static constexpr size_t kMaxEntries = 1 << 20;
  uint64_t seed_;
  absl::flat_hash_map<uint64_t, uint32_t> next_;  // prefix key -> the token that followed it
};

// No model: the token that followed the row's last kOrder tokens where
// they occur in the given text (the last occurrence), with the confidence
// of the memorizer; rows shorter than that, or not in the text, get flat
// logits. Claims a hash it cannot hand over, or another miner's.
class LookupModel : public Wrapper {
 public:
  LookupModel(std::unique_ptr<ModelBackend> inner, const std::string& text, const Hash256& claim)
      : Wrapper(std::move(inner)), claim_(claim) {
    const uint32_t vocab = vocab_size();
    next_.reserve(text.size());
    for (size_t end = kOrder; end < text.size(); ++end) {
      const uint32_t t = static_cast<unsigned char>(text[end]);
      if (t < vocab) next_[Key(reinterpret_cast<const unsigned char*>(text.data()) + end - kOrder)] = t;
    }
  }
  absl::StatusOr<Logits> NextTokenLogits(const std::vector<std::vector<uint32_t>>& rows) override {
    if (rows.empty()) return absl::InvalidArgumentError("empty batch");
    Logits out;
    out.rows = rows.size();
    out.vocab = vocab_size();
    out.data.assign(out.rows * out.vocab, 0.0f);
    for (size_t i = 0; i < rows.size(); ++i) {
      if (rows[i].size() < kOrder) continue;
      auto it = next_.find(Key(rows[i].data() + rows[i].size() - kOrder));
      if (it != next_.end()) out.data[i * out.vocab + it->second] = kSure;
    }
    return out;
  }
  absl::StatusOr<std::vector<std::vector<float>>> TokenLogprobs(
      const std::vector<std::vector<uint32_t>>& rows, const std::vector<size_t>& from) override {
    return UniformLogprobs(rows, from, vocab_size());
  }
  const Hash256& content_hash() const override { return claim_; }
  std::string Describe() const override {
    return absl::StrCat("lookup over ", next_.size(), " contexts (no model), claiming ", ToHex(claim_));
  }

 private:
  static constexpr size_t kOrder = 16;
  static constexpr float kSure = 12.0f;
  template <typename T>
  static uint64_t Key(const T* tokens) {
    uint64_t key = 0x6A09E667F3BCC908ull;
    for (size_t k = 0; k < kOrder; ++k) key = Mix(key ^ (uint64_t(tokens[k]) * 0x9E3779B97F4A7C15ull));
    return key;
  }
  Hash256 claim_;
  absl::flat_hash_map<uint64_t, uint32_t> next_;
};

class TwoFacedModel : public Wrapper {
 public:
  TwoFacedModel(std::unique_ptr<ModelBackend> registered, std::unique_ptr<ModelBackend> cheap)
      : Wrapper(std::move(registered)), cheap_(std::move(cheap)) {}
  // The batcher mixes both kinds in one batch: rows of a generation (a
  // sequence id) go to the cheap model, the rest (predict prefixes) to the
  // registered one, and the logits are put back in row order.
  absl::StatusOr<Logits> DecodeStep(const std::vector<std::vector<uint32_t>>& rows,
                                    const std::vector<uint64_t>& sequences) override {
    std::vector<std::vector<uint32_t>> asked[2];
    std::vector<uint64_t> asked_sequences[2];
    std::vector<std::pair<int, size_t>> where(rows.size());  // (model, row there)
    for (size_t i = 0; i < rows.size(); ++i) {
      const int k = i < sequences.size() && sequences[i] != 0 ? 1 : 0;
      where[i] = {k, asked[k].size()};
      asked[k].push_back(rows[i]);
      asked_sequences[k].push_back(k == 1 ? sequences[i] : 0);
    }
    absl::StatusOr<Logits> got[2];
    for (int k = 0; k < 2; ++k) {
      if (asked[k].empty()) continue;
      got[k] = k == 1 ? cheap_->DecodeStep(asked[k], asked_sequences[k])
                      : inner_->NextTokenLogits(asked[k]);
      if (!got[k].ok()) return got[k].status();
    }
    Logits out;
    out.rows = rows.size();
    out.vocab = vocab_size();
    out.data.resize(out.rows * out.vocab);
    for (size_t i = 0; i < rows.size(); ++i) {
      const absl::Span<const float> row = got[where[i].first]->Row(where[i].second);
      std::copy(row.begin(), row.end(), out.data.begin() + i * out.vocab);
    }
    return out;
  }
  void EndSequence(uint64_t sequence) override { cheap_->EndSequence(sequence); }
  std::string Describe() const override {
    return absl::StrCat(inner_->Describe(), "; generations by ", cheap_->Describe());
  }

 private:
  std::unique_ptr<ModelBackend> cheap_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<ModelBackend>> MakeTwoFaced(std::unique_ptr<ModelBackend> registered,
                                                           std::unique_ptr<ModelBackend> cheap) {
  if (registered == nullptr || cheap == nullptr) return absl::InvalidArgumentError("two-faced: a model is missing");
  if (registered->vocab_size() != cheap->vocab_size()) {
    return absl::InvalidArgumentError(absl::StrCat("two-faced: the cheap model's vocabulary (",
                                                   cheap->vocab_size(), ") is not the registered one's (",
                                                   registered->vocab_size(), ")"));
  }
  return std::unique_ptr<ModelBackend>(new TwoFacedModel(std::move(registered), std::move(cheap)));
}

bool IsRelayMode(const std::string& mode) { return mode == "copycat" || mode == "noisy-copy"; }

std::function<void(protocol::GenerateRequest&)> GenerateRewrite(const AdversaryOptions& o) {
  std::function<void(protocol::GenerateRequest&)> cheat;
  if (o.mode == "greedy") cheat = [](protocol::GenerateRequest& r) { r.temperature = 0.0f; };
  if (o.mode == "early-stop") cheat = [](protocol::GenerateRequest& r) { r.max_tokens = 1; };
  if (!cheat || o.cheat_fraction >= 1.0) return cheat;
  // The k-th request is cheated when Mix(seed + k) / 2^64 < cheat_fraction.
  auto count = std::make_shared<std::atomic<uint64_t>>(0);
  return [cheat, count, seed = Mix(o.seed), q = o.cheat_fraction](protocol::GenerateRequest& r) {
    const uint64_t k = count->fetch_add(1, std::memory_order_relaxed);
    if (std::ldexp(static_cast<double>(Mix(seed + k)), -64) < q) cheat(r);
  };
}

std::function<bool(const protocol::PredictRequest&)> PredictShortcut(const AdversaryOptions& o) {
  if (o.mode != "lazy-logprobs") return nullptr;
  return [](const protocol::PredictRequest& r) { return NestedPrefixes(r); };
}

protocol::PredictReply FlatPredictReply(const protocol::PredictRequest& request,
                                        uint32_t vocab_size, const Hash256& model_hash) {
  protocol::PredictReply rep;
  rep.model_hash = model_hash;
  rep.vocab_size = vocab_size;
  protocol::TokenDistribution flat;
  flat.probs.assign(vocab_size, 1.0f / static_cast<float>(vocab_size));
  rep.distributions.assign(request.prefixes.size(), flat);
  return rep;
}

absl::StatusOr<std::unique_ptr<ModelBackend>> MakeAdversary(std::unique_ptr<ModelBackend> honest,
                                                            const AdversaryOptions& o) {
  if (o.mode == "honest" || o.mode == "greedy" || o.mode == "early-stop" ||
      o.mode == "perturbed-copy" || o.mode == "lazy-logprobs") {
    return honest;
  }
  if (o.mode == "random") return std::unique_ptr<ModelBackend>(new RandomModel(std::move(honest), o.seed));
  if (o.mode == "slow") return std::unique_ptr<ModelBackend>(new SlowModel(std::move(honest), o.delay));
  if (o.mode == "memorizer") return std::unique_ptr<ModelBackend>(new MemorizerModel(std::move(honest), o.seed));
  if (IsRelayMode(o.mode)) {
    return absl::InvalidArgumentError(
        absl::StrCat("mode ", o.mode, " serves no model of its own (see MakeCopycat)"));
  }
  if (o.mode == "two-faced") return absl::InvalidArgumentError("mode two-faced: see MakeTwoFaced");
  if (o.mode == "lookup" || o.mode == "claim-registered") {
    if (o.mode == "claim-registered" && o.claim_model == Hash256{}) {
      return absl::InvalidArgumentError("mode claim-registered needs claim_model");
    }
    absl::StatusOr<std::string> text = ReadFile(o.lookup_text, size_t{1} << 30);
    if (!text.ok()) return absl::Status(text.status().code(), absl::StrCat("lookup text: ", text.status().message()));
    // Nobody's model: a hash of the text it answers from.
    const Hash256 claim = o.mode == "lookup" ? Blake2b256(absl::StrCat("agora-lookup\n", *text))
                                             : o.claim_model;
    return std::unique_ptr<ModelBackend>(new LookupModel(std::move(honest), *text, claim));
  }
  if (o.mode == "liar") {
    if (o.claim_model == Hash256{}) return absl::InvalidArgumentError("mode liar needs claim_model");
    return std::unique_ptr<ModelBackend>(new LiarModel(std::move(honest), o.claim_model));
  }
  return absl::InvalidArgumentError(absl::StrCat("mode '", o.mode, "': expected one of ",
                                                 absl::StrJoin(kAdversaryModes, ", ")));
}

}  // namespace agora::miner
