// Properties that hold for every input: conservation of emission, ranges, symmetry under a
// relabelling of uids, no NaN, and agreement with an independent float64 implementation.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "bench/epoch_subnet.h"
#include "bench/yuma_reference_f64.h"
#include "chain/epoch_json.h"
#include "chain/fixed_point.h"
#include "chain/yuma.h"
#include "tests/chain/yuma_test_util.h"

namespace agora::chain {
namespace {

uint64_t TestSeed() {
  const char* env = std::getenv("AGORA_TEST_SEED");
  return env != nullptr ? std::strtoull(env, nullptr, 10) : 20260630;
}

// A random small subnet in one of the modes, with random parameters around the defaults.
EpochInput RandomSubnet(std::mt19937_64& rng) {
  bench::SubnetSpec spec;
  spec.n = 8 + rng() % 56;
  spec.validators = 1 + rng() % std::min<uint32_t>(spec.n, 24);
  spec.yuma3 = rng() % 2 == 0;
  spec.liquid_alpha = spec.yuma3 && rng() % 2 == 0;
  spec.bonds_penalty = std::vector<uint16_t>{0, 65535, 65535, 32768, 1000}[rng() % 5];
  spec.full_below = rng() % 2 == 0 ? 0 : 64;  // sometimes every uid, sometimes 10-25%
  spec.min_density = 0.3;
  spec.max_density = 0.6;
  spec.seed = rng();
  EpochInput in = bench::MakeSubnet(spec);
  if (rng() % 3 == 0) in.owner_uid = static_cast<uint16_t>(rng() % in.n);
  if (rng() % 3 == 0) in.stake_threshold = 1'000'000'000'000ull;
  if (rng() % 4 == 0) in.kappa = static_cast<uint16_t>(rng() % 65536);
  in.rao_emission = rng() % 4 == 0 ? rng() : 1'000'000'000ull * (1 + rng() % 1000);
  return in;
}

uint64_t Sum(const std::vector<uint64_t>& v) {
  uint64_t s = 0;
  for (uint64_t x : v) s += x;
  return s;
}

TEST(YumaInvariantsTest, EmissionNeverExceedsTheAmountAndProportionsStayInRange) {
  const uint64_t seed = TestSeed();
  SCOPED_TRACE("AGORA_TEST_SEED=" + std::to_string(seed));
  std::mt19937_64 rng(seed);
  for (int trial = 0; trial < 150; ++trial) {
    SCOPED_TRACE("trial " + std::to_string(trial));
    const EpochInput in = RandomSubnet(rng);
    absl::StatusOr<EpochOutput> out = RunEpoch(in);
    ASSERT_TRUE(out.ok()) << out.status();
    const unsigned __int128 paid =
        static_cast<unsigned __int128>(Sum(out->server_emission)) + Sum(out->validator_emission);
    EXPECT_LE(paid, in.rao_emission);
    EXPECT_LE(Sum(out->emission), in.rao_emission);
    for (const auto* v : {&out->stake_normalized, &out->active_stake, &out->consensus,
                          &out->validator_trust, &out->incentive, &out->dividends}) {
      I32F32 total;
      for (I32F32 x : *v) {
        EXPECT_GE(x, I32F32::Zero());
        EXPECT_LE(x, I32F32::One());
        total += x;
      }
      if (v != &out->consensus && v != &out->validator_trust) {
        EXPECT_LE(total, I32F32::One());
      }
    }
    for (uint32_t i = 0; i < in.n; ++i) {
      if (!out->new_validator_permit[i]) {
        EXPECT_TRUE(out->bonds_u16[i].empty());
      }
      if (in.yuma3) {
        for (const auto& [j, b] : out->ema_bonds[i]) EXPECT_LE(b, I32F32::One());
      }
    }
  }
}

// The float64 dense implementation in bench/ follows the spec independently; one epoch lands
// within 1e-6 of the fixed-point result on every per-uid proportion (yuma.md §1).
TEST(YumaInvariantsTest, AgreesWithTheFloat64Reference) {
  const uint64_t seed = TestSeed();
  SCOPED_TRACE("AGORA_TEST_SEED=" + std::to_string(seed));
  std::mt19937_64 rng(seed + 1);
  for (int trial = 0; trial < 60; ++trial) {
    SCOPED_TRACE("trial " + std::to_string(trial));
    const EpochInput in = RandomSubnet(rng);
    absl::StatusOr<EpochOutput> out = RunEpoch(in);
    ASSERT_TRUE(out.ok()) << out.status();
    const bench::F64Agreement agreement = bench::CompareWithF64(*out, bench::RunEpochF64(in));
    EXPECT_LE(agreement.max_proportion_diff, 1e-6) << agreement.worst_proportion;
    EXPECT_LE(agreement.max_amount_diff, 1e-6 * static_cast<double>(in.rao_emission) + 2)
        << agreement.worst_amount;
  }
}

// Relabelling the uids relabels every output and changes nothing else (stakes distinct, so
// the top-k has no ties; rows stay sorted by uid as storage keeps them).
TEST(YumaInvariantsTest, PermutingUidsPermutesOutputs) {
  const uint64_t seed = TestSeed();
  SCOPED_TRACE("AGORA_TEST_SEED=" + std::to_string(seed));
  std::mt19937_64 rng(seed + 2);
  for (int trial = 0; trial < 40; ++trial) {
    SCOPED_TRACE("trial " + std::to_string(trial));
    EpochInput in = RandomSubnet(rng);
    // Only validators hold stake (1e12..1e14, distinct), so no two normalized stakes tie.
    for (uint32_t i = 0; i < in.n; ++i) {
      if (in.stake[i] < 1'000'000'000'000ull) in.stake[i] = 0;
    }
    std::vector<uint16_t> perm(in.n);
    std::iota(perm.begin(), perm.end(), uint16_t{0});
    std::shuffle(perm.begin(), perm.end(), rng);
    EpochInput p = in;
    auto relabel = [&](const std::vector<U16Row>& rows) {
      std::vector<U16Row> out(in.n);
      for (uint32_t i = 0; i < in.n; ++i) {
        for (const auto& [j, v] : rows[i]) out[perm[i]].emplace_back(perm[j], v);
        std::sort(out[perm[i]].begin(), out[perm[i]].end());
      }
      return out;
    };
    for (uint32_t i = 0; i < in.n; ++i) {
      p.stake[perm[i]] = in.stake[i];
      p.last_update[perm[i]] = in.last_update[i];
      p.block_at_registration[perm[i]] = in.block_at_registration[i];
      p.validator_permit[perm[i]] = in.validator_permit[i];
    }
    p.weights = relabel(in.weights);
    p.bonds = relabel(in.bonds);
    if (in.owner_uid.has_value()) p.owner_uid = perm[*in.owner_uid];
    absl::StatusOr<EpochOutput> a = RunEpoch(in);
    absl::StatusOr<EpochOutput> b = RunEpoch(p);
    ASSERT_TRUE(a.ok() && b.ok());
    std::vector<I32F32> nonzero;
    for (I32F32 s : a->stake_normalized) {
      if (s != I32F32::Zero()) nonzero.push_back(s);
    }
    std::sort(nonzero.begin(), nonzero.end());
    ASSERT_EQ(std::adjacent_find(nonzero.begin(), nonzero.end()), nonzero.end());
    auto as_map = [](const FixedRow& row, const std::vector<uint16_t>* relabel_by) {
      std::map<uint16_t, int64_t> m;
      for (const auto& [j, v] : row) m[relabel_by ? (*relabel_by)[j] : j] = v.raw();
      return m;
    };
    for (uint32_t i = 0; i < in.n; ++i) {
      const uint32_t k = perm[i];
      ASSERT_EQ(a->new_validator_permit[i], b->new_validator_permit[k]) << i;
      EXPECT_EQ(a->stake_normalized[i], b->stake_normalized[k]);
      EXPECT_EQ(a->active_stake[i], b->active_stake[k]);
      EXPECT_EQ(a->consensus[i], b->consensus[k]) << i;
      EXPECT_EQ(a->validator_trust[i], b->validator_trust[k]);
      EXPECT_EQ(a->incentive[i], b->incentive[k]);
      EXPECT_EQ(a->dividends[i], b->dividends[k]);
      EXPECT_EQ(a->emission[i], b->emission[k]);
      EXPECT_EQ(a->server_emission[i], b->server_emission[k]);
      EXPECT_EQ(a->validator_emission[i], b->validator_emission[k]);
      EXPECT_EQ(as_map(a->weights_normalized[i], &perm), as_map(b->weights_normalized[k], nullptr));
      EXPECT_EQ(as_map(a->ema_bonds[i], &perm), as_map(b->ema_bonds[k], nullptr));
    }
  }
}

TEST(YumaInvariantsTest, AllZeroWeightsGiveNoNaN) {
  EpochInput in = SmallSubnet(5);
  in.stake = {10, 20, 0, 0, 0};
  in.validator_permit = {true, true, false, false, false};
  in.weights[0] = {{2, 0}, {3, 0}};
  in.weights[1] = {{4, 0}};
  in.bonds[0] = {{2, 0}};
  for (bool yuma3 : {false, true}) {
    in.yuma3 = yuma3;
    in.liquid_alpha = yuma3;
    absl::StatusOr<EpochOutput> out = RunEpoch(in);
    ASSERT_TRUE(out.ok());
    EXPECT_EQ(out->weights_normalized[0].size(), 2u);  // explicit zeros stay
    for (I32F32 c : out->consensus) EXPECT_EQ(c, I32F32::Zero());
    EXPECT_EQ(Sum(out->server_emission), 0u);
    EXPECT_EQ(out->validator_emission[0], in.rao_emission / 3);  // by active stake 1/3, 2/3
    const std::string json = EpochOutputToJson(*out).dump();
    EXPECT_EQ(json.find("nan"), std::string::npos);
    EXPECT_EQ(json.find("null"), std::string::npos);
  }
}

TEST(YumaInvariantsTest, EmptySubnet) {
  EpochInput in = SmallSubnet(0);
  absl::StatusOr<EpochOutput> out = RunEpoch(in);
  ASSERT_TRUE(out.ok());
  EXPECT_TRUE(out->emission.empty());
}

}  // namespace
}  // namespace agora::chain
