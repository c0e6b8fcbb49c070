// Why the chain refused a transaction: stable strings returned to the sender
// and recorded in metrics. Never rename one; docs/CHAIN.md lists them.
#ifndef AGORA_CHAIN_TX_REJECT_H_
#define AGORA_CHAIN_TX_REJECT_H_

#include <cstdint>
#include <optional>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace agora::chain {

enum class TxReject {
  kBadTx,               // malformed, oversize, unknown type, wrong chain id
  kBadSignature,
  kBadNonce,            // not the signer account's next nonce (replay or gap)
  kInsufficientBalance,
  kInsufficientStake,
  kAmountInvalid,       // zero, or above the supply limit
  kOverflow,            // the result would exceed the supply limit
  kUnknownSubnet,
  kUnregisteredHotkey,  // hotkey not registered on that subnet
  kNotOwner,            // hotkey belongs to another coldkey
  kAlreadyRegistered,
  kRegistrationLimit,   // too many registrations this block
  kBurnTooHigh,         // burn above the sender's max_burn
  kBadPow,
  kBadWeights,          // duplicate uids, out of range, length mismatch, too few, over max weight
  kNoValidatorPermit,
  kVersionMismatch,     // weights version key below the subnet's
  kRateLimited,
  kCommitRevealRequired,
  kCommitRevealDisabled,
  kNoCommit,
  kRevealTooEarly,
  kCommitMismatch,
  kBadEndpoint,
  kBadModel,            // register_model: unknown format, zero content hash, size out of range
  kModelTaken,          // register_model: another uid of the subnet registered that content hash
  kUnchanged,           // the transaction would change nothing (register_model: same model)
};

absl::string_view TxRejectString(TxReject reason);
// A FailedPrecondition/InvalidArgument status carrying `reason` as payload and
// message "<reason>: <detail>".
absl::Status Reject(TxReject reason, absl::string_view detail);
// The reason string of a status made by Reject(), if any.
std::optional<TxReject> TxRejectOf(const absl::Status& status);

// For a refusal by a limit that passes with the blocks, the first block in
// which the same transaction can land: a subnet's registrations per block
// ("registration-limit: N registrations in block B (limit L)": block B + 1)
// and the serve_axon / set_weights / register_model rate limits
// ("rate-limited: ... again at block B": block B). nullopt for every other
// refusal, including limits that no number of blocks lifts by itself (a full
// subnet, pending commits, a model another uid registered). The detail texts
// it reads are part of the wire contract (docs/CHAIN.md).
std::optional<uint64_t> RetryBlockOf(const absl::Status& status);

// A refusal that crossed the wire arrives as a transport refusal
// ("bad-request: <tx reason>: <detail>"); this restores the Reject() status so
// callers can use TxRejectOf(). Other statuses pass through unchanged.
absl::Status RestoreTxReject(const absl::Status& status);

}  // namespace agora::chain

#endif  // AGORA_CHAIN_TX_REJECT_H_
