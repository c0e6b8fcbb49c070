#include "cli/metagraph_table.h"

#include <algorithm>
#include <cstdint>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "cli/amount.h"
#include "cli/chain_args.h"
#include "common/address.h"
#include "protocol/codec.h"

namespace agora::cli {
namespace {

using chain::Metagraph;
using chain::NeuronInfo;

std::string YesNo(bool b) { return b ? "yes" : "no"; }

uint64_t WeightSum(const NeuronInfo& n) {
  uint64_t sum = 0;
  for (const auto& [uid, w] : n.weights) sum += w;
  return sum;
}

// "1a2b3c4d@57": the first 8 hex digits of the registered model's content
// hash and the block it was registered in; "-" when the uid has none.
std::string ModelCell(const chain::ModelRegistration& m) {
  if (m.block == 0) return "-";
  return absl::StrCat(ToHex(m.content_hash).substr(0, 8), "@", m.block);
}

double Proportion(uint64_t part, uint64_t total) {
  return total == 0 ? 0.0 : static_cast<double>(part) / static_cast<double>(total);
}

}  // namespace

nlohmann::ordered_json ModelJson(const chain::ModelRegistration& m) {
  if (m.block == 0) return nullptr;
  // A hostile chain could send any bytes as the format: JsonText replaces bad UTF-8.
  return {{"content_hash", ToHex(m.content_hash)},
          {"size_bytes", m.size_bytes},
          {"format", m.format},
          {"tokenizer_hash", ToHex(m.tokenizer_hash)},
          {"block", m.block}};
}

std::string JsonText(const nlohmann::ordered_json& j) {
  // Strings from the chain are not trusted to be UTF-8: replace bad bytes
  // instead of throwing.
  return j.dump(2, ' ', /*ensure_ascii=*/false, nlohmann::ordered_json::error_handler_t::replace) +
         "\n";
}

std::string RenderTable(const std::vector<std::string>& header,
                        const std::vector<std::vector<std::string>>& rows,
                        const std::vector<bool>& right_aligned, absl::string_view indent) {
  std::vector<size_t> width(header.size(), 0);
  auto measure = [&](const std::vector<std::string>& row) {
    if (row.size() > width.size()) width.resize(row.size(), 0);
    for (size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], row[i].size());
  };
  measure(header);
  for (const auto& row : rows) measure(row);
  std::string out;
  auto emit = [&](const std::vector<std::string>& row) {
    std::string line(indent);
    for (size_t i = 0; i < width.size(); ++i) {
      const std::string cell = i < row.size() ? row[i] : "";
      const std::string pad(width[i] - cell.size(), ' ');
      if (i > 0) line += "  ";
      const bool right = i < right_aligned.size() && right_aligned[i];
      line += right ? pad + cell : cell + pad;
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    absl::StrAppend(&out, line, "\n");
  };
  if (!header.empty()) emit(header);
  for (const auto& row : rows) emit(row);
  return out;
}

std::string MetagraphText(const Metagraph& mg, bool validators_only) {
  const chain::SubnetParams& p = mg.params;
  const std::string name = mg.name.empty() ? "" : absl::StrCat(" \"", absl::CEscape(mg.name), "\"");
  std::string out =
      absl::StrCat("Subnet ", mg.netuid, name, " at block ", mg.block, ": ", mg.n, " of ",
                   p.max_allowed_uids, " uids, epoch ", mg.epoch_index, " (tempo ", p.tempo,
                   ", last epoch at block ", mg.last_epoch_block, ")\n");
  absl::StrAppend(&out, "Registration: burn ", FormatTokenAmount(p.burn),
                  " AGORA, or a proof of work of ", p.pow_difficulty, " leading zero bits\n");
  absl::StrAppend(&out, "Pending emission: ", FormatTokenAmount(mg.pending_emission), " AGORA\n\n");
  if (mg.neurons.empty()) {
    absl::StrAppend(&out, validators_only ? "(no uid holds a validator permit)\n"
                                          : "(no neurons registered)\n");
    return out;
  }
  std::vector<std::vector<std::string>> rows;
  chain::Amount total_stake = 0;
  for (const NeuronInfo& n : mg.neurons) {
    total_stake += std::min(n.stake, chain::kMaxAmount);
    rows.push_back({absl::StrCat(n.uid), ShortAddress(n.hotkey), FormatTokenAmount(n.stake),
                    YesNo(n.validator_permit), YesNo(n.active), FormatU16Proportion(n.incentive),
                    FormatU16Proportion(n.dividends), FormatU16Proportion(n.consensus),
                    FormatU16Proportion(n.validator_trust), FormatTokenAmount(n.emission),
                    n.axon_endpoint.empty() ? "-" : absl::CEscape(n.axon_endpoint),
                    ModelCell(n.model)});
  }
  absl::StrAppend(
      &out,
      RenderTable({"UID", "HOTKEY", "STAKE", "VPERMIT", "ACTIVE", "INCENTIVE", "DIVIDENDS",
                   "CONSENSUS", "TRUST", "EMISSION", "AXON", "MODEL"},
                  rows,
                  {true, false, true, false, false, true, true, true, true, true, false, false}));
  absl::StrAppend(&out, "\n", mg.neurons.size(), validators_only ? " validator" : " neuron",
                  mg.neurons.size() == 1 ? "" : "s", ", total stake ",
                  FormatTokenAmount(total_stake),
                  " AGORA. Scores are proportions (u16 / 65535); amounts in AGORA.\n");
  return out;
}

nlohmann::ordered_json SubnetParamsJson(const chain::SubnetParams& params) {
  // The msgpack map holds every field by name; converting it keeps this in
  // step with SubnetParams without listing the fields twice.
  const std::string bytes = protocol::Encode(params);
  return nlohmann::ordered_json::from_msgpack(bytes.begin(), bytes.end(), /*strict=*/true,
                                              /*allow_exceptions=*/false);
}

nlohmann::ordered_json MetagraphJson(const Metagraph& mg) {
  nlohmann::ordered_json neurons = nlohmann::ordered_json::array();
  for (const NeuronInfo& n : mg.neurons) {
    neurons.push_back({{"uid", n.uid},
                       {"hotkey", EncodeAddress(n.hotkey)},
                       {"coldkey", EncodeAddress(n.coldkey)},
                       {"stake", n.stake},
                       {"axon_endpoint", n.axon_endpoint},
                       {"axon_version", n.axon_version},
                       {"active", n.active},
                       {"validator_permit", n.validator_permit},
                       {"stake_weight", n.stake_weight},
                       {"rank", n.rank},
                       {"consensus", n.consensus},
                       {"validator_trust", n.validator_trust},
                       {"incentive", n.incentive},
                       {"dividends", n.dividends},
                       {"emission", n.emission},
                       {"registered_at", n.registered_at},
                       {"last_update", n.last_update},
                       {"pending_commits", n.pending_commits},
                       {"model", ModelJson(n.model)}});
  }
  return {{"netuid", mg.netuid},
          {"name", mg.name},
          {"block", mg.block},
          {"n", mg.n},
          {"epoch_index", mg.epoch_index},
          {"last_epoch_block", mg.last_epoch_block},
          {"pending_emission", mg.pending_emission},
          {"params", SubnetParamsJson(mg.params)},
          {"neurons", neurons}};
}

std::string WeightsText(const Metagraph& mg, const NeuronInfo& neuron) {
  std::string out = absl::StrCat("uid ", neuron.uid, " (", EncodeAddress(neuron.hotkey),
                                 ") on netuid ", mg.netuid, " at block ", mg.block);
  if (neuron.weights.empty()) {
    absl::StrAppend(&out, ": no weights set\n");
    return out;
  }
  absl::StrAppend(&out, ": weights on ", neuron.weights.size(), " uids, last update at block ",
                  neuron.last_update, "\n");
  const uint64_t sum = WeightSum(neuron);
  std::vector<std::vector<std::string>> rows;
  for (const auto& [uid, w] : neuron.weights) {
    rows.push_back({absl::StrCat(uid), FormatRatio(w, sum), absl::StrCat(w)});
  }
  absl::StrAppend(&out, RenderTable({"UID", "WEIGHT", "RAW(u16)"}, rows, {true, true, true}));
  return out;
}

nlohmann::ordered_json WeightsJson(const Metagraph& mg, const NeuronInfo& neuron) {
  const uint64_t sum = WeightSum(neuron);
  nlohmann::ordered_json weights = nlohmann::ordered_json::array();
  for (const auto& [uid, w] : neuron.weights) {
    weights.push_back({{"uid", uid}, {"weight", Proportion(w, sum)}, {"raw", w}});
  }
  return {{"netuid", mg.netuid},
          {"block", mg.block},
          {"uid", neuron.uid},
          {"hotkey", EncodeAddress(neuron.hotkey)},
          {"last_update", neuron.last_update},
          {"validator_permit", neuron.validator_permit},
          {"weights", weights}};
}

}  // namespace agora::cli
