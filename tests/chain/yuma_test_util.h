// Helpers shared by the Yuma tests: small hand-built subnets.
#ifndef AGORA_TESTS_CHAIN_YUMA_TEST_UTIL_H_
#define AGORA_TESTS_CHAIN_YUMA_TEST_UTIL_H_

#include <cstdint>
#include <optional>
#include <vector>

#include "chain/fixed_point.h"
#include "chain/yuma.h"

namespace agora::chain {

// n uids, all registered at block 0 and updated at block 99, current block 100, no stake, no
// permits, no weights or bonds, 1e9 rao to distribute, K = n.
inline EpochInput SmallSubnet(uint32_t n) {
  EpochInput in;
  in.n = n;
  in.current_block = 100;
  in.tempo = 10;
  in.activity_cutoff = 50;
  in.rao_emission = 1'000'000'000;
  in.max_allowed_validators = static_cast<uint16_t>(n);
  in.stake.assign(n, 0);
  in.last_update.assign(n, 99);
  in.block_at_registration.assign(n, 0);
  in.validator_permit.assign(n, false);
  in.weights.assign(n, {});
  in.bonds.assign(n, {});
  return in;
}

inline I32F32 Prop(double x) { return I32F32::FromDouble(x); }

// The value at uid j of a sparse row, or nullopt.
inline std::optional<I32F32> At(const FixedRow& row, uint16_t j) {
  for (const auto& [k, v] : row) {
    if (k == j) return v;
  }
  return std::nullopt;
}

}  // namespace agora::chain

#endif  // AGORA_TESTS_CHAIN_YUMA_TEST_UTIL_H_
