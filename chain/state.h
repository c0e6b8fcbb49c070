// The ledger state of agora-chain: accounts, stake, subnets and their
// neurons. Plain data with a canonical msgpack encoding (ordered maps only),
// so the same state always encodes to the same bytes and StateRoot() is a
// consensus value. Mutated only by chain/apply.h (transactions) and
// chain/block.h (block production, emission, epochs).
//
// Not thread-safe: the node owns one ChainState and serializes access.
#ifndef AGORA_CHAIN_STATE_H_
#define AGORA_CHAIN_STATE_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/msgpack.h"

#include "common/crypto.h"

namespace agora::chain {

using Amount = uint64_t;   // base units ("rao"); 1 AGORA = 1e9 base units
using NetUid = uint16_t;
using Uid = uint16_t;
using BlockHeight = uint64_t;

inline constexpr Amount kUnitsPerToken = 1'000'000'000;
// Largest amount any balance, stake or transfer may hold. Far below 2^64 so
// sums of a few amounts can be checked without wrapping (cf. Bitcoin's MAX_MONEY).
inline constexpr Amount kMaxAmount = 1'000'000'000ull * kUnitsPerToken;  // 1e18 base units
static_assert(kMaxAmount < UINT64_MAX / 2, "kMaxAmount must leave headroom for checked sums");

struct Account {
  Amount balance = 0;
  uint64_t nonce = 0;  // the nonce the account's next transaction must carry
  MSGPACK_DEFINE_MAP(balance, nonce)
};

struct AxonInfo {
  std::string endpoint;    // "tcp://host:port"; empty until served
  uint32_t version = 0;    // envelope protocol version spoken
  BlockHeight block = 0;   // block of the last serve_axon
  MSGPACK_DEFINE_MAP(endpoint, version, block)
};

struct WeightCommit {
  Hash256 hash{};
  BlockHeight block = 0;
  uint64_t epoch = 0;  // subnet epoch index when committed
  MSGPACK_DEFINE_MAP(hash, block, epoch)
};

using SparseRow = std::vector<std::pair<uint16_t, uint16_t>>;  // (uid, u16), storage order

// A hotkey's registered model (register_model, docs/CHAIN.md): the model its
// answers must name and that validators fetch from its miner. block == 0: none.
struct ModelRegistration {
  Hash256 content_hash{};   // the model's identity (miner/model.h content_hash())
  uint64_t size_bytes = 0;  // size of the model package a validator fetches
  std::string format;       // kModelFormat* (chain/state.h)
  Hash256 tokenizer_hash{};
  BlockHeight block = 0;    // block the registration landed in
  MSGPACK_DEFINE_MAP(content_hash, size_bytes, format, tokenizer_hash, block)
};
inline constexpr char kModelFormatAgoraGpt[] = "agora-gpt";
inline constexpr char kModelFormatTorchScript[] = "torchscript";
inline constexpr uint64_t kMaxModelBytes = 64ull << 30;  // registration sanity bound

struct Neuron {
  PublicKey hotkey{};
  PublicKey coldkey{};
  BlockHeight registered_at = 0;
  BlockHeight last_update = 0;
  AxonInfo axon;
  bool validator_permit = false;
  // Storage values written by the last epoch (yuma.md S13).
  bool active = false;
  uint16_t stake_weight = 0;
  uint16_t consensus = 0;
  uint16_t validator_trust = 0;
  uint16_t incentive = 0;
  uint16_t dividends = 0;
  Amount emission = 0;          // combined emission of the last epoch
  Amount server_emission = 0;   // paid as incentive
  Amount validator_emission = 0;  // paid as dividends
  SparseRow weights;
  SparseRow bonds;
  std::vector<WeightCommit> commits;  // pending commit-reveal commitments, oldest first
  BlockHeight last_weights_block = 0;  // for the set_weights rate limit
  ModelRegistration model;             // register_model; cleared when the uid is replaced
  MSGPACK_DEFINE_MAP(hotkey, coldkey, registered_at, last_update, axon, validator_permit, active,
                     stake_weight, consensus, validator_trust, incentive, dividends, emission,
                     server_emission, validator_emission, weights, bonds, commits,
                     last_weights_block, model)
};

// Per-subnet rules (yuma.md §2 and §7). Defaults are the devnet's.
struct SubnetParams {
  uint64_t tempo = 10;                 // blocks between epochs
  uint64_t activity_cutoff = 5000;
  uint16_t kappa = 32767;
  uint16_t bonds_penalty = 65535;
  uint64_t bonds_moving_average = 900000;
  bool yuma3 = true;
  bool liquid_alpha = false;
  uint16_t alpha_low = 45875;
  uint16_t alpha_high = 58982;
  int16_t alpha_sigmoid_steepness = 1000;
  uint16_t max_allowed_validators = 64;
  uint16_t max_allowed_uids = 256;
  uint64_t immunity_period = 5000;
  uint16_t min_non_immune_uids = 0;
  uint64_t stake_threshold = 0;
  uint16_t min_allowed_weights = 1;
  uint16_t max_weight_limit = 65535;
  uint64_t weights_set_rate_limit = 100;
  uint64_t weights_version = 0;
  bool commit_reveal = false;
  uint64_t reveal_period_epochs = 1;
  uint64_t serving_rate_limit = 50;
  uint16_t owner_cut = 11796;           // u16/65535 of each block's emission
  Amount emission_per_block = kUnitsPerToken;
  // Registration cost, adjusted toward target_regs_per_interval each adjustment_interval.
  Amount burn = kUnitsPerToken;
  Amount min_burn = kUnitsPerToken / 10;
  Amount max_burn = 100 * kUnitsPerToken;
  uint32_t pow_difficulty = 12;         // leading zero bits of the PoW hash
  uint32_t min_pow_difficulty = 4;
  uint32_t max_pow_difficulty = 40;
  uint32_t target_regs_per_interval = 4;
  uint64_t adjustment_interval = 100;
  uint32_t max_regs_per_block = 4;
  MSGPACK_DEFINE_MAP(tempo, activity_cutoff, kappa, bonds_penalty, bonds_moving_average, yuma3,
                     liquid_alpha, alpha_low, alpha_high, alpha_sigmoid_steepness,
                     max_allowed_validators, max_allowed_uids, immunity_period,
                     min_non_immune_uids, stake_threshold, min_allowed_weights, max_weight_limit,
                     weights_set_rate_limit, weights_version, commit_reveal, reveal_period_epochs,
                     serving_rate_limit, owner_cut, emission_per_block, burn, min_burn, max_burn,
                     pow_difficulty, min_pow_difficulty, max_pow_difficulty,
                     target_regs_per_interval, adjustment_interval, max_regs_per_block)
};

struct SubnetState {
  NetUid netuid = 0;
  std::string name;
  PublicKey owner_coldkey{};
  std::optional<PublicKey> owner_hotkey;  // its uid keeps its self-weight and permit
  SubnetParams params;
  std::vector<Neuron> neurons;            // index = uid
  BlockHeight last_mechanism_step_block = 0;
  BlockHeight last_epoch_block = 0;
  uint64_t epoch_index = 0;
  Amount pending_emission = 0;            // accrued since the last epoch, after the owner cut
  uint32_t regs_this_interval = 0;
  uint32_t regs_this_block = 0;
  BlockHeight regs_block = 0;             // block regs_this_block counts for
  BlockHeight last_adjustment_block = 0;
  MSGPACK_DEFINE_MAP(netuid, name, owner_coldkey, owner_hotkey, params, neurons,
                     last_mechanism_step_block, last_epoch_block, epoch_index, pending_emission,
                     regs_this_interval, regs_this_block, regs_block, last_adjustment_block)
};

inline constexpr size_t kRecentBlocks = 256;

struct ChainState {
  std::string chain_id;
  BlockHeight height = 0;             // the last sealed block
  uint64_t block_time_ms = 0;         // timestamp of the last sealed block
  Hash256 block_hash{};               // hash of the last sealed block
  Amount total_issuance = 0;
  std::map<PublicKey, Account> accounts;
  std::map<PublicKey, PublicKey> hotkey_owner;                  // hotkey -> coldkey
  std::map<std::pair<PublicKey, PublicKey>, Amount> stake;      // (hotkey, coldkey) -> amount
  std::map<NetUid, SubnetState> subnets;
  std::map<BlockHeight, Hash256> recent_blocks;                 // last kRecentBlocks hashes (PoW seeds)
  MSGPACK_DEFINE_MAP(chain_id, height, block_time_ms, block_hash, total_issuance, accounts,
                     hotkey_owner, stake, subnets, recent_blocks)
};

// Sum of every balance, stake and pending emission; always equals
// total_issuance (an invariant the tests check after every block).
Amount CirculatingTotal(const ChainState& state);
// Total stake on a hotkey (over all its coldkeys).
Amount HotkeyStake(const ChainState& state, const PublicKey& hotkey);
// The uid of `hotkey` on `subnet`, if registered there.
std::optional<Uid> FindUid(const SubnetState& subnet, const PublicKey& hotkey);
// BLAKE2b-256 of the canonical encoding: the state root stored with every block.
Hash256 StateRoot(const ChainState& state);

}  // namespace agora::chain

#endif  // AGORA_CHAIN_STATE_H_
