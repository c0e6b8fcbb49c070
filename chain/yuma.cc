#include "chain/yuma.h"

#include <cstdint>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_format.h"
#include "chain/fixed_point.h"
#include "chain/yuma_bonds.h"
#include "chain/yuma_math.h"

namespace agora::chain {
namespace {

using yuma_internal::SparseMatrix;

absl::Status CheckLength(std::string_view field, size_t size, uint32_t n) {
  if (size == n) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrFormat("%s: length %d, expected n = %d", field, size, n));
}

// Every uid of every row is < n and appears once in its row.
absl::Status CheckRows(std::string_view field, const std::vector<U16Row>& rows, uint32_t n) {
  std::vector<uint32_t> seen_in_row(n, UINT32_MAX);
  for (uint32_t i = 0; i < rows.size(); ++i) {
    for (size_t k = 0; k < rows[i].size(); ++k) {
      const uint16_t j = rows[i][k].first;
      if (j >= n) {
        return absl::InvalidArgumentError(
            absl::StrFormat("%s[%d][%d]: uid %d out of range (n = %d)", field, i, k, j, n));
      }
      if (seen_in_row[j] == i) {
        return absl::InvalidArgumentError(
            absl::StrFormat("%s[%d][%d]: duplicate uid %d in the row", field, i, k, j));
      }
      seen_in_row[j] = i;
    }
  }
  return absl::OkStatus();
}

// S2: stake below the threshold (except the owner's) is ignored; the rest is normalized in
// I64F64 and truncated to I32F32.
std::vector<I32F32> NormalizedStake(const EpochInput& in) {
  const uint32_t n = in.n;
  std::vector<I64F64> s64(n);
  I64F64 total;
  for (uint32_t i = 0; i < n; ++i) {
    const I64F64 raw = I64F64::FromUint(in.stake[i]);
    const bool exempt = in.owner_uid.has_value() && *in.owner_uid == i;
    s64[i] = (!exempt && raw.ToU64Saturating() < in.stake_threshold) ? I64F64::Zero() : raw;
    total = total.SaturatingAdd(s64[i]);
  }
  std::vector<I32F32> s(n);
  for (uint32_t i = 0; i < n; ++i) {
    s[i] = (total == I64F64::Zero() ? s64[i] : s64[i].SafeDiv(total)).ToI32F32();
  }
  return s;
}

// S5: the stored weights as integers, without the rows of unpermitted validators, the
// diagonal (except the owner's self-weight), weights set before the target registered, and
// (with commit-reveal) weights committed before it registered; then row-normalized.
SparseMatrix MaskedWeights(const EpochInput& in, const std::vector<bool>& permit_old) {
  const uint32_t n = in.n;
  const bool commit_reveal = !in.commit_block.empty();
  SparseMatrix w(n);
  for (uint32_t i = 0; i < n; ++i) {
    if (!permit_old[i]) continue;
    const bool is_owner = in.owner_uid.has_value() && *in.owner_uid == i;
    w[i].reserve(in.weights[i].size());
    for (const auto& [j, value] : in.weights[i]) {
      if (j == i && !is_owner) continue;
      const uint64_t registered = in.block_at_registration[j];
      if (in.last_update[i] <= registered) continue;
      if (commit_reveal && in.commit_block[i] < registered) continue;
      w[i].emplace_back(j, I32F32::FromInt(value));
    }
  }
  yuma_internal::RowNormalize(w);
  return w;
}

uint64_t AmountOf(I32F32 share, uint64_t rao_emission) {
  return I96F32::FromI32F32(share).SaturatingMul(I96F32::FromUint(rao_emission)).ToU64Saturating();
}

std::vector<uint16_t> ToU16(const std::vector<I32F32>& v) {
  std::vector<uint16_t> out(v.size());
  for (size_t i = 0; i < v.size(); ++i) out[i] = yuma_internal::ProportionToU16(v[i]);
  return out;
}

}  // namespace

