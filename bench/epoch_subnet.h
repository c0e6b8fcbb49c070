// Deterministic random subnets for benchmarking and testing the Yuma epoch.
//
// MakeSubnet(spec) builds the state of a busy subnet from spec.seed alone:
//   - `validators` uids (chosen at random) hold 1e12..1e15 rao of stake and the previous
//     epoch's permits (K = validators); half of the other uids hold up to 1e9 rao;
//   - each uid has a hidden quality (u^3); each validator weights density*n uids (density
//     drawn in [min_density, max_density] per validator; every uid when n <= full_below),
//     sampled by quality, with values quality x U(0.7, 1.3) (3% explicit zeros) max-upscaled
//     to 65535 as set_weights stores them, rows sorted by uid; so validators broadly agree;
//   - a few validators are inactive, a few uids registered since the last epoch;
//   - bonds are those a first epoch on the same weights stores (so the timed epoch does a
//     real EMA), and permits are that epoch's.
// Pure function of the spec; thread-safe.
#ifndef AGORA_BENCH_EPOCH_SUBNET_H_
#define AGORA_BENCH_EPOCH_SUBNET_H_

#include <cstdint>

#include "chain/yuma.h"

namespace agora::bench {

struct SubnetSpec {
  uint32_t n = 256;
  uint32_t validators = 64;
  bool yuma3 = false;
  bool liquid_alpha = false;
  uint16_t bonds_penalty = 65535;
  double min_density = 0.10;
  double max_density = 0.25;
  uint32_t full_below = 256;  // n <= full_below: validators weight every uid
  uint64_t seed = 1;
};

chain::EpochInput MakeSubnet(const SubnetSpec& spec);

}  // namespace agora::bench

#endif  // AGORA_BENCH_EPOCH_SUBNET_H_
