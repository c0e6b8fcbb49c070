// Fuzz target: a stored ChainState snapshot, decoded as Ledger::Open loads it
// (protocol::Decode<ChainState> with the same limits). Whatever decodes must
// re-encode to the same bytes; then the state must survive what a restart
// does next, sealing a block: a corrupt but decodable snapshot may be
// refused with a status, never crash the node.
#include <cstdint>
#include <cstdlib>

#include "chain/block.h"
#include "chain/state.h"
#include "protocol/codec.h"

namespace {
// The limits Ledger::Open decodes snapshots with (chain/ledger.cc).
const agora::protocol::DecodeLimits kSnapshotLimits{1u << 24, 1u << 24, 1u << 20, 1u << 20, 0, 32};
constexpr size_t kMaxInput = 256 * 1024;
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace agora::chain;
  if (size > kMaxInput) return 0;
  const absl::string_view bytes(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<ChainState> state =
      agora::protocol::Decode<ChainState>(bytes, "ChainState", kSnapshotLimits);
  if (!state.ok()) return 0;
  if (agora::protocol::Encode(*state) != bytes) std::abort();
  (void)StateRoot(*state);
  (void)CirculatingTotal(*state);
  for (const auto& [netuid, subnet] : state->subnets) {
    for (const Neuron& n : subnet.neurons) (void)HotkeyStake(*state, n.hotkey);
  }
  // A block on top (the epoch may run): an inconsistent state is refused by
  // RunEpoch's input checks, as Internal.
  absl::StatusOr<BlockReport> r = SealBlock(*state, state->block_time_ms + 1, agora::Hash256{});
  if (!r.ok() && r.status().code() != absl::StatusCode::kInternal) std::abort();
  return 0;
}
