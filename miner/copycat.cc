#include "miner/copycat.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>

#include "absl/strings/str_cat.h"

namespace agora::miner {
namespace {

// The checks every distribution of a copied reply passes before it is used.
absl::Status CheckReply(const protocol::PredictReply& rep, size_t rows, uint32_t vocab,
                        const Hash256& model) {
  if (rep.vocab_size != vocab) {
    return absl::InvalidArgumentError(
        absl::StrCat("vocab_size ", rep.vocab_size, ", expected ", vocab));
  }
  if (rep.model_hash != model) {
    return absl::InvalidArgumentError(absl::StrCat("now answers with model ", ToHex(rep.model_hash),
                                                   ", not ", ToHex(model)));
  }
  if (rep.distributions.size() != rows) {
    return absl::InvalidArgumentError(
        absl::StrCat(rep.distributions.size(), " distributions for ", rows, " prefixes"));
  }
  return absl::OkStatus();
}

class CopycatModel : public ModelBackend {
 public:
  CopycatModel(PredictRelay relay, std::string source, uint32_t vocab, const Hash256& model,
               double temperature)
      : relay_(std::move(relay)), source_(std::move(source)), vocab_(vocab), model_(model),
        temperature_(temperature) {}

  absl::StatusOr<Logits> NextTokenLogits(const std::vector<std::vector<uint32_t>>& rows) override {
    if (rows.empty()) return absl::InvalidArgumentError("empty batch");
    Logits out;
    out.rows = rows.size();
    out.vocab = vocab_;
    out.data.resize(out.rows * out.vocab);
    for (size_t start = 0; start < rows.size(); start += protocol::kMaxPrefixes) {
      const size_t end = std::min(rows.size(), start + protocol::kMaxPrefixes);
      protocol::PredictRequest req;
      for (size_t i = start; i < end; ++i) {
        const std::vector<uint32_t>& row = rows[i];
        if (row.empty()) return absl::InvalidArgumentError(absl::StrCat("rows[", i, "]: empty"));
        // Longer rows are cut at the front, as a model cuts them to its context.
        const size_t keep = std::min(row.size(), protocol::kMaxPrefixTokens);
        req.prefixes.emplace_back(row.end() - static_cast<std::ptrdiff_t>(keep), row.end());
      }
      absl::StatusOr<protocol::PredictReply> rep = relay_(req);
      if (!rep.ok()) {
        return absl::UnavailableError(absl::StrCat("copied miner ", source_, ": ", rep.status().message()));
      }
      absl::Status s = CheckReply(*rep, end - start, vocab_, model_);
      for (size_t j = 0; s.ok() && j < rep->distributions.size(); ++j) {
        absl::StatusOr<std::vector<float>> logits = LogitsOf(rep->distributions[j], vocab_);
        if (!logits.ok()) {
          s = absl::InvalidArgumentError(absl::StrCat("distribution ", j, ": ", logits.status().message()));
          break;
        }
        if (temperature_ != 1.0) {
          for (float& x : *logits) x = static_cast<float>(x / temperature_);
        }
        std::copy(logits->begin(), logits->end(), out.data.begin() + (start + j) * vocab_);
      }
      if (!s.ok()) return absl::InternalError(absl::StrCat("copied miner ", source_, ": ", s.message()));
    }
    return out;
  }

  absl::StatusOr<std::vector<std::vector<float>>> TokenLogprobs(
      const std::vector<std::vector<uint32_t>>&, const std::vector<size_t>&) override {
    return absl::UnimplementedError("copycat: no model of its own to compute log-probabilities");
  }
  uint32_t vocab_size() const override { return vocab_; }
  uint32_t max_context() const override { return protocol::kMaxPrefixTokens; }
  const Hash256& content_hash() const override { return model_; }
  std::string device() const override { return "relay"; }
  std::string Describe() const override {
    return absl::StrCat("copycat of ", source_, " (claiming its model ", ToHex(model_), ")",
                        temperature_ != 1.0 ? absl::StrCat(", re-tempered by ", temperature_) : "");
  }

