// Which answers a validator re-runs, fixed before it asks (docs/VALIDATOR.md
// "Verification"): each epoch has a secret; every score record of the epoch
// carries the secret's commitment (BLAKE2b-256), the records of the next
// epoch reveal it, and the predict challenge re-run in step s is a function
// of (secret, s). Miners cannot know which answer will be checked (the
// secret is revealed only after the epoch); `agora-validator audit` can
// prove the validator checked what its committed secret selected, so a
// validator cannot choose after the fact whom to spare or to catch.
//
// Thread-safe: pure functions (NewCheckSecret reads the system's randomness).
#ifndef AGORA_VALIDATOR_CHECK_SEED_H_
#define AGORA_VALIDATOR_CHECK_SEED_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "common/msgpack.h"

namespace agora::validator {

// How a completion's selection for re-running is numbered within a step.
inline constexpr uint32_t kGenerateChallengeOrdinal = 0;  // the step's generate challenge
// The k-th organic sample (gateway answers) folded into a step: ordinal k >= 1.

// An epoch's secret, as kept in the validator's state file.
struct CheckSecret {
  uint64_t epoch = 0;
  std::string secret;  // 64 hex digits (32 random bytes); empty: none yet
  MSGPACK_DEFINE_MAP(epoch, secret)
};

// 32 fresh random bytes, as 64 hex digits.
std::string NewCheckSecret();
// Hex BLAKE2b-256 of the secret's 32 bytes; "" for a secret that is not 64
// hex digits.
std::string CheckCommitment(const std::string& secret_hex);
// The predict challenge (index in [0, challenges)) re-run in `step`:
// the first 8 bytes (little-endian) of BLAKE2b-256("agora-check-v1" ||
// secret bytes || step as 8 little-endian bytes), modulo `challenges`.
// 0 when challenges is 0 or the secret is malformed.
size_t CheckedChallenge(const std::string& secret_hex, uint64_t step, size_t challenges);
// Whether uid's completion `ordinal` of `step` is drawn for re-running, at
// rate `fraction`: the first 8 bytes (little-endian) of BLAKE2b-256(
// "agora-check-completion-v1" || secret bytes || step (8 bytes LE) ||
// ordinal (4 bytes LE) || uid (2 bytes LE)), over 2^64, are below fraction.
// fraction >= 1: always; <= 0 or a malformed secret: never. A miner not yet
// cleared by a verified completion is re-run whatever this says (validator.cc).
bool CompletionDrawn(const std::string& secret_hex, uint64_t step, uint32_t ordinal, uint16_t uid,
                     double fraction);

}  // namespace agora::validator

#endif  // AGORA_VALIDATOR_CHECK_SEED_H_
