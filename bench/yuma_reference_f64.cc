#include "bench/yuma_reference_f64.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <string>
#include <utility>
#include <vector>

namespace agora::bench {
namespace {

using Matrix = std::vector<double>;  // row-major n x n

void Normalize(std::vector<double>& v) {
  const double sum = std::accumulate(v.begin(), v.end(), 0.0);
  if (sum == 0) return;
  for (double& x : v) x /= sum;
}

void ColNormalize(Matrix& m, size_t n) {
  std::vector<double> sum(n, 0.0);
  for (size_t i = 0; i < n; ++i) {
    for (size_t j = 0; j < n; ++j) sum[j] += m[i * n + j];
  }
  for (size_t i = 0; i < n; ++i) {
    for (size_t j = 0; j < n; ++j) {
      if (sum[j] != 0) m[i * n + j] /= sum[j];
    }
  }
}

uint64_t Amount(double share, uint64_t rao) {
  const double x = std::floor(share * static_cast<double>(rao));
  return x <= 0 ? 0 : static_cast<uint64_t>(x);
}

}  // namespace

EpochOutputF64 RunEpochF64(const chain::EpochInput& in) {
  const size_t n = in.n;
  EpochOutputF64 out;

  // S1 activity, S2 stake.
  std::vector<bool> active(n);
  for (size_t i = 0; i < n; ++i) {
    const bool overflow = in.last_update[i] > UINT64_MAX - in.activity_cutoff;
    active[i] = overflow || in.last_update[i] + in.activity_cutoff >= in.current_block;
  }
  std::vector<double> s(n);
  for (size_t i = 0; i < n; ++i) {
    const bool exempt = in.owner_uid.has_value() && *in.owner_uid == i;
    s[i] = (!exempt && in.stake[i] < in.stake_threshold) ? 0.0 : static_cast<double>(in.stake[i]);
  }
  Normalize(s);

  // S3 permits: top-k by stake among nonzero stake, lower uids lose ties.
  std::vector<bool> permit_old = in.validator_permit;
  std::vector<bool> permit_new(n);
  for (size_t i = 0; i < n; ++i) permit_new[i] = s[i] != 0;
  if (n >= in.max_allowed_validators) {
    std::vector<size_t> idx(n);
    std::iota(idx.begin(), idx.end(), size_t{0});
    std::stable_sort(idx.begin(), idx.end(), [&](size_t a, size_t b) { return s[a] < s[b]; });
    for (size_t r = 0; r < n - in.max_allowed_validators; ++r) permit_new[idx[r]] = false;
  }
  if (in.owner_uid.has_value()) {
    permit_old[*in.owner_uid] = true;
    permit_new[*in.owner_uid] = true;
  }

  // S4 active stake.
  std::vector<double> a = s;
  for (size_t i = 0; i < n; ++i) {
    if (!active[i] || !permit_old[i]) a[i] = 0;
  }
  Normalize(a);

  // S5 weights (dense), with a mask of the entries the sparse rows hold.
  Matrix w(n * n, 0.0);
  std::vector<uint8_t> present(n * n, 0);
  for (size_t i = 0; i < n; ++i) {
    if (!permit_old[i]) continue;
    const bool is_owner = in.owner_uid.has_value() && *in.owner_uid == i;
    double sum = 0;
    for (const auto& [j, value] : in.weights[i]) {
      if (j == i && !is_owner) continue;
      if (in.last_update[i] <= in.block_at_registration[j]) continue;
      if (!in.commit_block.empty() && in.commit_block[i] < in.block_at_registration[j]) continue;
      w[i * n + j] = value;
      present[i * n + j] = 1;
      sum += value;
    }
    if (sum > 0) {
      for (size_t j = 0; j < n; ++j) w[i * n + j] /= sum;
    }
  }

  // S6 consensus: smallest score whose cumulative (re-normalized, positive) stake exceeds
  // sigma - kappa.
  std::vector<size_t> rows;
  std::vector<double> use;
  for (size_t i = 0; i < n; ++i) {
    if (a[i] > 0) {
      rows.push_back(i);
      use.push_back(a[i]);
    }
  }
  Normalize(use);
  const double sigma = std::accumulate(use.begin(), use.end(), 0.0);
  const double mu = sigma - in.kappa / 65535.0;
  std::vector<double> c(n, 0.0);
  std::vector<std::pair<double, double>> col(rows.size());
  for (size_t j = 0; j < n && !rows.empty(); ++j) {
    for (size_t k = 0; k < rows.size(); ++k) col[k] = {w[rows[k] * n + j], use[k]};
    std::sort(col.begin(), col.end());
    double cum = 0;
    c[j] = col.back().first;
    for (size_t k = 0; k < col.size();) {
      const double score = col[k].first;
      for (; k < col.size() && col[k].first == score; ++k) cum += col[k].second;
      if (cum > mu) {
        c[j] = score;
        break;
      }
    }
  }

  // S7 clip, S8 validator trust, S9 incentive.
  Matrix clipped(n * n);
  std::vector<double> vt(n, 0.0), ranks(n, 0.0);
  for (size_t i = 0; i < n; ++i) {
    for (size_t j = 0; j < n; ++j) {
      const double v = std::min(w[i * n + j], c[j]);
      clipped[i * n + j] = v;
      vt[i] += v;
      ranks[j] += a[i] * v;
    }
  }
  std::vector<double> incentive = ranks;
  Normalize(incentive);

  // S10 weights for bonds (reuse w), and which entries the sparse W^b holds.
  const double beta = in.bonds_penalty / 65535.0;
  for (size_t k = 0; k < n * n; ++k) {
    const double wb = w[k] + beta * (clipped[k] - w[k]);
    if (in.bonds_penalty == 0) {
      // W^b is W: present entries stay present.
    } else if (in.bonds_penalty == 65535) {
      if (c[k % n] == 0 && w[k] > 0) present[k] = 0;  // clipped away
    } else {
      present[k] = wb > 0;
    }
    w[k] = wb;
  }
  Matrix& wb = w;

  // S11 bonds and dividends.
  const uint64_t last_tempo = in.last_mechanism_step_block != 0
                                  ? in.last_mechanism_step_block + 1
                                  : (in.current_block > in.tempo ? in.current_block - in.tempo : 0);
  Matrix& bonds = clipped;  // reuse
  std::fill(bonds.begin(), bonds.end(), 0.0);
  for (size_t i = 0; i < n; ++i) {
    for (const auto& [j, b] : in.bonds[i]) {
      if (last_tempo <= in.block_at_registration[j]) continue;
      bonds[i * n + j] = in.yuma3 ? b / 65535.0 : static_cast<double>(b);
    }
  }
  const double alpha = 1.0 - static_cast<double>(in.bonds_moving_average) / 1e6;
  std::vector<double> dividends(n, 0.0);
  std::vector<uint16_t> stored(n * n, 0);
  auto to_u16 = [](double x) {
    return static_cast<uint16_t>(std::clamp(std::floor(x * 65535.0), 0.0, 65535.0));
  };
  if (!in.yuma3) {
    ColNormalize(bonds, n);
    Matrix delta(n * n);
    for (size_t i = 0; i < n; ++i) {
      for (size_t j = 0; j < n; ++j) delta[i * n + j] = wb[i * n + j] * a[i];
    }
    ColNormalize(delta, n);
    for (size_t k = 0; k < n * n; ++k) bonds[k] = alpha * delta[k] + (1 - alpha) * bonds[k];
    ColNormalize(bonds, n);
    for (size_t i = 0; i < n; ++i) {
      for (size_t j = 0; j < n; ++j) dividends[i] += bonds[i * n + j] * incentive[j];
    }
    std::vector<double> col_max(n, 0.0);
    for (size_t k = 0; k < n * n; ++k) col_max[k % n] = std::max(col_max[k % n], bonds[k]);
    for (size_t k = 0; k < n * n; ++k) {
      if (col_max[k % n] > 0) stored[k] = to_u16(bonds[k] / col_max[k % n]);
    }
  } else {
    const bool liquid =
        in.liquid_alpha && std::any_of(c.begin(), c.end(), [](double x) { return x != 0; });
    const double low = in.alpha_low / 65535.0, high = in.alpha_high / 65535.0;
    const double k = in.alpha_sigmoid_steepness / 100.0;
    for (size_t i = 0; i < n; ++i) {
      for (size_t j = 0; j < n; ++j) {
        const size_t e = i * n + j;
        if (!liquid) {
          bonds[e] = alpha * wb[e] + (1 - alpha) * bonds[e];
        } else if (!present[e]) {
          bonds[e] = 0;
        } else {
          const double x = wb[e] >= bonds[e] ? std::clamp(wb[e] - c[j], 0.0, 1.0)
                                             : std::clamp(bonds[e] - wb[e], 0.0, 1.0);
          const double z = std::clamp(-k * (x - 0.5), -20.0, 20.0);
          const double al = std::clamp(low + (high - low) / (1 + std::exp(z)), low, high);
          bonds[e] = std::min(1.0, (1 - al) * bonds[e] + std::max(0.0, al * wb[e]));
        }
      }
    }
    Matrix normalized = bonds;
    ColNormalize(normalized, n);
    for (size_t i = 0; i < n; ++i) {
      double total = 0;
      for (size_t j = 0; j < n; ++j) total += normalized[i * n + j] * incentive[j];
      dividends[i] = a[i] * total;
    }
    for (size_t k = 0; k < n * n; ++k) stored[k] = to_u16(bonds[k]);
  }
  for (size_t i = 0; i < n; ++i) {
    if (!permit_new[i]) std::fill(stored.begin() + i * n, stored.begin() + (i + 1) * n, 0);
  }
  Normalize(dividends);

  // S12 emission.
  double esum = 0;
  for (size_t i = 0; i < n; ++i) esum += incentive[i] + dividends[i];
  std::vector<double> server(n, 0.0), validator(n, 0.0), combined(n, 0.0);
  if (esum > 0) {
    for (size_t i = 0; i < n; ++i) {
      server[i] = incentive[i] / esum;
      validator[i] = dividends[i] / esum;
      combined[i] = (incentive[i] + dividends[i]) / esum;
    }
  } else {
    const bool any_active = std::any_of(a.begin(), a.end(), [](double x) { return x != 0; });
    validator = any_active ? a : s;
    combined = validator;
  }
  out.server_emission.resize(n);
  out.validator_emission.resize(n);
  out.emission.resize(n);
  for (size_t i = 0; i < n; ++i) {
    out.server_emission[i] = Amount(server[i], in.rao_emission);
    out.validator_emission[i] = Amount(validator[i], in.rao_emission);
    out.emission[i] = Amount(combined[i], in.rao_emission);
  }
  out.new_validator_permit = std::move(permit_new);
  out.stake_normalized = std::move(s);
  out.active_stake = std::move(a);
  out.consensus = std::move(c);
  out.validator_trust = std::move(vt);
  out.incentive = std::move(incentive);
  out.dividends = std::move(dividends);
  out.ema_bonds = std::move(bonds);
  out.bonds_u16 = std::move(stored);
  return out;
}

F64Agreement CompareWithF64(const chain::EpochOutput& fixed, const EpochOutputF64& ref) {
  F64Agreement r;
  const size_t n = fixed.stake_normalized.size();
  auto proportion = [&](const char* field, size_t i, double x, double y) {
    const double d = std::abs(x - y);
    if (d > r.max_proportion_diff) {
      r.max_proportion_diff = d;
      r.worst_proportion = std::string(field) + "[" + std::to_string(i) + "]";
    }
  };
  auto vec = [&](const char* field, const std::vector<chain::I32F32>& x,
                 const std::vector<double>& y) {
    for (size_t i = 0; i < n; ++i) proportion(field, i, x[i].ToDouble(), y[i]);
  };
  auto amounts = [&](const char* field, const std::vector<uint64_t>& x,
                     const std::vector<uint64_t>& y) {
    for (size_t i = 0; i < n; ++i) {
      const double d = std::abs(static_cast<double>(x[i]) - static_cast<double>(y[i]));
      if (d > r.max_amount_diff) {
        r.max_amount_diff = d;
        r.worst_amount = std::string(field) + "[" + std::to_string(i) + "]";
      }
    }
  };
  for (size_t i = 0; i < n; ++i) {
    if (fixed.new_validator_permit[i] != ref.new_validator_permit[i]) {
      proportion("new_validator_permit", i, 0, 1);
    }
  }
  vec("stake_normalized", fixed.stake_normalized, ref.stake_normalized);
  vec("active_stake", fixed.active_stake, ref.active_stake);
  vec("consensus", fixed.consensus, ref.consensus);
  vec("validator_trust", fixed.validator_trust, ref.validator_trust);
  vec("incentive", fixed.incentive, ref.incentive);
  vec("dividends", fixed.dividends, ref.dividends);
  std::vector<double> dense(n * n, 0.0);
  std::vector<uint16_t> dense_u16(n * n, 0);
  for (size_t i = 0; i < n; ++i) {
    for (const auto& [j, v] : fixed.ema_bonds[i]) dense[i * n + j] = v.ToDouble();
    for (const auto& [j, v] : fixed.bonds_u16[i]) dense_u16[i * n + j] = v;
  }
  for (size_t k = 0; k < n * n; ++k) {
    const std::string where = "[" + std::to_string(k / n) + "][" + std::to_string(k % n) + "]";
    const double d = std::abs(dense[k] - ref.ema_bonds[k]);
    if (d > r.max_bond_diff) {
      r.max_bond_diff = d;
      r.worst_bond = "ema_bonds" + where;
    }
    const double du =
        std::abs(static_cast<double>(dense_u16[k]) - static_cast<double>(ref.bonds_u16[k]));
    if (du > r.max_bond_u16_diff) {
      r.max_bond_u16_diff = du;
      r.worst_bond_u16 = "bonds_u16" + where;
    }
  }
  amounts("server_emission", fixed.server_emission, ref.server_emission);
  amounts("validator_emission", fixed.validator_emission, ref.validator_emission);
  amounts("emission", fixed.emission, ref.emission);
  return r;
}

}  // namespace agora::bench
