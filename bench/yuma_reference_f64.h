// A straightforward float64 implementation of the Yuma epoch (shared/design/yuma.md), dense
// n x n matrices and libm, for two uses:
//   - the baseline that bench_epoch times chain::RunEpoch against, and
//   - an independent check: on one epoch it lands within about 1e-7 of the fixed-point result
//     on every proportion (yuma.md §1), which tests/chain/yuma_invariants_test.cc asserts.
// It follows the sparse production path's semantics where they matter (explicit zero weights,
// liquid alpha dropping bonds without a weight entry) by keeping a dense presence mask. It
// assumes rows sorted by uid (what storage holds). Not for consensus: floats are not bit-exact.
#ifndef AGORA_BENCH_YUMA_REFERENCE_F64_H_
#define AGORA_BENCH_YUMA_REFERENCE_F64_H_

#include <cstdint>
#include <string>
#include <vector>

#include "chain/yuma.h"

namespace agora::bench {

struct EpochOutputF64 {
  std::vector<bool> new_validator_permit;
  std::vector<double> stake_normalized;
  std::vector<double> active_stake;
  std::vector<double> consensus;
  std::vector<double> validator_trust;
  std::vector<double> incentive;
  std::vector<double> dividends;
  std::vector<double> ema_bonds;    // dense, row-major n x n (classic: column-normalized)
  std::vector<uint16_t> bonds_u16;  // dense, as stored (empty rows without a new permit)
  std::vector<uint64_t> server_emission;
  std::vector<uint64_t> validator_emission;
  std::vector<uint64_t> emission;
};

// Requires: chain::ValidateEpochInput(input) is OK. Memory: about 3 n^2 doubles.
EpochOutputF64 RunEpochF64(const chain::EpochInput& input);

// The largest differences between the fixed-point and the float64 outputs, each with the
// field where it occurred:
//   - proportions: the per-uid vectors (stake, active stake, consensus, validator trust,
//     incentive, dividends); a permit disagreement counts as 1.0;
//   - EMA bonds: every entry of the n x n matrix, as proportions;
//   - stored bonds: bonds_u16, in u16 units;
//   - amounts: server, validator and combined emission, in base units.
struct F64Agreement {
  double max_proportion_diff = 0;
  std::string worst_proportion;
  double max_bond_diff = 0;
  std::string worst_bond;
  double max_bond_u16_diff = 0;
  std::string worst_bond_u16;
  double max_amount_diff = 0;
  std::string worst_amount;
};
F64Agreement CompareWithF64(const chain::EpochOutput& fixed, const EpochOutputF64& ref);

}  // namespace agora::bench

#endif  // AGORA_BENCH_YUMA_REFERENCE_F64_H_
