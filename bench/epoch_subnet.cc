#include "bench/epoch_subnet.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <random>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "chain/yuma.h"

namespace agora::bench {

chain::EpochInput MakeSubnet(const SubnetSpec& spec) {
  std::mt19937_64 rng(spec.seed);
  auto uniform = [&rng](double lo, double hi) {
    return std::uniform_real_distribution<double>(lo, hi)(rng);
  };
  const uint32_t n = spec.n;
  const uint32_t validators = std::min(spec.validators, n);

  chain::EpochInput in;
  in.n = n;
  in.current_block = 100'000;
  in.tempo = 360;
  in.activity_cutoff = 5000;
  in.yuma3 = spec.yuma3;
  in.liquid_alpha = spec.liquid_alpha;
  in.bonds_penalty = spec.bonds_penalty;
  in.bonds_moving_average = spec.yuma3 ? 975'000 : 900'000;
  in.max_allowed_validators = static_cast<uint16_t>(validators);
  in.rao_emission = 360ull * 1'000'000'000ull;
  in.stake.assign(n, 0);
  in.last_update.assign(n, 0);
  in.block_at_registration.assign(n, 0);
  in.validator_permit.assign(n, false);
  in.weights.assign(n, {});
  in.bonds.assign(n, {});

  std::vector<uint32_t> uids(n);
  std::iota(uids.begin(), uids.end(), 0u);
  std::shuffle(uids.begin(), uids.end(), rng);
  std::vector<bool> is_validator(n, false);
  for (uint32_t k = 0; k < validators; ++k) is_validator[uids[k]] = true;

  for (uint32_t i = 0; i < n; ++i) {
    in.block_at_registration[i] = static_cast<uint64_t>(uniform(0, 90'000));
    if (rng() % 50 == 0) in.block_at_registration[i] = in.current_block - 100;  // new uid
    if (is_validator[i]) {
      in.stake[i] = static_cast<uint64_t>(std::pow(10.0, uniform(12, 14)));
      in.validator_permit[i] = true;
      // Most validators set weights recently; about 1 in 20 is past the activity cutoff.
      in.last_update[i] =
          rng() % 20 == 0 ? in.current_block - 6000 - rng() % 1000 : in.current_block - rng() % 400;
    } else {
      in.stake[i] = rng() % 2 == 0 ? rng() % 1'000'000'000 : 0;
      in.last_update[i] = in.block_at_registration[i];
    }
  }

  // Miners differ in quality; validators mostly agree on who is good (they weight the better
  // uids more often and more heavily, with their own noise), as on a live subnet.
  std::vector<double> quality(n);
  for (double& q : quality) q = std::pow(uniform(0.0, 1.0), 3.0) + 1e-3;
  std::vector<std::pair<double, uint16_t>> keys(n);
  for (uint32_t i = 0; i < n; ++i) {
    if (!is_validator[i]) continue;
    const double density = n <= spec.full_below ? 1.0 : uniform(spec.min_density, spec.max_density);
    const uint32_t count = std::max<uint32_t>(1, static_cast<uint32_t>(density * n));
    // Weighted sampling without replacement (Efraimidis-Spirakis): the count largest keys.
    for (uint32_t j = 0; j < n; ++j) {
      keys[j] = {std::log(uniform(1e-12, 1.0)) / quality[j], static_cast<uint16_t>(j)};
    }
    std::partial_sort(keys.begin(), keys.begin() + count, keys.end(),
                      [](const auto& x, const auto& y) { return x.first > y.first; });
    std::vector<uint16_t> targets(count);
    for (uint32_t k = 0; k < count; ++k) targets[k] = keys[k].second;
    std::sort(targets.begin(), targets.end());
    std::vector<double> raw(count);
    for (uint32_t k = 0; k < count; ++k) {
      raw[k] = uniform(0, 1) < 0.03 ? 0.0 : quality[targets[k]] * uniform(0.7, 1.3);
    }
    const double max = std::max(*std::max_element(raw.begin(), raw.end()), 1e-9);
    chain::U16Row& row = in.weights[i];
    row.reserve(count);
    for (uint32_t k = 0; k < count; ++k) {
      if (targets[k] == i) continue;  // validators do not weight themselves
      row.emplace_back(targets[k], static_cast<uint16_t>(std::lround(raw[k] / max * 65535)));
    }
  }

  // One epoch on this state gives realistic stored bonds and permits for the next.
  absl::StatusOr<chain::EpochOutput> first = chain::RunEpoch(in);
  if (first.ok()) {
    in.bonds = first->bonds_u16;
    in.validator_permit = first->new_validator_permit;
    in.last_mechanism_step_block = in.current_block;
    in.current_block += in.tempo;
    for (uint32_t i = 0; i < n; ++i) {
      if (is_validator[i] && in.last_update[i] + 5000 >= in.current_block - in.tempo) {
        in.last_update[i] = in.current_block - 1 - rng() % 300;  // weights set again
      }
      if (rng() % 50 == 0) in.block_at_registration[i] = in.current_block - 50;  // replaced uid
    }
  }
  return in;
}

}  // namespace agora::bench
