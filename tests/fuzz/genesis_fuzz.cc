// Fuzz target: the genesis config (chain/genesis.h ParseGenesis) on arbitrary
// text. A genesis that parses must describe a consistent state: its supply is
// what circulates, within the limit, and its encoding round-trips.
#include <cstdint>
#include <cstdlib>

#include "chain/genesis.h"
#include "chain/state.h"
#include "protocol/codec.h"

namespace {
// Far below the parser's own 4 MiB limit: big inputs only slow the fuzzer down.
constexpr size_t kMaxInput = 64 * 1024;
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace agora::chain;
  if (size > kMaxInput) return 0;
  const absl::string_view text(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<Genesis> g = ParseGenesis(text, "fuzz.toml");
  if (!g.ok()) {
    if (g.status().code() != absl::StatusCode::kInvalidArgument) std::abort();
    return 0;
  }
  const ChainState& s = g->state;
  if (s.chain_id.empty() || s.height != 0) std::abort();
  if (s.total_issuance > kMaxAmount || s.total_issuance != CirculatingTotal(s)) std::abort();
  if (g->block_interval_ms < 10) std::abort();
  for (const auto& [netuid, subnet] : s.subnets) {
    if (subnet.netuid != netuid || subnet.params.tempo == 0) std::abort();
    if (subnet.params.burn < subnet.params.min_burn || subnet.params.burn > subnet.params.max_burn) {
      std::abort();
    }
  }
  const std::string bytes = agora::protocol::Encode(s);
  absl::StatusOr<ChainState> again = agora::protocol::Decode<ChainState>(
      bytes, "ChainState", {1u << 24, 1u << 24, 1u << 20, 1u << 20, 0, 32});
  if (!again.ok() || StateRoot(*again) != StateRoot(s)) std::abort();
  return 0;
}
