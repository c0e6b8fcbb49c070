#include "validator/gateway_logprobs.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "scoring/predict_host.h"
#include "validator/holdout.h"

namespace agora::validator {

using json = nlohmann::json;

std::vector<uint32_t> ByteTokens(const std::string& text) {
  std::vector<uint32_t> out;
  out.reserve(text.size());
  for (unsigned char c : text) out.push_back(c);
  return out;
}

std::vector<std::vector<uint32_t>> PrefixesOf(const std::vector<uint32_t>& tokens, size_t from,
                                              size_t to) {
  std::vector<std::vector<uint32_t>> out;
  to = std::min(to, tokens.size() + 1);
  for (size_t len = std::max<size_t>(from, 1); len < to; ++len) {
    out.emplace_back(tokens.begin(), tokens.begin() + len);
  }
  return out;
}

std::vector<protocol::PredictRequest> PredictChunks(const std::vector<std::vector<uint32_t>>& prefixes) {
  std::vector<protocol::PredictRequest> out;
  for (size_t i = 0; i < prefixes.size(); i += protocol::kMaxPrefixes) {
    protocol::PredictRequest& r = out.emplace_back();
    const size_t end = std::min(prefixes.size(), i + protocol::kMaxPrefixes);
    r.prefixes.assign(prefixes.begin() + i, prefixes.begin() + end);
    r.top_k = 0;
  }
  return out;
}

absl::StatusOr<std::vector<std::vector<float>>> CollectDistributions(
    const std::vector<protocol::PredictRequest>& asked,
    const std::vector<protocol::PredictReply>& replies) {
  if (replies.size() != asked.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat(replies.size(), " replies to ", asked.size(), " requests"));
  }
  std::vector<std::vector<float>> out;
  for (size_t r = 0; r < replies.size(); ++r) {
    const std::string shape =
        scoring::CheckShape(&replies[r], kChallengeVocab, asked[r].prefixes.size());
    if (!shape.empty()) return absl::InvalidArgumentError(absl::StrCat("reply ", r, ": ", shape));
    for (const protocol::TokenDistribution& d : replies[r].distributions) {
      std::vector<float>& dense = out.emplace_back(kChallengeVocab, 0.0f);
      if (d.tokens.empty()) {
        std::copy(d.probs.begin(), d.probs.end(), dense.begin());
      } else {
        scoring::DensifyTopK(d, kChallengeVocab, dense.data());
      }
      for (float p : dense) {
        if (!(p >= 0.0f && p <= 1.0f)) {
          return absl::InvalidArgumentError(
              absl::StrCat("reply ", r, ": a probability is not in [0, 1]"));
        }
      }
    }
  }
  return out;
}

std::string ShownToken(const std::string& bytes) {
  if (std::all_of(bytes.begin(), bytes.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; })) {
    return bytes;
  }
  std::string out = "bytes:";
  for (unsigned char c : bytes) absl::StrAppend(&out, absl::StrFormat("\\x%02x", c));
  return out;
}

double LogProb(double p) { return std::log(std::max(p, 1e-30)); }

std::vector<std::pair<std::string, double>> TopLogprobs(const std::vector<float>& dist, uint32_t n) {
  std::vector<uint32_t> ids(dist.size());
  std::iota(ids.begin(), ids.end(), 0u);
  const size_t k = std::min<size_t>(n, ids.size());
  std::partial_sort(ids.begin(), ids.begin() + k, ids.end(), [&](uint32_t a, uint32_t b) {
    return dist[a] > dist[b] || (dist[a] == dist[b] && a < b);
  });
  std::vector<std::pair<std::string, double>> out;
  for (size_t i = 0; i < k; ++i) {
    out.emplace_back(std::string(1, static_cast<char>(ids[i])), LogProb(dist[ids[i]]));
  }
  return out;
}

json CompletionLogprobsJson(const std::vector<TokenLogprob>& tokens, size_t offset0) {
  json toks = json::array(), lps = json::array(), tops = json::array(), offsets = json::array();
  size_t offset = offset0;
  for (const TokenLogprob& t : tokens) {
    toks.push_back(ShownToken(t.token));
    lps.push_back(t.logprob ? json(*t.logprob) : json(nullptr));
    if (t.top) {
      json m = json::object();
      for (const auto& [tok, lp] : *t.top) m[ShownToken(tok)] = lp;
      tops.push_back(std::move(m));
    } else {
      tops.push_back(nullptr);
    }
    offsets.push_back(offset);
    offset += t.token.size();
  }
  return {{"tokens", toks}, {"token_logprobs", lps}, {"top_logprobs", tops}, {"text_offset", offsets}};
}

json ChatLogprobsJson(const std::vector<TokenLogprob>& tokens) {
  auto bytes = [](const std::string& s) {
    json b = json::array();
    for (unsigned char c : s) b.push_back(c);
    return b;
  };
  json content = json::array();
  for (const TokenLogprob& t : tokens) {
    json top = json::array();
    if (t.top) {
      for (const auto& [tok, lp] : *t.top) {
        top.push_back({{"token", ShownToken(tok)}, {"logprob", lp}, {"bytes", bytes(tok)}});
      }
    }
    content.push_back({{"token", ShownToken(t.token)},
                       {"logprob", t.logprob ? json(*t.logprob) : json(nullptr)},
                       {"bytes", bytes(t.token)},
                       {"top_logprobs", top}});
  }
  return {{"content", content}};
}

}  // namespace agora::validator
