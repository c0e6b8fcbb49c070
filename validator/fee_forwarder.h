// Forwarding a share of the gateway's fees to the miners that earned them,
// by on-chain transfers from the validator's account, in batches.
//
// A batch is planned from the usage ledger (validator/usage_ledger.h
// OwedFees: floor(share * paid units) per miner coldkey since the last
// batch), its transfers signed with consecutive nonces and stored as pending
// together with the new mark, all before any is sent. Then each pending
// transfer is resolved: already on chain (TxLookup) -> done; else submitted;
// refused for a stale nonce (another transaction of the validator took it)
// -> re-signed with the current nonce, stored, submitted; refused otherwise
// -> failed (logged); no answer -> left pending for the next call. So a
// crash at any point neither loses a share nor pays it twice.
#ifndef AGORA_VALIDATOR_FEE_FORWARDER_H_
#define AGORA_VALIDATOR_FEE_FORWARDER_H_

#include <cstddef>

#include "absl/status/statusor.h"
#include "chain/client.h"
#include "common/crypto.h"
#include "validator/usage_ledger.h"

namespace agora::validator {

// Plans a new batch (if anything is owed) and resolves every pending
// transfer; returns how many became done in this call.
absl::StatusOr<size_t> ForwardFees(chain::ChainClient& chain, UsageLedger& ledger,
                                   const SigningKey& signer, double share);

}  // namespace agora::validator

#endif  // AGORA_VALIDATOR_FEE_FORWARDER_H_
