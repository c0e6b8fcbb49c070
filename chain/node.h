// The agora-chain node: a Ledger served over the signed ZeroMQ transport,
// a block producer on a fixed interval, and a PUB socket announcing blocks.
// chain/chain_main.cc is a thin shell over RunChainNode().
#ifndef AGORA_CHAIN_NODE_H_
#define AGORA_CHAIN_NODE_H_

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/status.h"

namespace agora::chain {

struct ChainNodeOptions {
  std::string genesis_path = "configs/devnet.toml";
  std::string data_dir = ".devnet/chain";
  std::string endpoint = "tcp://127.0.0.1:9944";         // requests (ROUTER)
  std::string events_endpoint = "tcp://127.0.0.1:9945";  // block events (PUB)
  std::optional<uint64_t> block_interval_ms;            // overrides the genesis value
  int workers = 32;  // handler threads; submitters wait for group commits in them
  bool curve = true;
  uint64_t snapshot_every_blocks = 100;
};

// Runs the node until `*stop` becomes true (checked at least every 100 ms),
// then stops serving, seals nothing further and returns. The node's identity
// key is <data_dir>/node.key (created on first run); its URL,
// "<address>@<endpoint>", is written to <data_dir>/chain.url for clients.
absl::Status RunChainNode(const ChainNodeOptions& options, const std::atomic<bool>* stop);

}  // namespace agora::chain

#endif  // AGORA_CHAIN_NODE_H_
