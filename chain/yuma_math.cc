#include "chain/yuma_math.h"

#include <algorithm>
#include <cstdint>
#include <numeric>
#include <utility>
#include <vector>

namespace agora::chain::yuma_internal {
namespace {

// Sorts and deduplicates the touched columns of a dense scratch row.
void SortUnique(std::vector<uint16_t>& cols) {
  std::sort(cols.begin(), cols.end());
  cols.erase(std::unique(cols.begin(), cols.end()), cols.end());
}

bool StrictlyAscending(const FixedRow& row) {
  for (size_t k = 1; k < row.size(); ++k) {
    if (row[k - 1].first >= row[k].first) return false;
  }
  return true;
}

// Visits the union of the columns of two strictly ascending rows in ascending order, calling
// f(j, value in a or 0, value in b or 0).
template <typename F>
void MergeRows(const FixedRow& a, const FixedRow& b, F&& f) {
  size_t p = 0, q = 0;
  while (p < a.size() || q < b.size()) {
    if (q == b.size() || (p < a.size() && a[p].first < b[q].first)) {
      f(a[p].first, a[p].second, I32F32::Zero());
      ++p;
    } else if (p == a.size() || b[q].first < a[p].first) {
      f(b[q].first, I32F32::Zero(), b[q].second);
      ++q;
    } else {
      f(a[p].first, a[p].second, b[q].second);
      ++p;
      ++q;
    }
  }
}

// Per-column divisors for the column normalizations (only the nonzero ones are used).
std::vector<FixedDivisor> ColumnDivisors(const std::vector<I32F32>& by_column) {
  std::vector<FixedDivisor> divisors;
  divisors.reserve(by_column.size());
  for (I32F32 d : by_column) divisors.emplace_back(d);
  return divisors;
}

}  // namespace

I32F32 U16ToProportion(uint16_t x) {
  static constexpr FixedDivisor k65535(I32F32::FromInt(65535));  // a compile-time constant
  return k65535.SafeDivide(I32F32::FromInt(x));
}

I32F32 Sum(const std::vector<I32F32>& v) {
  I32F32 s;
  for (I32F32 x : v) s += x;
  return s;
}

void NormalizeInPlace(std::vector<I32F32>& v) { NormalizeUsingSum(v, Sum(v)); }

void NormalizeUsingSum(std::vector<I32F32>& v, I32F32 sum) {
  if (sum == I32F32::Zero()) return;
  const FixedDivisor divisor(sum);
  for (I32F32& x : v) x = divisor.SafeDivide(x);
}

std::vector<bool> TopKNonzero(const std::vector<I32F32>& v, uint32_t k) {
  const size_t n = v.size();
  std::vector<bool> result(n);
  for (size_t i = 0; i < n; ++i) result[i] = v[i] != I32F32::Zero();
  if (n < k) return result;
  std::vector<uint32_t> idx(n);
  std::iota(idx.begin(), idx.end(), 0u);
  std::stable_sort(idx.begin(), idx.end(), [&v](uint32_t a, uint32_t b) { return v[a] < v[b]; });
  for (size_t r = 0; r < n - k; ++r) result[idx[r]] = false;
  return result;
}

void RowNormalize(SparseMatrix& m) {
  for (FixedRow& row : m) {
    I32F32 sum;
    for (const auto& [j, value] : row) sum += value;
    if (sum > I32F32::Zero()) {
      const FixedDivisor divisor(sum);
      for (auto& entry : row) entry.second = divisor.SafeDivide(entry.second);
    }
  }
}

void ColNormalize(SparseMatrix& m, uint32_t n) {
  std::vector<I32F32> col_sum(n);
  for (const FixedRow& row : m) {
    for (const auto& [j, value] : row) col_sum[j] += value;
  }
  const std::vector<FixedDivisor> divisors = ColumnDivisors(col_sum);
  for (FixedRow& row : m) {
    for (auto& [j, value] : row) {
      if (col_sum[j] != I32F32::Zero()) value = divisors[j].SafeDivide(value);
    }
  }
}

void ColMaxUpscale(SparseMatrix& m, uint32_t n) {
  std::vector<I32F32> col_max(n);
  for (const FixedRow& row : m) {
    for (const auto& [j, value] : row) {
      if (col_max[j] < value) col_max[j] = value;
    }
  }
  const std::vector<FixedDivisor> divisors = ColumnDivisors(col_max);
  for (FixedRow& row : m) {
    for (auto& [j, value] : row) {
      if (col_max[j] != I32F32::Zero()) value = divisors[j].SafeDivide(value);
    }
  }
}

std::vector<I32F32> RowSums(const SparseMatrix& m) {
  std::vector<I32F32> sums(m.size());
  for (size_t i = 0; i < m.size(); ++i) {
    for (const auto& [j, value] : m[i]) sums[i] += value;
  }
  return sums;
}

std::vector<I32F32> MatMul(const SparseMatrix& m, const std::vector<I32F32>& v, uint32_t n) {
  std::vector<I32F32> r(n);
  for (size_t i = 0; i < m.size(); ++i) {
    const I32F32 scale = v[i];
    for (const auto& [j, value] : m[i]) r[j] += scale.SaturatingMul(value);
  }
  return r;
}

std::vector<I32F32> MatMulTranspose(const SparseMatrix& m, const std::vector<I32F32>& v) {
  std::vector<I32F32> r(m.size());
  for (size_t i = 0; i < m.size(); ++i) {
    I32F32 acc;
    for (const auto& [j, value] : m[i]) acc += v[j].SaturatingMul(value);
    r[i] = acc;
  }
  return r;
}

SparseMatrix ColClip(const SparseMatrix& m, const std::vector<I32F32>& c) {
  SparseMatrix out(m.size());
  for (size_t i = 0; i < m.size(); ++i) {
    out[i].reserve(m[i].size());
    for (const auto& [j, value] : m[i]) {
      const I32F32 th = c[j];
      if (th < value) {
        if (th > I32F32::Zero()) out[i].emplace_back(j, th);
      } else {
        out[i].emplace_back(j, value);
      }
    }
  }
  return out;
}

SparseMatrix Interpolate(const SparseMatrix& a, const SparseMatrix& b, uint32_t n, I32F32 ratio) {
  if (ratio == I32F32::Zero()) return a;
  if (ratio == I32F32::One()) return b;
  SparseMatrix out(a.size());
  std::vector<I32F32> va(n), vb(n);
  std::vector<uint16_t> cols;
  auto interpolate = [ratio](I32F32 x, I32F32 y) {
    return x.SaturatingAdd(ratio.SaturatingMul(y.SaturatingSub(x)));
  };
  for (size_t i = 0; i < a.size(); ++i) {
    if (StrictlyAscending(a[i]) && StrictlyAscending(b[i])) {
      out[i].reserve(a[i].size());
      MergeRows(a[i], b[i], [&](uint16_t j, I32F32 x, I32F32 y) {
        const I32F32 v = interpolate(x, y);
        if (v > I32F32::Zero()) out[i].emplace_back(j, v);
      });
      continue;
    }
    // Unsorted rows (or a repeated uid): the chain's dense rebuild, where a later entry wins.
    cols.clear();
    for (const auto& [j, value] : a[i]) {
      va[j] = value;
      cols.push_back(j);
    }
    for (const auto& [j, value] : b[i]) {
      vb[j] = value;
      cols.push_back(j);
    }
    if (cols.empty()) continue;
    SortUnique(cols);
    out[i].reserve(cols.size());
    for (uint16_t j : cols) {
      const I32F32 v = interpolate(va[j], vb[j]);
      if (v > I32F32::Zero()) out[i].emplace_back(j, v);
      va[j] = vb[j] = I32F32::Zero();
    }
  }
  return out;
}

SparseMatrix EmaScalar(const SparseMatrix& fresh, const SparseMatrix& old, I32F32 alpha,
                       uint32_t n) {
  const I32F32 one_minus_alpha = I32F32::One().SaturatingSub(alpha);
  SparseMatrix out(fresh.size());
  std::vector<I32F32> acc(n);
  std::vector<uint16_t> cols;
  for (size_t i = 0; i < fresh.size(); ++i) {
    if (StrictlyAscending(fresh[i]) && StrictlyAscending(old[i])) {
      out[i].reserve(fresh[i].size() + old[i].size());
      MergeRows(fresh[i], old[i], [&](uint16_t j, I32F32 f, I32F32 o) {
        const I32F32 v = alpha.SaturatingMul(f).SaturatingAdd(one_minus_alpha.SaturatingMul(o));
        if (v > I32F32::Zero()) out[i].emplace_back(j, v);
      });
      continue;
    }
    // Unsorted rows: accumulate in a dense scratch row, as the chain does.
    cols.clear();
    for (const auto& [j, value] : fresh[i]) {
      acc[j] += alpha.SaturatingMul(value);
      cols.push_back(j);
    }
    for (const auto& [j, value] : old[i]) {
      acc[j] += one_minus_alpha.SaturatingMul(value);
      cols.push_back(j);
    }
    if (cols.empty()) continue;
    SortUnique(cols);
    out[i].reserve(cols.size());
    for (uint16_t j : cols) {
      if (acc[j] > I32F32::Zero()) out[i].emplace_back(j, acc[j]);
      acc[j] = I32F32::Zero();
    }
  }
  return out;
}

std::vector<I32F32> WeightedMedianColumns(const std::vector<I32F32>& active_stake,
                                          const SparseMatrix& weights, uint32_t n, I32F32 kappa) {
  std::vector<I32F32> median(n);
  // The rows with positive active stake, in uid order, and their stake normalized again.
  std::vector<uint32_t> rows;
  std::vector<I32F32> use_stake;
  for (uint32_t i = 0; i < active_stake.size(); ++i) {
    if (active_stake[i] > I32F32::Zero()) {
      rows.push_back(i);
      use_stake.push_back(active_stake[i]);
    }
  }
  const size_t m = rows.size();
  if (m == 0) return median;
  NormalizeInPlace(use_stake);
  const I32F32 sigma = Sum(use_stake);
  const I32F32 mu = sigma.SaturatingSub(kappa);

  // Column-major copy of the entries of those rows: (score, stake) per column.
  std::vector<uint32_t> start(n + 1, 0);
  for (uint32_t i : rows) {
    for (const auto& entry : weights[i]) ++start[entry.first + 1];
  }
  for (uint32_t j = 0; j < n; ++j) start[j + 1] += start[j];
  std::vector<std::pair<I32F32, I32F32>> cells(start[n]);
  {
    std::vector<uint32_t> fill(start.begin(), start.end() - 1);
    for (size_t k = 0; k < m; ++k) {
      for (const auto& [j, value] : weights[rows[k]]) cells[fill[j]++] = {value, use_stake[k]};
    }
  }

  for (uint32_t j = 0; j < n; ++j) {
    auto first = cells.begin() + start[j];
    auto last = cells.begin() + start[j + 1];
    if (m == 1) {  // a single score: the chain returns it as is
      median[j] = first == last ? I32F32::Zero() : first->first;
      continue;
    }
    // Scores of 0: the rows without an entry and explicit zeros.
    last = std::partition(first, last, [](const auto& c) { return c.first > I32F32::Zero(); });
    const size_t positives = static_cast<size_t>(last - first);
    I32F32 positive_stake;
    for (auto it = first; it != last; ++it) positive_stake += it->second;
    I32F32 cum = sigma.SaturatingSub(positive_stake);  // exact: the stake with score 0
    if (positives < m && cum > mu) continue;           // consensus 0
    if (positives == 0) continue;
    std::sort(first, last, [](const auto& x, const auto& y) { return x.first < y.first; });
    I32F32 result = (last - 1)->first;  // no score crosses mu: the largest
    for (auto it = first; it != last;) {
      const I32F32 score = it->first;
      for (; it != last && it->first == score; ++it) cum += it->second;
      if (cum > mu) {
        result = score;
        break;
      }
    }
    median[j] = result;
  }
  return median;
}

I32F32 WeightedMedianReference(const std::vector<I32F32>& stake, const std::vector<I32F32>& score,
                               I32F32 minority, I32F32 stake_sum) {
  std::vector<size_t> current(score.size());
  std::iota(current.begin(), current.end(), size_t{0});
  const size_t limit = current.size();
  I32F32 lo;
  I32F32 hi = stake_sum;
  std::vector<size_t> lower, upper;
  for (size_t iteration = 0;;) {
    const size_t count = current.size();
    if (count == 0) return I32F32::Zero();
    if (count == 1) return score[current[0]];
    const I32F32 pivot = score[current[count / 2]];
    I32F32 lo_stake, hi_stake;
    for (size_t idx : current) {
      if (score[idx] == pivot) continue;
      if (score[idx] < pivot) {
        lo_stake += stake[idx];
        lower.push_back(idx);
      } else {
        hi_stake += stake[idx];
        upper.push_back(idx);
      }
    }
    if (minority < lo.SaturatingAdd(lo_stake) && !lower.empty()) {
      current = lower;
      hi = lo.SaturatingAdd(lo_stake);
    } else if (hi.SaturatingSub(hi_stake) <= minority && !upper.empty()) {
      current = upper;
      lo = hi.SaturatingSub(hi_stake);
    } else {
      return pivot;
    }
    lower.clear();
    upper.clear();
    if (++iteration > limit) break;
  }
  return I32F32::Zero();
}

}  // namespace agora::chain::yuma_internal
