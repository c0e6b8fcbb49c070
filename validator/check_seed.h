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

}  // namespace agora::validator

#endif  // AGORA_VALIDATOR_CHECK_SEED_H_
