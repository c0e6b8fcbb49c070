// The signed score record every validator step writes: the step's seed and
// challenges (held-out offsets, prefix lengths, targets), each miner's
// answer hash (BLAKE2b-256 of the reply body), latency, scores and moving
// average, and the weights set in that step if any. Anyone holding the same
// answers can recompute the scores (scoring/) and the weights
// (validator/weights.h) and check them against the record.
//
// On disk: <data_dir>/records/step-<N, 10 digits>.json, written atomically,
// {"record": {...}, "signer": "<address>", "signature": "<hex>"}; the
// signature is the validator hotkey's over the record's compact JSON text
// (nlohmann::json dump(), keys sorted).
#ifndef AGORA_VALIDATOR_SCORE_RECORD_H_
#define AGORA_VALIDATOR_SCORE_RECORD_H_

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/crypto.h"

namespace agora::validator {

// The signed file text of `record`.
std::string SignRecord(const nlohmann::json& record, const SigningKey& key);
// A record whose signature verified, and who signed it.
struct VerifiedRecord {
  nlohmann::json record;
  std::string signer;  // the signing hotkey's address (common/address.h)
};
// Checks a signed file text and returns its record and signer.
// InvalidArgument for bad JSON or fields (also JSON nested deeper than any
// record is, refused before it is built), Unauthenticated for a signature
// that does not verify.
absl::StatusOr<VerifiedRecord> VerifySignedRecord(const std::string& text);
// VerifySignedRecord's record alone.
absl::StatusOr<nlohmann::json> VerifyRecord(const std::string& text);
// <dir>/step-<step, 10 digits>.json: where step `step`'s record lives.
std::string RecordPath(const std::string& dir, uint64_t step);
// Writes the signed record of step `step` under `dir` (created if needed).
absl::Status WriteRecord(const std::string& dir, uint64_t step, const std::string& signed_text);

}  // namespace agora::validator

#endif  // AGORA_VALIDATOR_SCORE_RECORD_H_
