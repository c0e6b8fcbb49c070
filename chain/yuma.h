// Yuma Consensus: one subnet epoch as a pure function.
//
// RunEpoch turns the state one epoch reads (stake, weights, bonds, permits, blocks, parameters)
// into the values the epoch writes (consensus, incentive, dividends, bonds, emission, ...). It
// follows shared/design/yuma.md (steps S1-S13 of the reference chain's sparse `epoch` path) bit
// for bit: all arithmetic is the fixed point of chain/fixed_point.h, so every node computes the
// same bits. docs/YUMA.md maps each step to the code.
//
// RunEpoch reads no clock, RNG, file, log or global; it is safe to call from many threads at
// once. It allocates O(n + number of weight/bond entries) memory and runs in
// O((n + entries) log n) time: no n x n matrix is ever built.
#ifndef AGORA_CHAIN_YUMA_H_
#define AGORA_CHAIN_YUMA_H_

#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "chain/fixed_point.h"

namespace agora::chain {

// Largest subnet RunEpoch accepts (uids are u16 on chain).
inline constexpr uint32_t kMaxEpochUids = 65535;

// A stored sparse row: (uid, u16 value) pairs, in storage order.
using U16Row = std::vector<std::pair<uint16_t, uint16_t>>;
// A sparse row of fixed-point values: (uid, value) pairs.
using FixedRow = std::vector<std::pair<uint16_t, I32F32>>;

// Everything one epoch reads. Field names and meanings follow shared/design/yuma-io.md; the
// defaults are the reference chain's (yuma.md §2).
struct EpochInput {
  uint32_t n = 0;  // number of uids, 0..n-1
  uint64_t current_block = 0;
  uint64_t tempo = 360;
  uint64_t activity_cutoff = 5000;
  uint64_t last_mechanism_step_block = 0;  // block of the last epoch, 0 if none
  uint16_t kappa = 32767;                  // kappa / 65535
  uint16_t bonds_penalty = 65535;          // beta / 65535
  uint64_t bonds_moving_average = 900000;  // parts per 1e6; alpha = 1 - bma / 1e6
  bool yuma3 = false;
  bool liquid_alpha = false;  // used only when yuma3
  uint16_t alpha_low = 45875;
  uint16_t alpha_high = 58982;
  int16_t alpha_sigmoid_steepness = 1000;
  uint16_t max_allowed_validators = 64;  // K of the top-k permit selection
  uint64_t stake_threshold = 0;          // raw stake units; the owner is exempt
  std::optional<uint16_t> owner_uid;
  uint64_t rao_emission = 0;

  // Per uid (length n each).
  std::vector<uint64_t> stake;  // raw stake
  std::vector<uint64_t> last_update;
  std::vector<uint64_t> block_at_registration;
  std::vector<bool> validator_permit;  // permits stored by the previous epoch
  std::vector<U16Row> weights;         // stored rows, max-upscaled u16, in storage order
  std::vector<U16Row> bonds;           // classic: column-max-upscaled; yuma3: floor(B*65535)

  // Commit-reveal (yuma.md S5.4): per uid, the smallest commit block among its non-expired
  // commits, or UINT64_MAX for none. Empty means commit-reveal is off (the JSON contract has
  // no commits). Weight (i,j) is dropped when commit_block[i] < block_at_registration[j].
  std::vector<uint64_t> commit_block;
};

// Everything one epoch computes. Proportions are I32F32 (print raw / 2^32); *_u16 are the
// storage values; amounts are u64 base units.
struct EpochOutput {
  std::vector<bool> active;
  std::vector<I32F32> stake_normalized;  // s (S2)
  std::vector<I32F32> active_stake;      // a (S4)
  std::vector<bool> new_validator_permit;
  std::vector<FixedRow> weights_normalized;  // W after masks and row normalization (S5)
  std::vector<I32F32> consensus;             // C (S6)
  std::vector<I32F32> validator_trust;       // VT (S8)
  std::vector<I32F32> incentive;             // I (S9)
  std::vector<I32F32> dividends;             // D (S11)
  // The EMA bonds B' of S11: classic, column-normalized (before the max-upscale for storage);
  // yuma3, the absolute proportions. Every row, whatever its new permit.
  std::vector<FixedRow> ema_bonds;
  std::vector<uint16_t> stake_weight_u16;
  std::vector<uint16_t> consensus_u16;
  std::vector<uint16_t> validator_trust_u16;
  std::vector<uint16_t> incentive_u16;
  std::vector<uint16_t> dividends_u16;
  // Bonds as stored (S13): row i is the u16 of B' if new_validator_permit[i], else empty.
  std::vector<U16Row> bonds_u16;
  std::vector<uint64_t> server_emission;
  std::vector<uint64_t> validator_emission;
  std::vector<uint64_t> emission;  // combined, as stored in Emission
};

// Checks that `input` is well formed: n <= kMaxEpochUids, every per-uid vector has length n
// (commit_block 0 or n), owner_uid < n, every row entry has uid < n and no row repeats a uid,
// and the total stake fits I64F64 (< 2^63). Returns InvalidArgument naming the field, e.g.
// "weights[3][1]: uid 7 out of range (n = 5)".
absl::Status ValidateEpochInput(const EpochInput& input);

// Runs one epoch. Returns InvalidArgument (from ValidateEpochInput) for malformed input;
// otherwise the outputs, bit-exact with the reference chain.
absl::StatusOr<EpochOutput> RunEpoch(const EpochInput& input);

}  // namespace agora::chain

#endif  // AGORA_CHAIN_YUMA_H_
