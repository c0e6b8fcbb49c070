#include "cli/summary_command.h"

#include <cstdlib>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "cli/amount.h"
#include "cli/chain_args.h"
#include "cli/metagraph_table.h"
#include "common/address.h"
#include "common/file_util.h"

namespace agora::cli {
namespace {

constexpr size_t kMaxLabelsBytes = 1 << 20;
constexpr size_t kMaxGatewayBytes = 16 << 20;

// One uid as the validator's gateway sees it.
struct ValidatorView {
  std::string model;  // hex content hash; empty if it never answered
  std::optional<double> loss;
  double score = 0;
  bool zeroed = false;
  bool unverified = false;  // no completion of it re-run and matched since it was last caught
};

// GET <gateway>/metagraph: the validator's view, by hotkey address (a uid
// can change hands between the two reads; the hotkey cannot).
absl::StatusOr<std::map<std::string, ValidatorView>> FetchValidatorView(const std::string& url) {
  httplib::Client http(url);
  http.set_connection_timeout(5, 0);
  http.set_read_timeout(10, 0);
  httplib::Result res = http.Get("/metagraph");
  if (!res) {
    return absl::UnavailableError(absl::StrCat("gateway ", url, ": ", httplib::to_string(res.error())));
  }
  if (res->status != 200 || res->body.size() > kMaxGatewayBytes) {
    return absl::UnavailableError(absl::StrCat("gateway ", url, "/metagraph answered ", res->status));
  }
  const nlohmann::json j = nlohmann::json::parse(res->body, nullptr, false);
  if (!j.is_object() || !j.contains("neurons") || !j["neurons"].is_array()) {
    return absl::DataLossError(absl::StrCat("gateway ", url, "/metagraph: not a metagraph"));
  }
  std::map<std::string, ValidatorView> out;
  for (const nlohmann::json& n : j["neurons"]) {
    if (!n.is_object() || !n.contains("hotkey") || !n["hotkey"].is_string()) continue;
    ValidatorView v;
    if (n.contains("model") && n["model"].is_string()) v.model = n["model"].get<std::string>();
    if (n.contains("score") && n["score"].is_number()) v.score = n["score"].get<double>();
    if (n.contains("heldout_loss") && n["heldout_loss"].is_number() && n["heldout_loss"].get<double>() > 0) {
      v.loss = n["heldout_loss"].get<double>();
    }
    if (n.contains("zeroed") && n["zeroed"].is_boolean()) v.zeroed = n["zeroed"].get<bool>();
    if (n.contains("unverified") && n["unverified"].is_boolean()) {
      v.unverified = n["unverified"].get<bool>();
    }
    out[n["hotkey"].get<std::string>()] = std::move(v);
  }
  return out;
}

std::string LabelOf(const std::map<std::string, std::string>& labels, const std::string& key,
                    absl::string_view fallback) {
  auto it = labels.find(key);
  return it != labels.end() ? it->second : std::string(fallback);
}

absl::Status RunSummary(const ParsedFlags& flags, Context& ctx) {
  absl::StatusOr<chain::NetUid> netuid = NetUidArg(flags);
  if (!netuid.ok()) return netuid.status();
  std::map<std::string, std::string> labels;
  if (flags.Has("labels")) {
    absl::StatusOr<std::string> text = ReadFile(flags.Get("labels"), kMaxLabelsBytes);
    if (!text.ok()) return text.status();
    absl::StatusOr<std::map<std::string, std::string>> parsed = ParseLabels(*text);
    if (!parsed.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(flags.Get("labels"), ": ", parsed.status().message()));
    }
    labels = std::move(*parsed);
  }
  std::map<std::string, ValidatorView> view;
  if (flags.Has("gateway")) {
    absl::StatusOr<std::map<std::string, ValidatorView>> v = FetchValidatorView(flags.Get("gateway"));
    if (!v.ok()) return v.status();
    view = std::move(*v);
  }
  absl::StatusOr<ChainSession> chain = OpenChain(flags);
  if (!chain.ok()) return chain.status();
  absl::StatusOr<chain::Metagraph> mg = chain->client->GetMetagraph(*netuid);
  if (!mg.ok()) return ChainError(mg.status(), chain->url);

