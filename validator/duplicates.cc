#include "validator/duplicates.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>

namespace agora::validator {
namespace {

// One distribution as a function token -> probability, without expanding a
// top-k form (its vocabulary may be large).
class View {
 public:
  // False for a malformed distribution, which is never the same as anything.
  bool Init(const protocol::TokenDistribution& d, uint32_t vocab) {
    if (d.tokens.empty()) {
      full_ = &d.probs;
      return d.probs.size() == vocab;
    }
    if (d.tokens.size() != d.probs.size() || d.tokens.size() > vocab) return false;
    for (size_t i = 0; i < d.tokens.size(); ++i) {
      if (d.tokens[i] >= vocab) return false;
      listed_.emplace_back(d.tokens[i], d.probs[i]);
    }
    std::sort(listed_.begin(), listed_.end());
    for (size_t i = 1; i < listed_.size(); ++i) {
      if (listed_[i].first == listed_[i - 1].first) return false;
    }
    const size_t unlisted = vocab - listed_.size();
    spread_ = unlisted > 0 ? double(d.rest) / double(unlisted) : 0.0;
    return true;
  }
  bool full() const { return full_ != nullptr; }
  const std::vector<std::pair<uint32_t, float>>& listed() const { return listed_; }
  double spread() const { return spread_; }
  double At(uint32_t t) const {
    if (full_ != nullptr) return (*full_)[t];
    auto it = std::lower_bound(listed_.begin(), listed_.end(), std::make_pair(t, -std::numeric_limits<float>::infinity()));
    return it != listed_.end() && it->first == t ? double(it->second) : spread_;
  }

 private:
  const std::vector<float>* full_ = nullptr;
  std::vector<std::pair<uint32_t, float>> listed_;  // top-k form, by token
  double spread_ = 0;                               // each unlisted token's share of `rest`
};

// Total variation distance between two distributions, or NaN for a
// malformed one (never the same as anything).
double Distance(const protocol::TokenDistribution& a, const protocol::TokenDistribution& b,
                uint32_t vocab) {
  View va, vb;
  if (!va.Init(a, vocab) || !vb.Init(b, vocab)) return NAN;
  double sum = 0;
  if (va.full() || vb.full()) {  // bounded by the full form's own length
    for (uint32_t t = 0; t < vocab; ++t) sum += std::fabs(va.At(t) - vb.At(t));
    return sum / 2;
  }
  // Both top-k: every token either lists, then the tokens neither lists.
  const auto& la = va.listed();
  const auto& lb = vb.listed();
  size_t either = 0;
  for (size_t i = 0, j = 0; i < la.size() || j < lb.size(); ++either) {
    uint32_t t;
    if (j == lb.size() || (i < la.size() && la[i].first < lb[j].first)) {
      t = la[i++].first;
    } else if (i == la.size() || lb[j].first < la[i].first) {
      t = lb[j++].first;
    } else {
      t = la[i].first;
      ++i;
      ++j;
    }
    sum += std::fabs(va.At(t) - vb.At(t));
  }
  sum += double(vocab - either) * std::fabs(va.spread() - vb.spread());
  return sum / 2;
}

template <class Reply>
uint64_t RegisteredOrLast(const Response<Reply>& r) {
  return r.registered_block == 0 ? std::numeric_limits<uint64_t>::max() : r.registered_block;
}

double SortKey(double latency_ms) {
  return std::isnan(latency_ms) ? std::numeric_limits<double>::infinity() : latency_ms;
}

template <class Reply, class Same>
DuplicateResult Find(const std::vector<Response<Reply>>& r, const DuplicateHistory& history,
                     Same same) {
  DuplicateResult out;
  out.duplicate_of.resize(r.size());
  std::vector<size_t> order;  // this step's answers, first first
  for (size_t i = 0; i < r.size(); ++i) {
    if (r[i].reply != nullptr) order.push_back(i);
  }
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    const double la = SortKey(r[a].latency_ms), lb = SortKey(r[b].latency_ms);
    if (la != lb) return la < lb;
    if (r[a].uid != r[b].uid) return r[a].uid < r[b].uid;
    return a < b;
  });
  // Groups of identical answers among those that may lead, each in this
  // step's order; a group is known by its first member's answer.
  std::vector<std::vector<size_t>> groups;
  for (size_t i : order) {
    if (!r[i].may_lead) continue;
    auto g = std::find_if(groups.begin(), groups.end(),
                          [&](const std::vector<size_t>& group) { return same(*r[group[0]].reply, *r[i].reply); });
    if (g == groups.end()) {
      groups.push_back({i});
    } else {
      g->push_back(i);
    }
  }
  std::vector<size_t> leaders;
  for (const std::vector<size_t>& g : groups) {
    // a (at position pa in this step) beats b (at pb): its model was
    // registered first; in the same block, first in more of their races,
    // this one included; as many: first in this one.
    auto beats = [&](size_t pa, size_t pb) {
      const uint64_t ra = RegisteredOrLast(r[g[pa]]), rb = RegisteredOrLast(r[g[pb]]);
      if (ra != rb) return ra < rb;
      const uint32_t wa = history.TimesFirst(r[g[pa]].hotkey, r[g[pb]].hotkey) + (pa < pb ? 1 : 0);
      const uint32_t wb = history.TimesFirst(r[g[pb]].hotkey, r[g[pa]].hotkey) + (pb < pa ? 1 : 0);
      return wa != wb ? wa > wb : pa < pb;
    };
    size_t lead = 0, most = 0;
    for (size_t a = 0; a < g.size(); ++a) {
      size_t wins = 0;
      for (size_t b = 0; b < g.size(); ++b) wins += a != b && beats(a, b) ? 1 : 0;
      if (a == 0 || wins > most) {
        lead = a;
        most = wins;
      }
    }
    for (size_t a = 0; a < g.size(); ++a) {
      if (a != lead) out.duplicate_of[g[a]] = g[lead];
      for (size_t b = a + 1; b < g.size(); ++b) out.races.push_back({r[g[a]].hotkey, r[g[b]].hotkey});
    }
    leaders.push_back(g[lead]);
  }
  for (size_t i : order) {
    if (r[i].may_lead) continue;
    for (size_t k = 0; k < groups.size(); ++k) {
      if (same(*r[groups[k][0]].reply, *r[i].reply)) {
        out.duplicate_of[i] = leaders[k];
        break;
      }
    }
  }
  return out;
}

}  // namespace

