// The registration proof of work (chain/tx.h RegisterTx): find a nonce whose
// PowHash has at least `difficulty` leading zero bits. Used by
// `agora register --pow`; a search runs on several threads for a bounded
// time, so the caller can report progress and move to a newer seed block
// between rounds (the work is memoryless, so nothing is lost by moving).
//
// Thread-safe: SolvePow keeps no state between calls; it starts and joins its
// own threads.
#ifndef AGORA_CLI_POW_SOLVER_H_
#define AGORA_CLI_POW_SOLVER_H_

#include <chrono>
#include <cstdint>
#include <optional>

#include "chain/state.h"
#include "common/crypto.h"

namespace agora::cli {

struct PowTask {
  chain::NetUid netuid = 0;
  PublicKey hotkey{};
  PublicKey coldkey{};   // the signer of the RegisterTx
  Hash256 block_hash{};  // hash of the seed block (RegisterTx.pow_block)
  uint32_t difficulty = 0;
};

struct PowRound {
  std::optional<uint64_t> nonce;  // a solution, if one was found
  uint64_t hashes = 0;            // hashes tried in this round
};

// Tries nonces first_nonce, first_nonce + 1, ... split over `threads` threads
// (at least 1) until one satisfies `task` or `budget` has passed. Any of
// several solutions found at once may be returned.
PowRound SolvePow(const PowTask& task, uint64_t first_nonce, std::chrono::milliseconds budget,
                  int threads);

// True iff `nonce` solves `task`.
bool CheckPow(const PowTask& task, uint64_t nonce);

}  // namespace agora::cli

#endif  // AGORA_CLI_POW_SOLVER_H_
