// The block half of the chain's state transition: sealing a block, accruing
// each subnet's emission, running Yuma Consensus epochs when due, and
// adjusting registration costs. Pure: the timestamp and the block's
// transaction root are parameters; no clock, no I/O.
#ifndef AGORA_CHAIN_BLOCK_H_
#define AGORA_CHAIN_BLOCK_H_

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "chain/state.h"
#include "chain/yuma.h"

namespace agora::chain {

struct EpochReport {
  NetUid netuid = 0;
  uint64_t epoch_index = 0;  // index of the epoch that ran
  Amount distributed = 0;    // server + validator emission paid
};

struct BlockReport {
  BlockHeight height = 0;
  uint64_t timestamp_ms = 0;
  Hash256 block_hash{};
  Hash256 state_root{};
  uint32_t tx_count = 0;  // set by the caller that knows the block's transactions
  std::vector<EpochReport> epochs;
};

// Seals block state.height + 1 containing the transactions already applied
// (committed to by `tx_root`): accrues emission, runs due epochs, adjusts
// registration, records the new block hash. Fails only on an internal error
// (an epoch input the chain itself built being rejected), which is a bug.
absl::StatusOr<BlockReport> SealBlock(ChainState& state, uint64_t timestamp_ms,
                                      const Hash256& tx_root);

// The epoch input for `subnet` at `block` (exposed for tests and queries).
EpochInput BuildEpochInput(const ChainState& state, const SubnetState& subnet, BlockHeight block);

// BLAKE2b-256 over the ordered transaction hashes of a block (zero hash for none).
Hash256 TxRoot(const std::vector<Hash256>& tx_hashes);

}  // namespace agora::chain

#endif  // AGORA_CHAIN_BLOCK_H_
