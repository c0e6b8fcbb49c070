// The transaction half of the chain's state transition: pure functions that
// apply one verified transaction to the state, or refuse it with a stable
// reason (chain/tx_reject.h) and leave the state exactly as it was.
//
// No clock, no I/O: the block the transaction lands in is a parameter. Not
// thread-safe (mutates `state`); the node serializes calls.
#ifndef AGORA_CHAIN_APPLY_H_
#define AGORA_CHAIN_APPLY_H_

#include "absl/status/status.h"
#include "chain/state.h"
#include "chain/tx.h"

namespace agora::chain {

// Applies `body` (already signature-verified by VerifyTx) as part of block
// `block` (state.height + 1). On success the signer's nonce is incremented.
absl::Status ApplyTx(ChainState& state, const TxBody& body, BlockHeight block);

// Checks a weight vector against the subnet's rules (yuma.md §7) for the neuron
// `uid`; kBadWeights / kNoValidatorPermit with the failing rule named.
absl::Status CheckWeights(const SubnetState& subnet, Uid uid, const std::vector<uint16_t>& uids,
                          const std::vector<uint16_t>& weights);

// Max-upscales `weights` so the largest is 65535, as the chain does (yuma.md
// §7: m = max; m > 32768: round(v·(65535/m)) with the ratio in I32F32; else
// round(v·65535/m); ties away from zero); all zeros stay zeros.
std::vector<uint16_t> MaxUpscale(const std::vector<uint16_t>& weights);

// kBadEndpoint unless `endpoint` is a serve_axon endpoint the chain accepts:
// "tcp://host:port", printable ASCII without spaces, at most 256 bytes.
absl::Status CheckEndpoint(const std::string& endpoint);

// kBadModel unless the fields of a register_model are ones the chain accepts
// on their own: format kModelFormatAgoraGpt or kModelFormatTorchScript, a
// content hash that is not all zero, 1 <= size_bytes <= kMaxModelBytes.
// (Whether the subnet, the uid and the rate limit allow it is ApplyTx's.)
absl::Status CheckModel(const RegisterModelTx& tx);

// The uid a registration into a full subnet replaces (yuma.md §7), if any.
std::optional<Uid> NeuronToPrune(const SubnetState& subnet, BlockHeight block);

}  // namespace agora::chain

#endif  // AGORA_CHAIN_APPLY_H_
