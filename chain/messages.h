// Wire structs of the chain's query and submission protocol (served by
// agora-chain over the signed ZeroMQ transport; used by chain/client.h).
// docs/CHAIN.md "Query messages" describes each.
#ifndef AGORA_CHAIN_MESSAGES_H_
#define AGORA_CHAIN_MESSAGES_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "common/msgpack.h"

#include "chain/state.h"

namespace agora::chain {

struct TxSubmit {
  std::string tx;  // SignedTx encoding
  MSGPACK_DEFINE_MAP(tx)
};
struct TxReceiptMsg {
  Hash256 tx_hash{};
  BlockHeight block = 0;
  uint32_t index = 0;
  MSGPACK_DEFINE_MAP(tx_hash, block, index)
};

struct TxLookup {
  Hash256 tx_hash{};
  MSGPACK_DEFINE_MAP(tx_hash)
};
struct TxLookupReply {
  bool found = false;
  BlockHeight block = 0;
  uint32_t index = 0;
  MSGPACK_DEFINE_MAP(found, block, index)
};

// The transactions of one sealed block, in block order: what a service that
// must see payments as they land (a gateway crediting transfers to its
// account) reads after each BlockEvent. Height 0 (the genesis state) is not a
// block and is refused, as is any height not sealed yet (NotFound on the
// client). A block has no transaction-count limit, so a reply is one page of
// at most kBlockTxsPageBytes of transactions starting at index `start`;
// ChainClient::BlockTransactions fetches every page.
inline constexpr size_t kBlockTxsPageBytes = 4u << 20;  // half the default envelope limit
// The refusal detail for a height with no sealed block starts with this.
inline constexpr char kNoBlockPrefix[] = "no block ";
struct BlockTxsRequest {
  BlockHeight height = 0;
  uint32_t start = 0;  // index of the first transaction wanted (0 unless paging)
  MSGPACK_DEFINE_MAP(height, start)
};
struct BlockTxs {
  BlockHeight height = 0;
  Hash256 block_hash{};
  uint64_t timestamp_ms = 0;
  uint32_t tx_count = 0;         // transactions in the whole block
  uint32_t start = 0;            // index in the block of txs[0]
  std::vector<std::string> txs;  // SignedTx encodings, in block order
  MSGPACK_DEFINE_MAP(height, block_hash, timestamp_ms, tx_count, start, txs)
};

struct ChainStatusRequest {
  uint32_t detail = 0;  // reserved; 0
  MSGPACK_DEFINE_MAP(detail)
};
struct ChainStatus {
  std::string chain_id;
  Hash256 genesis_hash{};
  BlockHeight height = 0;
  Hash256 block_hash{};
  uint64_t block_time_ms = 0;
  uint64_t block_interval_ms = 0;
  Amount total_issuance = 0;
  std::string events_endpoint;  // PUB socket with BlockEvent messages
  std::vector<NetUid> subnets;
  MSGPACK_DEFINE_MAP(chain_id, genesis_hash, height, block_hash, block_time_ms, block_interval_ms,
                     total_issuance, events_endpoint, subnets)
};

struct AccountRequest {
  PublicKey address{};
  MSGPACK_DEFINE_MAP(address)
};
struct StakeEntry {
  PublicKey hotkey{};
  PublicKey coldkey{};
  Amount amount = 0;
  MSGPACK_DEFINE_MAP(hotkey, coldkey, amount)
};
struct AccountInfo {
  Amount balance = 0;
  uint64_t nonce = 0;
  std::vector<StakeEntry> stakes;  // as coldkey: its stakes; as hotkey: stake on it
  BlockHeight height = 0;
  MSGPACK_DEFINE_MAP(balance, nonce, stakes, height)
};

struct MetagraphRequest {
  NetUid netuid = 0;
  bool validators_only = false;  // only uids holding a validator permit
  bool include_weights = false;  // include each uid's stored weight row
  MSGPACK_DEFINE_MAP(netuid, validators_only, include_weights)
};
struct NeuronInfo {
  Uid uid = 0;
  PublicKey hotkey{};
  PublicKey coldkey{};
  Amount stake = 0;
  std::string axon_endpoint;
  uint32_t axon_version = 0;
  bool active = false;
  bool validator_permit = false;
  uint16_t stake_weight = 0;
  uint16_t rank = 0;  // = incentive: normalized rank (yuma.md §8 "Rank")
  uint16_t consensus = 0;
  uint16_t validator_trust = 0;
  uint16_t incentive = 0;
  uint16_t dividends = 0;
  Amount emission = 0;
  BlockHeight registered_at = 0;
  BlockHeight last_update = 0;
  uint32_t pending_commits = 0;
  SparseRow weights;  // empty unless include_weights
  ModelRegistration model;  // the uid's register_model (block 0: none)
  MSGPACK_DEFINE_MAP(uid, hotkey, coldkey, stake, axon_endpoint, axon_version, active,
                     validator_permit, stake_weight, rank, consensus, validator_trust, incentive,
                     dividends, emission, registered_at, last_update, pending_commits, weights,
                     model)
};
struct Metagraph {
  NetUid netuid = 0;
  std::string name;
  BlockHeight block = 0;
  SubnetParams params;
  uint64_t epoch_index = 0;
  BlockHeight last_epoch_block = 0;
  Amount pending_emission = 0;
  uint32_t n = 0;  // uids on the subnet (neurons may be a subset)
  std::vector<NeuronInfo> neurons;
  MSGPACK_DEFINE_MAP(netuid, name, block, params, epoch_index, last_epoch_block,
                     pending_emission, n, neurons)
};

// Published on the events socket (topic frame "block") after each block.
// Unsigned: a subscriber learns that something happened and queries the
// signed state for the facts.
struct EpochEvent {
  NetUid netuid = 0;
  uint64_t epoch_index = 0;
  Amount distributed = 0;
  MSGPACK_DEFINE_MAP(netuid, epoch_index, distributed)
};
struct BlockEvent {
  BlockHeight height = 0;
  Hash256 block_hash{};
  uint64_t timestamp_ms = 0;
  uint32_t tx_count = 0;
  std::vector<EpochEvent> epochs;
  MSGPACK_DEFINE_MAP(height, block_hash, timestamp_ms, tx_count, epochs)
};

}  // namespace agora::chain

#endif  // AGORA_CHAIN_MESSAGES_H_
