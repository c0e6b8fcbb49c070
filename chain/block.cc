#include "chain/block.h"

#include <algorithm>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/wire.h"

namespace agora::chain {
namespace {

void Credit(ChainState& state, const Neuron& neuron, Amount amount) {
  if (amount == 0) return;
  // Emission is added to the neuron's own stake (hotkey, its coldkey), as
  // Bittensor adds emission to the hotkey's stake.
  state.stake[{neuron.hotkey, neuron.coldkey}] += amount;
}

absl::StatusOr<EpochReport> RunSubnetEpoch(ChainState& state, SubnetState& subnet,
                                           BlockHeight block) {
  const EpochInput input = BuildEpochInput(state, subnet, block);
  absl::StatusOr<EpochOutput> out = RunEpoch(input);
  if (!out.ok()) {
    return absl::InternalError(absl::StrCat("epoch of netuid ", subnet.netuid,
                                            " rejected its own input: ", out.status().message()));
  }
  EpochReport report{subnet.netuid, subnet.epoch_index, 0};
  for (size_t i = 0; i < subnet.neurons.size(); ++i) {
    Neuron& n = subnet.neurons[i];
    n.active = out->active[i];
    n.validator_permit = out->new_validator_permit[i];
    n.stake_weight = out->stake_weight_u16[i];
    n.consensus = out->consensus_u16[i];
    n.validator_trust = out->validator_trust_u16[i];
    n.incentive = out->incentive_u16[i];
    n.dividends = out->dividends_u16[i];
    n.bonds = out->bonds_u16[i];
    n.server_emission = out->server_emission[i];
    n.validator_emission = out->validator_emission[i];
    n.emission = out->emission[i];
    const Amount paid = n.server_emission + n.validator_emission;
    Credit(state, n, paid);
    report.distributed += paid;
  }
  // Floors leave a remainder; it stays pending for the next epoch, so nothing is lost.
  subnet.pending_emission -= std::min(subnet.pending_emission, report.distributed);
  subnet.last_mechanism_step_block = block;
  subnet.last_epoch_block = block;
  ++subnet.epoch_index;
  // Commits expire once the epoch they had to be revealed in has passed (yuma.md S5.4).
  for (Neuron& n : subnet.neurons) {
    std::erase_if(n.commits, [&](const WeightCommit& c) {
      return subnet.epoch_index > c.epoch + subnet.params.reveal_period_epochs;
    });
  }
  return report;
}

void AdjustRegistration(SubnetState& subnet, BlockHeight block) {
  SubnetParams& p = subnet.params;
  if (p.adjustment_interval == 0 || block < subnet.last_adjustment_block + p.adjustment_interval) {
    return;
  }
  const uint64_t regs = subnet.regs_this_interval, target = std::max<uint32_t>(1, p.target_regs_per_interval);
  // Move the burn toward the target rate: burn * (regs + target) / (2 * target).
  unsigned __int128 burn = static_cast<unsigned __int128>(p.burn) * (regs + target) / (2 * target);
  p.burn = static_cast<Amount>(std::clamp<unsigned __int128>(burn, p.min_burn, p.max_burn));
  if (regs > target && p.pow_difficulty < p.max_pow_difficulty) ++p.pow_difficulty;
  if (regs < target && p.pow_difficulty > p.min_pow_difficulty) --p.pow_difficulty;
  subnet.regs_this_interval = 0;
  subnet.last_adjustment_block = block;
}

}  // namespace

EpochInput BuildEpochInput(const ChainState& state, const SubnetState& subnet, BlockHeight block) {
  const SubnetParams& p = subnet.params;
  EpochInput in;
  in.n = static_cast<uint32_t>(subnet.neurons.size());
  in.current_block = block;
  in.tempo = p.tempo;
  in.activity_cutoff = p.activity_cutoff;
  in.last_mechanism_step_block = subnet.last_mechanism_step_block;
  in.kappa = p.kappa;
  in.bonds_penalty = p.bonds_penalty;
  in.bonds_moving_average = p.bonds_moving_average;
  in.yuma3 = p.yuma3;
  in.liquid_alpha = p.liquid_alpha;
  in.alpha_low = p.alpha_low;
  in.alpha_high = p.alpha_high;
  in.alpha_sigmoid_steepness = p.alpha_sigmoid_steepness;
  in.max_allowed_validators = p.max_allowed_validators;
  in.stake_threshold = p.stake_threshold;
  in.rao_emission = subnet.pending_emission;
  if (subnet.owner_hotkey) {
    if (std::optional<Uid> uid = FindUid(subnet, *subnet.owner_hotkey)) in.owner_uid = *uid;
  }
  for (const Neuron& n : subnet.neurons) {
    in.stake.push_back(HotkeyStake(state, n.hotkey));
    in.last_update.push_back(n.last_update);
    in.block_at_registration.push_back(n.registered_at);
    in.validator_permit.push_back(n.validator_permit);
    in.weights.push_back(n.weights);
    in.bonds.push_back(n.bonds);
    if (p.commit_reveal) {
      uint64_t first = UINT64_MAX;
      for (const WeightCommit& c : n.commits) first = std::min(first, c.block);
      in.commit_block.push_back(first);
    }
  }
  return in;
}

Hash256 TxRoot(const std::vector<Hash256>& tx_hashes) {
  if (tx_hashes.empty()) return Hash256{};
  std::string all;
  all.reserve(tx_hashes.size() * kHashBytes);
  for (const Hash256& h : tx_hashes) all.append(reinterpret_cast<const char*>(h.data()), h.size());
  return Blake2b256(all);
}

absl::StatusOr<BlockReport> SealBlock(ChainState& state, uint64_t timestamp_ms,
                                      const Hash256& tx_root) {
  const BlockHeight block = state.height + 1;
  BlockReport report;
  report.height = block;
  report.timestamp_ms = timestamp_ms;
  for (auto& [netuid, subnet] : state.subnets) {
    // Emission for this block, capped by the supply limit.
    Amount emission = subnet.params.emission_per_block;
    if (state.total_issuance >= kMaxAmount) {
      emission = 0;
    } else {
      emission = std::min(emission, kMaxAmount - state.total_issuance);
    }
    const Amount owner_cut = static_cast<Amount>(
        static_cast<unsigned __int128>(emission) * subnet.params.owner_cut / 65535);
    if (owner_cut > 0) state.accounts[subnet.owner_coldkey].balance += owner_cut;
    subnet.pending_emission += emission - owner_cut;
    state.total_issuance += emission;
    if (subnet.params.tempo > 0 && block >= subnet.last_epoch_block + subnet.params.tempo) {
      absl::StatusOr<EpochReport> epoch = RunSubnetEpoch(state, subnet, block);
      if (!epoch.ok()) return epoch.status();
      report.epochs.push_back(*epoch);
    }
    AdjustRegistration(subnet, block);
  }
  report.state_root = StateRoot(state);
  uint8_t numbers[16];
  wire::PutU64(numbers, block);
  wire::PutU64(numbers + 8, timestamp_ms);
  report.block_hash = Blake2b256(absl::StrCat(
      "agora-block-v1", AsStringView(state.block_hash),
      absl::string_view(reinterpret_cast<const char*>(numbers), sizeof(numbers)),
      AsStringView(tx_root), AsStringView(report.state_root)));
  state.height = block;
  state.block_time_ms = timestamp_ms;
  state.block_hash = report.block_hash;
  state.recent_blocks[block] = report.block_hash;
  while (state.recent_blocks.size() > kRecentBlocks) state.recent_blocks.erase(state.recent_blocks.begin());
  return report;
}

}  // namespace agora::chain
