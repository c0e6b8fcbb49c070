// Genesis configuration of agora-chain (configs/devnet.toml is an example):
// chain id, block interval, initial balances and subnets with their rules.
// Unknown keys, wrong types, bad addresses and out-of-range values are
// refused with InvalidArgument naming the key, e.g. "subnets[0].params.tempo".
#ifndef AGORA_CHAIN_GENESIS_H_
#define AGORA_CHAIN_GENESIS_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "chain/state.h"

namespace agora::chain {

struct Genesis {
  ChainState state;                 // height 0, balances and subnets set
  uint64_t block_interval_ms = 1000;
  Hash256 hash{};                   // BLAKE2b-256 of the genesis text: identifies the chain
};

// Parses genesis TOML text. `source` names the file in error messages.
absl::StatusOr<Genesis> ParseGenesis(absl::string_view toml_text, absl::string_view source);
// Reads and parses a genesis file.
absl::StatusOr<Genesis> LoadGenesis(const std::string& path);

}  // namespace agora::chain

#endif  // AGORA_CHAIN_GENESIS_H_