 private:
  PredictRelay relay_;
  std::string source_;
  uint32_t vocab_;
  Hash256 model_;
  double temperature_;
};

}  // namespace

absl::StatusOr<std::vector<float>> LogitsOf(const protocol::TokenDistribution& d, uint32_t vocab) {
  if (vocab == 0) return absl::InvalidArgumentError("empty vocabulary");
  std::vector<double> p(vocab, 0.0);
  if (!std::isfinite(d.rest) || d.rest < 0) return absl::InvalidArgumentError("bad rest mass");
  if (d.tokens.empty()) {
    if (d.probs.size() != vocab) {
      return absl::InvalidArgumentError(
          absl::StrCat(d.probs.size(), " probabilities for ", vocab, " tokens"));
    }
    for (uint32_t v = 0; v < vocab; ++v) p[v] = d.probs[v];
  } else {
    if (d.tokens.size() != d.probs.size() || d.tokens.size() > vocab) {
      return absl::InvalidArgumentError(absl::StrCat(d.tokens.size(), " tokens and ",
                                                     d.probs.size(), " probabilities"));
    }
    const size_t unlisted = vocab - d.tokens.size();
    const double spread = unlisted > 0 ? double(d.rest) / double(unlisted) : 0.0;
    std::fill(p.begin(), p.end(), spread);
    std::vector<bool> listed(vocab, false);
    for (size_t i = 0; i < d.tokens.size(); ++i) {
      const uint32_t t = d.tokens[i];
      if (t >= vocab) return absl::InvalidArgumentError(absl::StrCat("token ", t, " out of range"));
      if (listed[t]) return absl::InvalidArgumentError(absl::StrCat("token ", t, " listed twice"));
      listed[t] = true;
      p[t] = d.probs[i];
    }
  }
  double total = 0;
  for (double x : p) {
    if (!std::isfinite(x) || x < 0) return absl::InvalidArgumentError("a probability is negative or not finite");
    total += x;
  }
  if (!(total > 0)) return absl::InvalidArgumentError("no probability mass");
  std::vector<float> logits(vocab);
  for (uint32_t v = 0; v < vocab; ++v) {
    logits[v] = p[v] > 0 ? static_cast<float>(std::log(p[v])) : -std::numeric_limits<float>::infinity();
  }
  return logits;
}

absl::StatusOr<std::unique_ptr<ModelBackend>> MakeCopycat(PredictRelay relay, std::string source,
                                                          double temperature) {
  if (!relay) return absl::InvalidArgumentError("copycat: no relay");
  if (!(temperature > 0) || !std::isfinite(temperature)) {
    return absl::InvalidArgumentError("copycat: temperature must be positive");
  }
  protocol::PredictRequest probe;
  probe.prefixes = {{0}};
  absl::StatusOr<protocol::PredictReply> rep = relay(probe);
  if (!rep.ok()) {
    return absl::Status(rep.status().code(),
                        absl::StrCat("copied miner ", source, ": ", rep.status().message()));
  }
  auto bad = [&](absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat("copied miner ", source, ": probe: ", why));
  };
  if (rep->vocab_size == 0 || rep->vocab_size > kMaxCopiedVocab) {
    return bad(absl::StrCat("vocab_size ", rep->vocab_size, " not in [1, ", kMaxCopiedVocab, "]"));
  }
  if (rep->distributions.size() != 1) {
    return bad(absl::StrCat(rep->distributions.size(), " distributions for 1 prefix"));
  }
  absl::StatusOr<std::vector<float>> logits = LogitsOf(rep->distributions[0], rep->vocab_size);
  if (!logits.ok()) return bad(logits.status().message());
  return std::unique_ptr<ModelBackend>(
      new CopycatModel(std::move(relay), std::move(source), rep->vocab_size, rep->model_hash,
                       temperature));
}

}  // namespace agora::miner
