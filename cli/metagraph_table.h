// How `agora metagraph` and `agora weights` show what the chain returned:
// aligned text tables for people and JSON for scripts. Pure functions of the
// chain's reply (no I/O), so they are tested without a chain.
//
// Text: amounts in tokens with 9 decimals, u16 scores as proportions of 65535
// with 4 decimals, hotkeys shortened. JSON: raw integers (base units, u16
// values) and full addresses, every field of the reply.
#ifndef AGORA_CLI_METAGRAPH_TABLE_H_
#define AGORA_CLI_METAGRAPH_TABLE_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "chain/messages.h"
#include "nlohmann/json.hpp"

namespace agora::cli {

// `j` as indented JSON text with a final newline; invalid UTF-8 in strings
// (which a hostile chain could send) is replaced, never thrown on.
std::string JsonText(const nlohmann::ordered_json& j);

// A text table: a header row (none if `header` is empty) and rows of cells,
// each line starting with `indent`. Columns are as wide as their widest cell,
// two spaces apart; `right_aligned[i]` right-aligns column i (numbers).
// Trailing spaces are trimmed.
std::string RenderTable(const std::vector<std::string>& header,
                        const std::vector<std::vector<std::string>>& rows,
                        const std::vector<bool>& right_aligned, absl::string_view indent = "");

// The summary lines and the neuron table of `mg`.
std::string MetagraphText(const chain::Metagraph& mg, bool validators_only);
nlohmann::ordered_json MetagraphJson(const chain::Metagraph& mg);
nlohmann::ordered_json SubnetParamsJson(const chain::SubnetParams& params);
// A uid's registered model ({content_hash, size_bytes, format, tokenizer_hash,
// block}, hashes in hex), or null when it has none (block 0).
nlohmann::ordered_json ModelJson(const chain::ModelRegistration& model);

// The weights `neuron` last set (its stored row), normalized to proportions
// that sum to 1. Requires: `neuron` is from a Metagraph fetched with
// include_weights.
std::string WeightsText(const chain::Metagraph& mg, const chain::NeuronInfo& neuron);
nlohmann::ordered_json WeightsJson(const chain::Metagraph& mg, const chain::NeuronInfo& neuron);

}  // namespace agora::cli

#endif  // AGORA_CLI_METAGRAPH_TABLE_H_
