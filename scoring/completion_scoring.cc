#include "scoring/completion_scoring.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"

namespace agora::scoring {
namespace {

// SplitMix64: fully specified, so a seed draws the same positions on every
// platform and standard library (no std:: distributions).
class SplitMix64 {
 public:
  explicit SplitMix64(uint64_t seed) : state_(seed) {}
  uint64_t Next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  // Uniform in [0, n), n > 0, without modulo bias: draws below 2^64 mod n
  // are rejected, leaving a multiple of n equally likely values.
  uint64_t Below(uint64_t n) {
    const uint64_t limit = (0 - n) % n;  // 2^64 mod n
    for (;;) {
      const uint64_t x = Next();
      if (x >= limit) return x % n;
    }
  }

 private:
  uint64_t state_;
};

std::string Num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

}  // namespace

double CompletionScore(const std::vector<float>& reference_logprobs) {
  if (reference_logprobs.empty()) return 0.0;
  double sum = 0;
  for (float lp : reference_logprobs) {
    if (!std::isfinite(lp)) return 0.0;
    sum += lp;
  }
  const double mean = sum / static_cast<double>(reference_logprobs.size());
  return std::clamp(std::exp(mean), 0.0, 1.0);  // a log-probability > 0 is still capped at 1
}

SpotCheckResult SpotCheck(const std::vector<float>& claimed, const std::vector<float>& recomputed,
                          const std::vector<size_t>& positions, double abs_tolerance) {
  SpotCheckResult r;
  if (claimed.size() != recomputed.size()) {
    r.ok = false;
    r.evidence = absl::StrCat("spot check: ", claimed.size(), " claimed log-probabilities, ",
                              recomputed.size(), " recomputed");
    return r;
  }
  for (size_t pos : positions) {
    if (pos >= claimed.size()) {
      r.ok = false;
      r.position = pos;
      r.evidence = absl::StrCat("spot check: position ", pos, " out of range (length ",
                                claimed.size(), ")");
      return r;
    }
    const double c = claimed[pos], e = recomputed[pos];
    // A non-finite claim fails; so does a non-finite recomputation (NaN compares false).
    if (!std::isfinite(c) || !(std::fabs(c - e) <= abs_tolerance)) {
      r.ok = false;
      r.position = pos;
      r.claimed = c;
      r.recomputed = e;
      r.evidence = absl::StrCat("spot check: position ", pos, ": claimed log-probability ", Num(c),
                                ", model gives ", Num(e), " (tolerance ", Num(abs_tolerance), ")");
      return r;
    }
  }
  return r;
}

std::vector<size_t> SpotCheckPositions(size_t length, size_t count, uint64_t seed) {
  count = std::min(count, length);
  std::vector<size_t> out;
  out.reserve(count);
  SplitMix64 rng(seed);
  if (count * 2 > length) {
    // Dense: a partial Fisher-Yates shuffle of [0, length).
    std::vector<size_t> all(length);
    for (size_t i = 0; i < length; ++i) all[i] = i;
    for (size_t i = 0; i < count; ++i) {
      const size_t j = i + static_cast<size_t>(rng.Below(length - i));
      std::swap(all[i], all[j]);
    }
    out.assign(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(count));
  } else {
    // Sparse: rejection of repeats (at most half the range is taken, so
    // each draw succeeds with probability >= 1/2).
    absl::flat_hash_set<size_t> taken;
    while (out.size() < count) {
      const size_t p = static_cast<size_t>(rng.Below(length));
      if (taken.insert(p).second) out.push_back(p);
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace agora::scoring