  chain::Amount total = 0;
  for (const chain::NeuronInfo& n : mg->neurons) total += n.emission;
  nlohmann::ordered_json rows_json = nlohmann::ordered_json::array();
  std::vector<std::vector<std::string>> rows;
  for (const chain::NeuronInfo& n : mg->neurons) {
    const std::string address = EncodeAddress(n.hotkey);
    auto it = view.find(address);
    const ValidatorView* v = it != view.end() ? &it->second : nullptr;
    const std::string role = LabelOf(labels, address, n.validator_permit && n.stake > 0 ? "validator" : "-");
    const std::string model = v != nullptr ? v->model : "";
    const double share = total == 0 ? 0.0 : double(n.emission) / double(total);
    nlohmann::ordered_json r = {{"uid", n.uid},
                                {"role", role},
                                {"hotkey", address},
                                {"model", model},
                                {"model_label", LabelOf(labels, model, "")},
                                {"incentive", n.incentive / 65535.0},
                                {"dividends", n.dividends / 65535.0},
                                {"emission", n.emission},
                                {"emission_share", share}};
    if (v != nullptr) {
      r["score"] = v->score;
      r["zeroed"] = v->zeroed;
      r["unverified"] = v->unverified;
      if (v->loss) r["heldout_loss"] = *v->loss;
    }
    rows_json.push_back(std::move(r));
    rows.push_back({absl::StrCat(n.uid), role, ShortAddress(n.hotkey),
                    model.empty() ? "-" : LabelOf(labels, model, model.substr(0, 12)),
                    v != nullptr && v->loss ? absl::StrFormat("%.3f", *v->loss) : "-",
                    v != nullptr ? absl::StrFormat("%.3f%s", v->score,
                                                   v->zeroed ? "*" : v->unverified ? "?" : "")
                                 : "-",
                    FormatU16Proportion(n.incentive), FormatTokenAmount(n.emission),
                    absl::StrFormat("%.1f%%", 100 * share)});
  }
  if (flags.Has("json")) {
    ctx.out << JsonText({{"netuid", mg->netuid},
                         {"block", mg->block},
                         {"epoch", mg->epoch_index},
                         {"total_emission", total},
                         {"neurons", rows_json}});
    return absl::OkStatus();
  }
  ctx.out << "Subnet " << mg->netuid << " at block " << mg->block << ", epoch " << mg->epoch_index
          << ": " << FormatTokenAmount(total) << " AGORA emitted in the last epoch\n"
          << RenderTable({"UID", "ROLE", "HOTKEY", "MODEL", "LOSS", "SCORE", "INCENTIVE", "EMISSION", "SHARE"},
                         rows, {true, false, false, false, true, true, true, true, true});
  if (!view.empty()) {
    ctx.out << "LOSS: its loss on the validator's last challenges (nats/byte); SCORE: its moving average"
               " (* zeroed by a failed spot check; ? unpaid until one of its completions is re-run"
               " and matches).\n";
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::map<std::string, std::string>> ParseLabels(absl::string_view text) {
  std::map<std::string, std::string> out;
  int line_no = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_no;
    line = absl::StripAsciiWhitespace(line);
    if (line.empty() || line[0] == '#') continue;
    const size_t space = line.find_first_of(" \t");
    if (space == absl::string_view::npos) {
      return absl::InvalidArgumentError(absl::StrCat("line ", line_no, ": expected KEY LABEL"));
    }
    const std::string label(absl::StripAsciiWhitespace(line.substr(space)));
    out[std::string(line.substr(0, space))] = label;
  }
  return out;
}

Command SummaryCommand() {
  return {"summary",
          "Show what each uid serves, how the validator scores it and what it earned.",
          "Joins the chain's metagraph (incentive and emission of the last epoch) with\n"
          "a validator gateway's /metagraph (model hash, challenge loss and score per\n"
          "uid). --labels names hotkeys and models: one \"KEY LABEL\" per line, KEY an\n"
          "address or a model hash. SHARE is the uid's part of the last epoch's emission.",
          Concat({{{"netuid", "N", "Subnet to show.", true},
                   {"gateway", "URL", "A validator gateway (http://host:port) for models, losses, scores."},
                   {"labels", "FILE", "Names for hotkey addresses and model hashes."},
                   JsonFlag()},
                  ChainFlags()}),
          RunSummary,
          {}};
}

}  // namespace agora::cli
