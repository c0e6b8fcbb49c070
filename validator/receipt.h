// Receipts: proof, for the user, of which miner answered a gateway request
// and with which model. A receipt carries the miner's whole signed reply
// envelope (protocol/envelope.h) as it reached the gateway; the envelope is
// signed by the miner's hotkey over a header that commits to the body
// (a GenerateReply, with the text and the model hash; for log-probabilities
// only, each PredictReply, with its distributions and the model hash). Anyone can check it
// with the miner's hotkey alone; the gateway cannot forge or alter it.
//
// JSON form (in every gateway answer, "agora_receipt"; "agora_receipts", a
// list of them, for log-probabilities only):
//   {"uid": 3, "hotkey": "<address>", "model": "<hex>", "envelope": "<hex>"}
#ifndef AGORA_VALIDATOR_RECEIPT_H_
#define AGORA_VALIDATOR_RECEIPT_H_

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "absl/status/statusor.h"
#include "common/crypto.h"
#include "protocol/task_messages.h"

namespace agora::validator {

nlohmann::json MakeReceipt(uint16_t uid, const PublicKey& hotkey, absl::string_view envelope);

// Verifies `receipt`: the envelope is a GenerateReply signed by the hotkey
// the receipt names, untampered, and its model hash is the one the receipt
// names. Returns the signed reply (compare its text with the answer shown).
// InvalidArgument for a malformed receipt, Unauthenticated when a check fails.
absl::StatusOr<protocol::GenerateReply> VerifyReceipt(const nlohmann::json& receipt);

// The same for a receipt of log-probabilities ("agora_receipts": one per
// PredictReply a log-probability answer came from).
absl::StatusOr<protocol::PredictReply> VerifyPredictReceipt(const nlohmann::json& receipt);

}  // namespace agora::validator

#endif  // AGORA_VALIDATOR_RECEIPT_H_