absl::Status ValidateEpochInput(const EpochInput& in) {
  const uint32_t n = in.n;
  if (n > kMaxEpochUids) {
    return absl::InvalidArgumentError(
        absl::StrFormat("n: %d exceeds the limit of %d uids", n, kMaxEpochUids));
  }
  for (const auto& [field, size] : {std::pair<std::string_view, size_t>{"stake", in.stake.size()},
                                    {"last_update", in.last_update.size()},
                                    {"block_at_registration", in.block_at_registration.size()},
                                    {"validator_permit", in.validator_permit.size()},
                                    {"weights", in.weights.size()},
                                    {"bonds", in.bonds.size()}}) {
    if (absl::Status s = CheckLength(field, size, n); !s.ok()) return s;
  }
  if (!in.commit_block.empty()) {
    if (absl::Status s = CheckLength("commit_block", in.commit_block.size(), n); !s.ok()) {
      return s;
    }
  }
  if (in.owner_uid.has_value() && *in.owner_uid >= n) {
    return absl::InvalidArgumentError(
        absl::StrFormat("owner_uid: uid %d out of range (n = %d)", *in.owner_uid, n));
  }
  if (absl::Status s = CheckRows("weights", in.weights, n); !s.ok()) return s;
  if (absl::Status s = CheckRows("bonds", in.bonds, n); !s.ok()) return s;
  // The stake is normalized in I64F64, whose integer part is 63 bits.
  uint64_t total = 0;
  for (uint32_t i = 0; i < n; ++i) {
    if (__builtin_add_overflow(total, in.stake[i], &total) ||
        total > static_cast<uint64_t>(INT64_MAX)) {
      return absl::InvalidArgumentError(
          absl::StrFormat("stake[%d]: total stake exceeds 2^63 - 1", i));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<EpochOutput> RunEpoch(const EpochInput& in) {
  if (absl::Status s = ValidateEpochInput(in); !s.ok()) return s;
  namespace yi = yuma_internal;
  const uint32_t n = in.n;
  EpochOutput out;

  // S1 activity.
  out.active.resize(n);
  for (uint32_t i = 0; i < n; ++i) {
    uint64_t horizon = 0;
    if (__builtin_add_overflow(in.last_update[i], in.activity_cutoff, &horizon)) {
      horizon = UINT64_MAX;
    }
    out.active[i] = !(horizon < in.current_block);
  }

  // S2 stake, S3 permits.
  out.stake_normalized = NormalizedStake(in);
  const std::vector<I32F32>& s = out.stake_normalized;
  std::vector<bool> permit_old = in.validator_permit;
  out.new_validator_permit = yi::TopKNonzero(s, in.max_allowed_validators);
  if (in.owner_uid.has_value()) {
    permit_old[*in.owner_uid] = true;
    out.new_validator_permit[*in.owner_uid] = true;
  }

  // S4 active stake: masking uses the previous epoch's permits.
  out.active_stake = s;
  for (uint32_t i = 0; i < n; ++i) {
    if (!out.active[i] || !permit_old[i]) out.active_stake[i] = I32F32::Zero();
  }
  yi::NormalizeInPlace(out.active_stake);
  const std::vector<I32F32>& a = out.active_stake;

  // S5 weights, S6 consensus, S7 clip, S8 validator trust, S9 incentive.
  SparseMatrix weights = MaskedWeights(in, permit_old);
  const I32F32 kappa = yi::U16ToProportion(in.kappa);
  out.consensus = yi::WeightedMedianColumns(a, weights, n, kappa);
  const SparseMatrix clipped = yi::ColClip(weights, out.consensus);
  out.validator_trust = yi::RowSums(clipped);
  out.incentive = yi::MatMul(clipped, a, n);
  yi::NormalizeInPlace(out.incentive);

  // S10 weights for bonds, S11 bonds and dividends.
  const I32F32 beta = yi::U16ToProportion(in.bonds_penalty);
  const SparseMatrix weights_for_bonds = yi::Interpolate(weights, clipped, n, beta);
  uint64_t last_tempo = 0;
  if (in.last_mechanism_step_block != 0) {
    last_tempo =
        in.last_mechanism_step_block == UINT64_MAX ? UINT64_MAX : in.last_mechanism_step_block + 1;
  } else {
    last_tempo = in.current_block > in.tempo ? in.current_block - in.tempo : 0;
  }
  yi::BondsResult bonds =
      yi::ComputeBonds(in, weights_for_bonds, a, out.consensus, out.incentive, last_tempo);
  out.dividends = std::move(bonds.dividends);

  // S12 emission shares and amounts.
  std::vector<I32F32> combined(n);
  I32F32 emission_sum;
  for (uint32_t i = 0; i < n; ++i) {
    combined[i] = out.incentive[i].SaturatingAdd(out.dividends[i]);
    emission_sum += combined[i];
  }
  std::vector<I32F32> server_share = out.incentive;
  std::vector<I32F32> validator_share = out.dividends;
  yi::NormalizeUsingSum(server_share, emission_sum);
  yi::NormalizeUsingSum(validator_share, emission_sum);
  yi::NormalizeInPlace(combined);
  if (emission_sum == I32F32::Zero()) {
    // No effective weights: validators are paid by active stake, or by stake if none is active.
    const std::vector<I32F32>& fallback = yi::Sum(a) == I32F32::Zero() ? s : a;
    validator_share = fallback;
    combined = fallback;
  }
  out.server_emission.resize(n);
  out.validator_emission.resize(n);
  out.emission.resize(n);
  for (uint32_t i = 0; i < n; ++i) {
    out.server_emission[i] = AmountOf(server_share[i], in.rao_emission);
    out.validator_emission[i] = AmountOf(validator_share[i], in.rao_emission);
    out.emission[i] = AmountOf(combined[i], in.rao_emission);
  }

  // S13 storage values.
  out.stake_weight_u16 = ToU16(s);
  out.consensus_u16 = ToU16(out.consensus);
  out.validator_trust_u16 = ToU16(out.validator_trust);
  out.incentive_u16 = ToU16(out.incentive);
  out.dividends_u16 = ToU16(out.dividends);
  out.bonds_u16.resize(n);
  for (uint32_t i = 0; i < n; ++i) {
    if (!out.new_validator_permit[i]) continue;  // the sparse path stores an empty row
    out.bonds_u16[i].reserve(bonds.storage[i].size());
    for (const auto& [j, b] : bonds.storage[i]) {
      out.bonds_u16[i].emplace_back(j, yi::ProportionToU16(b));
    }
  }
  out.weights_normalized = std::move(weights);
  out.ema_bonds = std::move(bonds.ema);
  return out;
}

}  // namespace agora::chain
