// Credit funded on chain: users pay the gateway by transferring tokens to
// its account (the validator's hotkey address). ScanDeposits walks the
// sealed blocks the usage ledger has not seen (ChainClient::BlockTransactions),
// verifies each transaction's signature, and credits every transfer to the
// gateway's account to its sender, durably, with no manual step.
#ifndef AGORA_VALIDATOR_DEPOSITS_H_
#define AGORA_VALIDATOR_DEPOSITS_H_

#include <cstdint>

#include "absl/status/statusor.h"
#include "chain/client.h"
#include "common/crypto.h"
#include "validator/usage_ledger.h"

namespace agora::validator {

// Scans blocks (scanned_height, min(head, scanned_height + max_blocks)] and
// returns how many deposits it credited. A block the chain cannot serve yet
// ends the scan early (the next call resumes there).
absl::StatusOr<size_t> ScanDeposits(chain::ChainClient& chain, UsageLedger& ledger,
                                    const PublicKey& account, uint64_t head, uint64_t max_blocks);

}  // namespace agora::validator

#endif  // AGORA_VALIDATOR_DEPOSITS_H_
