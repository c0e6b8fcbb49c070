#include "chain/state.h"

namespace agora::chain {

Amount HotkeyStake(const ChainState& state, const PublicKey& hotkey) {
  Amount total = 0;
  // Keys are ordered by (hotkey, coldkey): every coldkey of `hotkey` is contiguous.
  for (auto it = state.stake.lower_bound({hotkey, PublicKey{}});
       it != state.stake.end() && it->first.first == hotkey; ++it) {
    total += it->second;  // each entry <= kMaxAmount and issuance is capped: no wrap
  }
  return total;
}

Amount CirculatingTotal(const ChainState& state) {
  Amount total = 0;
  for (const auto& [key, account] : state.accounts) total += account.balance;
  for (const auto& [key, amount] : state.stake) total += amount;
  for (const auto& [netuid, subnet] : state.subnets) total += subnet.pending_emission;
  return total;
}

std::optional<Uid> FindUid(const SubnetState& subnet, const PublicKey& hotkey) {
  for (size_t i = 0; i < subnet.neurons.size(); ++i) {
    if (subnet.neurons[i].hotkey == hotkey) return static_cast<Uid>(i);
  }
  return std::nullopt;
}

Hash256 StateRoot(const ChainState& state) {
  msgpack::sbuffer buf;
  msgpack::pack(buf, state);
  return Blake2b256(absl::string_view(buf.data(), buf.size()));
}

}  // namespace agora::chain
