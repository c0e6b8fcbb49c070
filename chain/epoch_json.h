// The JSON form of one Yuma epoch (shared/design/yuma-io.md): inputs in, outputs out.
//
// Used by `agora-chain epoch` (chain/epoch_cli.h), its tests and the epoch_json fuzz target.
// Parsing is strict and never throws: every malformed input gives InvalidArgument whose message
// starts with the path of the offending field, e.g. "stake[2]: must be a non-negative integer".
// Pure functions; thread-safe.
#ifndef AGORA_CHAIN_EPOCH_JSON_H_
#define AGORA_CHAIN_EPOCH_JSON_H_

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "chain/yuma.h"

namespace agora::chain {

// Limits on what a JSON input may ask for, checked before any allocation that depends on it.
inline constexpr uint32_t kMaxJsonUids = 4096;  // n; also caps memory a fuzzer can request
inline constexpr int kMaxJsonDepth = 16;        // array/object nesting

// Parses JSON text (at most kMaxJsonDepth levels deep). InvalidArgument on a syntax error.
absl::StatusOr<nlohmann::json> ParseJson(std::string_view text);

// Where the steps of an --input document are: a bare inputs object is one step
// (has_steps = false); {"steps": [{"inputs": {...}}, ...]} has one per element. `inputs`
// points into `doc`, which must outlive it.
struct EpochSteps {
  bool has_steps = false;
  std::vector<const nlohmann::json*> inputs;
};
absl::StatusOr<EpochSteps> FindEpochSteps(const nlohmann::json& doc);

// Converts one inputs object into an EpochInput and validates it (ValidateEpochInput). Error
// messages name the field, prefixed by `path` (e.g. "steps[2].inputs.").
absl::StatusOr<EpochInput> EpochInputFromJson(const nlohmann::json& inputs,
                                              std::string_view path = "");

// The yuma-io.md output object, keys in the order of the worked examples. Proportions are
// printed as raw / 2^32 (an exact double), storage values and amounts as integers.
nlohmann::ordered_json EpochOutputToJson(const EpochOutput& output);

}  // namespace agora::chain

#endif  // AGORA_CHAIN_EPOCH_JSON_H_
