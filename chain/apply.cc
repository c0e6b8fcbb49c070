#include "chain/apply.h"

#include <algorithm>
#include <string>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "chain/fixed_point.h"
#include "chain/tx_reject.h"
#include "common/status_macros.h"
#include "protocol/codec.h"

namespace agora::chain {
namespace {

constexpr size_t kMaxPendingCommits = 10;
constexpr size_t kMaxEndpointBytes = 256;

template <typename T>
absl::StatusOr<T> DecodePayload(const TxBody& body) {
  absl::StatusOr<T> p = protocol::Decode<T>(body.payload, body.type);
  if (!p.ok()) return Reject(TxReject::kBadTx, p.status().message());
  return p;
}

absl::Status CheckAmount(Amount amount, absl::string_view field) {
  if (amount == 0 || amount > kMaxAmount) {
    return Reject(TxReject::kAmountInvalid,
                  absl::StrCat(field, ": ", amount, " (must be 1..", kMaxAmount, ")"));
  }
  return absl::OkStatus();
}

// a + b, refused if above kMaxAmount. Both inputs are <= kMaxAmount, so the sum cannot wrap.
absl::StatusOr<Amount> CheckedAdd(Amount a, Amount b, absl::string_view what) {
  if (a > kMaxAmount || b > kMaxAmount || a + b > kMaxAmount) {
    return Reject(TxReject::kOverflow, absl::StrCat(what, " would exceed ", kMaxAmount));
  }
  return a + b;
}

absl::StatusOr<SubnetState*> GetSubnet(ChainState& state, NetUid netuid) {
  auto it = state.subnets.find(netuid);
  if (it == state.subnets.end()) {
    return Reject(TxReject::kUnknownSubnet, absl::StrCat("netuid ", netuid));
  }
  return &it->second;
}

absl::StatusOr<Uid> GetUid(const SubnetState& subnet, const PublicKey& hotkey) {
  std::optional<Uid> uid = FindUid(subnet, hotkey);
  if (!uid) {
    return Reject(TxReject::kUnregisteredHotkey,
                  absl::StrCat("hotkey not registered on netuid ", subnet.netuid));
  }
  return *uid;
}

absl::Status ApplyTransfer(ChainState& state, const TxBody& body) {
  AGORA_ASSIGN_OR_RETURN(TransferTx tx, DecodePayload<TransferTx>(body));
  AGORA_RETURN_IF_ERROR(CheckAmount(tx.amount, "transfer.amount"));
  Account& from = state.accounts[body.signer];
  if (from.balance < tx.amount) {
    return Reject(TxReject::kInsufficientBalance,
                  absl::StrCat("balance ", from.balance, " < amount ", tx.amount));
  }
  if (tx.to == body.signer) return absl::OkStatus();
  const Amount to_balance = state.accounts.count(tx.to) ? state.accounts[tx.to].balance : 0;
  AGORA_ASSIGN_OR_RETURN(Amount new_to, CheckedAdd(to_balance, tx.amount, "recipient balance"));
  from.balance -= tx.amount;
  state.accounts[tx.to].balance = new_to;
  return absl::OkStatus();
}

absl::Status ApplyStake(ChainState& state, const TxBody& body, bool add) {
  AGORA_ASSIGN_OR_RETURN(StakeTx tx, DecodePayload<StakeTx>(body));
  AGORA_RETURN_IF_ERROR(CheckAmount(tx.amount, "stake.amount"));
  if (!state.hotkey_owner.count(tx.hotkey)) {
    return Reject(TxReject::kUnregisteredHotkey, "stake.hotkey was never registered");
  }
  Account& account = state.accounts[body.signer];
  const auto key = std::make_pair(tx.hotkey, body.signer);
  const Amount current = state.stake.count(key) ? state.stake[key] : 0;
  if (add) {
    if (account.balance < tx.amount) {
      return Reject(TxReject::kInsufficientBalance,
                    absl::StrCat("balance ", account.balance, " < stake ", tx.amount));
    }
    AGORA_ASSIGN_OR_RETURN(Amount new_stake, CheckedAdd(current, tx.amount, "stake"));
    account.balance -= tx.amount;
    state.stake[key] = new_stake;
  } else {
    if (current < tx.amount) {
      return Reject(TxReject::kInsufficientStake,
                    absl::StrCat("stake ", current, " < amount ", tx.amount));
    }
    AGORA_ASSIGN_OR_RETURN(Amount new_balance, CheckedAdd(account.balance, tx.amount, "balance"));
    account.balance = new_balance;
    if (current == tx.amount) {
      state.stake.erase(key);
    } else {
      state.stake[key] = current - tx.amount;
    }
  }
  return absl::OkStatus();
}

// Clears uid for a new hotkey (yuma.md §7 clear_neuron).
void ReplaceNeuron(SubnetState& subnet, Uid uid, const PublicKey& hotkey,
                   const PublicKey& coldkey, BlockHeight block) {
  Neuron fresh;
  fresh.hotkey = hotkey;
  fresh.coldkey = coldkey;
  fresh.registered_at = block;
  fresh.last_update = block;
  subnet.neurons[uid] = std::move(fresh);
  for (Neuron& n : subnet.neurons) {
    for (auto& [j, w] : n.weights) {
      if (j == uid) w = 0;
    }
  }
}

absl::Status ApplyRegister(ChainState& state, const TxBody& body, BlockHeight block) {
  AGORA_ASSIGN_OR_RETURN(RegisterTx tx, DecodePayload<RegisterTx>(body));
  AGORA_ASSIGN_OR_RETURN(SubnetState * subnet, GetSubnet(state, tx.netuid));
  if (FindUid(*subnet, tx.hotkey)) {
    return Reject(TxReject::kAlreadyRegistered, absl::StrCat("on netuid ", tx.netuid));
  }
  auto owner = state.hotkey_owner.find(tx.hotkey);
  if (owner != state.hotkey_owner.end() && owner->second != body.signer) {
    return Reject(TxReject::kNotOwner, "register.hotkey belongs to another coldkey");
  }
  const uint32_t regs_now = subnet->regs_block == block ? subnet->regs_this_block : 0;
  if (regs_now >= subnet->params.max_regs_per_block) {
    return Reject(TxReject::kRegistrationLimit,
                  absl::StrCat(regs_now, " registrations in block ", block, " (limit ",
                               subnet->params.max_regs_per_block, ")"));
  }
  Amount burn = 0;
  if (tx.pow) {
    auto seed = state.recent_blocks.find(tx.pow_block);
    if (seed == state.recent_blocks.end() || tx.pow_block + kPowMaxAge < block) {
      return Reject(TxReject::kBadPow, absl::StrCat("register.pow_block ", tx.pow_block,
                                                    " is not one of the last ", kPowMaxAge,
                                                    " blocks"));
    }
    const uint32_t bits = LeadingZeroBits(
        PowHash(tx.netuid, tx.hotkey, body.signer, seed->second, tx.pow_nonce));
    if (bits < subnet->params.pow_difficulty) {
      return Reject(TxReject::kBadPow, absl::StrCat(bits, " leading zero bits, difficulty ",
                                                    subnet->params.pow_difficulty));
    }
  } else {
    burn = subnet->params.burn;
    if (burn > tx.max_burn) {
      return Reject(TxReject::kBurnTooHigh,
                    absl::StrCat("burn is ", burn, ", register.max_burn ", tx.max_burn));
    }
    if (state.accounts[body.signer].balance < burn) {
      return Reject(TxReject::kInsufficientBalance,
                    absl::StrCat("balance ", state.accounts[body.signer].balance, " < burn ",
                                 burn));
    }
  }
  Uid uid;
  if (subnet->neurons.size() < subnet->params.max_allowed_uids) {
    uid = static_cast<Uid>(subnet->neurons.size());
    subnet->neurons.emplace_back();
  } else {
    std::optional<Uid> prune = NeuronToPrune(*subnet, block);
    if (!prune) {
      return Reject(TxReject::kRegistrationLimit, "subnet is full and no uid can be replaced");
    }
    uid = *prune;
  }
  ReplaceNeuron(*subnet, uid, tx.hotkey, body.signer, block);
  state.accounts[body.signer].balance -= burn;
  state.total_issuance -= burn;  // burned
  state.hotkey_owner[tx.hotkey] = body.signer;
  subnet->regs_this_block = regs_now + 1;
  subnet->regs_block = block;
  ++subnet->regs_this_interval;
  return absl::OkStatus();
}


absl::Status ApplyServeAxon(ChainState& state, const TxBody& body, BlockHeight block) {
  AGORA_ASSIGN_OR_RETURN(ServeAxonTx tx, DecodePayload<ServeAxonTx>(body));
  AGORA_ASSIGN_OR_RETURN(SubnetState * subnet, GetSubnet(state, tx.netuid));
  AGORA_ASSIGN_OR_RETURN(Uid uid, GetUid(*subnet, body.signer));
  AGORA_RETURN_IF_ERROR(CheckEndpoint(tx.endpoint));
  AxonInfo& axon = subnet->neurons[uid].axon;
  if (axon.block != 0 && axon.block + subnet->params.serving_rate_limit > block) {
    return Reject(TxReject::kRateLimited,
                  absl::StrCat("serve_axon again at block ",
                               axon.block + subnet->params.serving_rate_limit));
  }
  axon.endpoint = tx.endpoint;
  axon.version = tx.version;
  axon.block = block;
  return absl::OkStatus();
}

absl::Status ApplyRegisterModel(ChainState& state, const TxBody& body, BlockHeight block) {
  AGORA_ASSIGN_OR_RETURN(RegisterModelTx tx, DecodePayload<RegisterModelTx>(body));
  AGORA_ASSIGN_OR_RETURN(SubnetState * subnet, GetSubnet(state, tx.netuid));
  AGORA_ASSIGN_OR_RETURN(Uid uid, GetUid(*subnet, body.signer));
  AGORA_RETURN_IF_ERROR(CheckModel(tx));
  // The earlier registration owns a content hash on its subnet: a miner cannot
  // claim the model another miner registered.
  for (size_t i = 0; i < subnet->neurons.size(); ++i) {
    const ModelRegistration& other = subnet->neurons[i].model;
    if (i != uid && other.block != 0 && other.content_hash == tx.content_hash) {
      return Reject(TxReject::kModelTaken,
                    absl::StrCat("uid ", i, " registered this model in block ", other.block));
    }
  }
  ModelRegistration& model = subnet->neurons[uid].model;
  if (model.block != 0 && model.content_hash == tx.content_hash &&
      model.size_bytes == tx.size_bytes && model.format == tx.format &&
      model.tokenizer_hash == tx.tokenizer_hash) {
    return Reject(TxReject::kUnchanged,
                  absl::StrCat("uid ", uid, " registered this model in block ", model.block));
  }
  if (model.block != 0 && model.block + subnet->params.serving_rate_limit > block) {
    return Reject(TxReject::kRateLimited,
                  absl::StrCat("register_model again at block ",
                               model.block + subnet->params.serving_rate_limit));
  }
  model.content_hash = tx.content_hash;
  model.size_bytes = tx.size_bytes;
  model.format = std::move(tx.format);
  model.tokenizer_hash = tx.tokenizer_hash;
  model.block = block;
  return absl::OkStatus();
}

void StoreWeights(Neuron& neuron, const std::vector<uint16_t>& uids,
                  const std::vector<uint16_t>& weights, BlockHeight block) {
  const std::vector<uint16_t> up = MaxUpscale(weights);
  neuron.weights.clear();
  neuron.weights.reserve(uids.size());
  for (size_t k = 0; k < uids.size(); ++k) neuron.weights.emplace_back(uids[k], up[k]);
  neuron.last_update = block;
  neuron.last_weights_block = block;
}

absl::Status ApplySetWeights(ChainState& state, const TxBody& body, BlockHeight block) {
  AGORA_ASSIGN_OR_RETURN(SetWeightsTx tx, DecodePayload<SetWeightsTx>(body));
  AGORA_ASSIGN_OR_RETURN(SubnetState * subnet, GetSubnet(state, tx.netuid));
  AGORA_ASSIGN_OR_RETURN(Uid uid, GetUid(*subnet, body.signer));
  if (subnet->params.commit_reveal) {
    return Reject(TxReject::kCommitRevealRequired, "use commit_weights then reveal_weights");
  }
  if (tx.version_key < subnet->params.weights_version) {
    return Reject(TxReject::kVersionMismatch,
                  absl::StrCat("version_key ", tx.version_key, " < subnet's ",
                               subnet->params.weights_version));
  }
  Neuron& neuron = subnet->neurons[uid];
  if (neuron.last_weights_block != 0 &&
      neuron.last_weights_block + subnet->params.weights_set_rate_limit > block) {
    return Reject(TxReject::kRateLimited,
                  absl::StrCat("set_weights again at block ",
                               neuron.last_weights_block + subnet->params.weights_set_rate_limit));
  }
  AGORA_RETURN_IF_ERROR(CheckWeights(*subnet, uid, tx.uids, tx.weights));
  StoreWeights(neuron, tx.uids, tx.weights, block);
  return absl::OkStatus();
}

absl::Status ApplyCommitWeights(ChainState& state, const TxBody& body, BlockHeight block) {
  AGORA_ASSIGN_OR_RETURN(CommitWeightsTx tx, DecodePayload<CommitWeightsTx>(body));
  AGORA_ASSIGN_OR_RETURN(SubnetState * subnet, GetSubnet(state, tx.netuid));
  AGORA_ASSIGN_OR_RETURN(Uid uid, GetUid(*subnet, body.signer));
  if (!subnet->params.commit_reveal) {
    return Reject(TxReject::kCommitRevealDisabled, "use set_weights on this subnet");
  }
  Neuron& neuron = subnet->neurons[uid];
  if (neuron.commits.size() >= kMaxPendingCommits) {
    return Reject(TxReject::kRateLimited,
                  absl::StrCat(kMaxPendingCommits, " commits already pending"));
  }
  neuron.commits.push_back(WeightCommit{tx.commit_hash, block, subnet->epoch_index});
  neuron.last_update = block;
  return absl::OkStatus();
}

absl::Status ApplyRevealWeights(ChainState& state, const TxBody& body, BlockHeight block) {
  AGORA_ASSIGN_OR_RETURN(RevealWeightsTx tx, DecodePayload<RevealWeightsTx>(body));
  AGORA_ASSIGN_OR_RETURN(SubnetState * subnet, GetSubnet(state, tx.netuid));
  AGORA_ASSIGN_OR_RETURN(Uid uid, GetUid(*subnet, body.signer));
  if (!subnet->params.commit_reveal) {
    return Reject(TxReject::kCommitRevealDisabled, "use set_weights on this subnet");
  }
  Neuron& neuron = subnet->neurons[uid];
  if (neuron.commits.empty()) {
    // Expired commits are dropped at epoch boundaries (block.cc), so "none"
    // also covers a commit revealed too late: say so.
    return Reject(TxReject::kNoCommit,
                  absl::StrCat("nothing committed to reveal (a commit is revealable in epoch ",
                               "e + ", subnet->params.reveal_period_epochs,
                               " for a commit made in epoch e, and expires when that epoch ends)"));
  }
  const Hash256 hash = WeightsCommitHash(body.signer, tx.netuid, tx.uids, tx.weights, tx.salt,
                                         tx.version_key);
  auto commit = std::find_if(neuron.commits.begin(), neuron.commits.end(),
                             [&](const WeightCommit& c) { return c.hash == hash; });
  if (commit == neuron.commits.end()) {
    return Reject(TxReject::kCommitMismatch, "no pending commit matches these weights and salt");
  }
  const uint64_t reveal_epoch = commit->epoch + subnet->params.reveal_period_epochs;
  if (subnet->epoch_index < reveal_epoch) {
    return Reject(TxReject::kRevealTooEarly,
                  absl::StrCat("reveal in epoch ", reveal_epoch, " (now ", subnet->epoch_index,
                               ")"));
  }
  if (tx.version_key < subnet->params.weights_version) {
    return Reject(TxReject::kVersionMismatch,
                  absl::StrCat("version_key ", tx.version_key, " < subnet's ",
                               subnet->params.weights_version));
  }
  AGORA_RETURN_IF_ERROR(CheckWeights(*subnet, uid, tx.uids, tx.weights));
  neuron.commits.erase(commit);
  StoreWeights(neuron, tx.uids, tx.weights, block);
  return absl::OkStatus();
}

}  // namespace

absl::Status CheckEndpoint(const std::string& endpoint) {
  if (endpoint.size() > kMaxEndpointBytes || !absl::StartsWith(endpoint, "tcp://")) {
    return Reject(TxReject::kBadEndpoint, "serve_axon.endpoint must be tcp://host:port");
  }
  const size_t colon = endpoint.rfind(':');
  uint32_t port = 0;
  if (colon <= 6 || !absl::SimpleAtoi(endpoint.substr(colon + 1), &port) || port == 0 ||
      port > 65535) {
    return Reject(TxReject::kBadEndpoint, "serve_axon.endpoint has no valid port");
  }
  for (char c : endpoint) {
    if (c <= ' ' || c > '~') return Reject(TxReject::kBadEndpoint, "serve_axon.endpoint: bad byte");
  }
  return absl::OkStatus();
}

absl::Status CheckModel(const RegisterModelTx& tx) {
  if (tx.format != kModelFormatAgoraGpt && tx.format != kModelFormatTorchScript) {
    return Reject(TxReject::kBadModel, absl::StrCat("register_model.format must be ",
                                                    kModelFormatAgoraGpt, " or ",
                                                    kModelFormatTorchScript));
  }
  if (tx.content_hash == Hash256{}) {
    return Reject(TxReject::kBadModel, "register_model.content_hash is all zero");
  }
  if (tx.size_bytes == 0 || tx.size_bytes > kMaxModelBytes) {
    return Reject(TxReject::kBadModel, absl::StrCat("register_model.size_bytes: ", tx.size_bytes,
                                                    " (must be 1..", kMaxModelBytes, ")"));
  }
  return absl::OkStatus();
}

std::vector<uint16_t> MaxUpscale(const std::vector<uint16_t>& weights) {
  const uint64_t m = weights.empty() ? 0 : *std::max_element(weights.begin(), weights.end());
  if (m == 0) return weights;
  std::vector<uint16_t> out(weights.size());
  if (m > 32768) {
    // yuma.md §7: above 32768 the chain computes the ratio 65535/m in I32F32
    // first (truncated), then v·ratio (floored), then rounds; v·65535 would
    // not fit I32F32. The truncated ratio rounds some exact halves down
    // (32767 of 65534 -> 32767, where exact arithmetic gives 32768).
    const I32F32 ratio = I32F32::FromUint(65535).SafeDiv(I32F32::FromUint(m));
    for (size_t k = 0; k < weights.size(); ++k) {
      out[k] = I32F32::FromUint(weights[k]).SaturatingMul(ratio).Round().ToU16Saturating();
    }
    return out;
  }
  // round(v·65535/m) computed exactly: the chain's I32F32 quotient is truncated
  // to 2^-32, which never crosses a rounding boundary of N/m with m <= 32768.
  for (size_t k = 0; k < weights.size(); ++k) {
    out[k] = static_cast<uint16_t>((uint64_t{weights[k]} * 65535 * 2 + m) / (2 * m));
  }
  return out;
}

absl::Status CheckWeights(const SubnetState& subnet, Uid uid, const std::vector<uint16_t>& uids,
                          const std::vector<uint16_t>& weights) {
  const size_t n = subnet.neurons.size();
  if (uids.size() != weights.size()) {
    return Reject(TxReject::kBadWeights, absl::StrCat("uids has ", uids.size(),
                                                      " entries, weights ", weights.size()));
  }
  absl::flat_hash_set<uint16_t> seen;
  for (uint16_t j : uids) {
    if (j >= n) {
      return Reject(TxReject::kBadWeights, absl::StrCat("uid ", j, " out of range (n=", n, ")"));
    }
    if (!seen.insert(j).second) {
      return Reject(TxReject::kBadWeights, absl::StrCat("uid ", j, " appears twice"));
    }
  }
  const bool self_only = uids.size() == 1 && uids[0] == uid;
  if (self_only) return absl::OkStatus();  // a single self-weight is always allowed
  const bool is_owner = subnet.owner_hotkey && *subnet.owner_hotkey == subnet.neurons[uid].hotkey;
  if (!subnet.neurons[uid].validator_permit && !is_owner) {
    return Reject(TxReject::kNoValidatorPermit, absl::StrCat("uid ", uid, " has no permit"));
  }
  const size_t min_len = std::min<size_t>(subnet.params.min_allowed_weights, n);
  if (uids.size() < min_len) {
    return Reject(TxReject::kBadWeights,
                  absl::StrCat(uids.size(), " weights, at least ", min_len, " required"));
  }
  if (subnet.params.max_weight_limit < 65535) {
    uint64_t sum = 0, max = 0;
    for (uint16_t w : weights) {
      sum += w;
      max = std::max<uint64_t>(max, w);
    }
    // max/sum <= limit/65535, compared exactly in integers.
    if (sum > 0 && max * 65535 > uint64_t{subnet.params.max_weight_limit} * sum) {
      return Reject(TxReject::kBadWeights, absl::StrCat("largest weight share exceeds ",
                                                        subnet.params.max_weight_limit, "/65535"));
    }
  }
  return absl::OkStatus();
}

std::optional<Uid> NeuronToPrune(const SubnetState& subnet, BlockHeight block) {
  std::optional<Uid> best_immune, best_mortal;
  size_t non_immune = 0;
  auto better = [&](Uid a, std::optional<Uid> b) {
    if (!b) return true;
    const Neuron& x = subnet.neurons[a];
    const Neuron& y = subnet.neurons[*b];
    if (x.emission != y.emission) return x.emission < y.emission;
    if (x.registered_at != y.registered_at) return x.registered_at < y.registered_at;
    return a < *b;
  };
  for (size_t i = 0; i < subnet.neurons.size(); ++i) {
    const Neuron& n = subnet.neurons[i];
    if (subnet.owner_hotkey && *subnet.owner_hotkey == n.hotkey) continue;  // owner is immortal
    const bool immune = block - n.registered_at < subnet.params.immunity_period;
    const Uid uid = static_cast<Uid>(i);
    if (immune) {
      if (better(uid, best_immune)) best_immune = uid;
    } else {
      ++non_immune;
      if (better(uid, best_mortal)) best_mortal = uid;
    }
  }
  if (best_mortal && non_immune > subnet.params.min_non_immune_uids) return best_mortal;
  return best_immune ? best_immune : best_mortal;
}

absl::Status ApplyTx(ChainState& state, const TxBody& body, BlockHeight block) {
  if (body.chain_id != state.chain_id) {
    return Reject(TxReject::kBadTx, absl::StrCat("tx.chain_id '", body.chain_id,
                                                 "' is not this chain's"));
  }
  const uint64_t expected = state.accounts.count(body.signer) ? state.accounts[body.signer].nonce : 0;
  if (body.nonce != expected) {
    return Reject(TxReject::kBadNonce,
                  absl::StrCat("tx.nonce ", body.nonce, ", account expects ", expected));
  }
  // Each Apply* checks everything before its first write, so a refusal changes nothing.
  // (A refused transaction may leave a zero-balance account entry created by
  // operator[]; EraseEmptyAccount removes it so the state root is unaffected.)
  absl::Status s;
  if (body.type == kTxTransfer) {
    s = ApplyTransfer(state, body);
  } else if (body.type == kTxRegister) {
    s = ApplyRegister(state, body, block);
  } else if (body.type == kTxAddStake) {
    s = ApplyStake(state, body, /*add=*/true);
  } else if (body.type == kTxRemoveStake) {
    s = ApplyStake(state, body, /*add=*/false);
  } else if (body.type == kTxServeAxon) {
    s = ApplyServeAxon(state, body, block);
  } else if (body.type == kTxSetWeights) {
    s = ApplySetWeights(state, body, block);
  } else if (body.type == kTxCommitWeights) {
    s = ApplyCommitWeights(state, body, block);
  } else if (body.type == kTxRevealWeights) {
    s = ApplyRevealWeights(state, body, block);
  } else if (body.type == kTxRegisterModel) {
    s = ApplyRegisterModel(state, body, block);
  } else {
    s = Reject(TxReject::kBadTx, absl::StrCat("unknown tx.type '", body.type, "'"));
  }
  if (!s.ok()) {
    auto it = state.accounts.find(body.signer);
    if (it != state.accounts.end() && it->second.balance == 0 && it->second.nonce == 0) {
      state.accounts.erase(it);
    }
    return s;
  }
  state.accounts[body.signer].nonce = expected + 1;
  return absl::OkStatus();
}

}  // namespace agora::chain