bool SamePredictAnswer(const protocol::PredictReply& a, const protocol::PredictReply& b,
                       const SameAnswerTolerance& tolerance) {
  if (a.vocab_size != b.vocab_size || a.distributions.size() != b.distributions.size() ||
      a.distributions.empty()) {
    return false;
  }
  bool every_within = true;
  double sum = 0;
  for (size_t i = 0; i < a.distributions.size(); ++i) {
    const double d = Distance(a.distributions[i], b.distributions[i], a.vocab_size);
    if (!(d <= tolerance.distribution)) every_within = false;
    sum += std::isfinite(d) ? d : 1.0;  // a NaN distance is as far as distributions get
  }
  return every_within ||
         (tolerance.derived > 0 && sum / double(a.distributions.size()) <= tolerance.derived);
}

bool SameCompletion(const protocol::GenerateReply& a, const protocol::GenerateReply& b,
                    const SameAnswerTolerance& tolerance) {
  if (a.tokens.empty() || a.tokens != b.tokens || a.logprobs.size() != a.tokens.size() ||
      b.logprobs.size() != b.tokens.size()) {
    return false;
  }
  for (size_t i = 0; i < a.logprobs.size(); ++i) {
    const double la = a.logprobs[i], lb = b.logprobs[i];
    if (!std::isfinite(la) || !std::isfinite(lb) || !(std::fabs(la - lb) <= tolerance.logprob)) {
      return false;
    }
  }
  return true;
}

void DuplicateHistory::Add(const std::vector<Race>& races) {
  for (const Race& race : races) {
    if (race.first == race.second) continue;
    const bool lower_first = race.first < race.second;
    const auto key = lower_first ? std::make_pair(race.first, race.second)
                                 : std::make_pair(race.second, race.first);
    auto it = counts_.find(key);
    if (it == counts_.end()) {
      if (counts_.size() >= max_pairs_) continue;
      it = counts_.emplace(key, std::array<uint32_t, 2>{0, 0}).first;
    }
    std::array<uint32_t, 2>& c = it->second;
    ++c[lower_first ? 0 : 1];
    if (c[0] + c[1] >= kMaxCount) {
      c[0] /= 2;
      c[1] /= 2;
    }
  }
}

uint32_t DuplicateHistory::TimesFirst(const PublicKey& a, const PublicKey& b) const {
  const bool a_lower = a < b;
  auto it = counts_.find(a_lower ? std::make_pair(a, b) : std::make_pair(b, a));
  if (it == counts_.end()) return 0;
  return it->second[a_lower ? 0 : 1];
}

std::vector<PairRaces> DuplicateHistory::Export() const {
  std::vector<PairRaces> out;
  out.reserve(counts_.size());
  for (const auto& [key, c] : counts_) out.push_back({key.first, key.second, c[0], c[1]});
  return out;
}

void DuplicateHistory::Restore(const std::vector<PairRaces>& pairs) {
  counts_.clear();
  for (const PairRaces& p : pairs) {
    if (counts_.size() >= max_pairs_) break;
    if (!(p.lower < p.higher)) continue;
    if (uint64_t{p.lower_first} + p.higher_first >= kMaxCount) continue;
    counts_.emplace(std::make_pair(p.lower, p.higher),
                    std::array<uint32_t, 2>{p.lower_first, p.higher_first});  // first one wins
  }
}

DuplicateResult FindDuplicates(const std::vector<Response<protocol::PredictReply>>& responses,
                               const DuplicateHistory& history,
                               const SameAnswerTolerance& tolerance) {
  return Find<protocol::PredictReply>(
      responses, history, [&](const protocol::PredictReply& a, const protocol::PredictReply& b) {
        return SamePredictAnswer(a, b, tolerance);
      });
}

DuplicateResult FindDuplicates(const std::vector<Response<protocol::GenerateReply>>& responses,
                               const DuplicateHistory& history,
                               const SameAnswerTolerance& tolerance) {
  return Find<protocol::GenerateReply>(
      responses, history, [&](const protocol::GenerateReply& a, const protocol::GenerateReply& b) {
        return SameCompletion(a, b, tolerance);
      });
}

}  // namespace agora::validator
