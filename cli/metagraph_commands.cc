// agora metagraph and agora weights: read-only views of one subnet.
#include <optional>
#include <ostream>
#include <string>

#include "absl/strings/str_cat.h"
#include "cli/chain_args.h"
#include "cli/chain_commands.h"
#include "cli/metagraph_table.h"
#include "common/address.h"
#include "nlohmann/json.hpp"

namespace agora::cli {
namespace {

absl::Status ShowMetagraph(const ParsedFlags& flags, Context& ctx) {
  absl::StatusOr<chain::NetUid> netuid = NetUidArg(flags);
  if (!netuid.ok()) return netuid.status();
  const bool validators = flags.Has("validators");
  absl::StatusOr<ChainSession> chain = OpenChain(flags);
  if (!chain.ok()) return chain.status();
  absl::StatusOr<chain::Metagraph> mg = chain->client->GetMetagraph(*netuid, validators);
  if (!mg.ok()) return ChainError(mg.status(), chain->url);
  ctx.out << (flags.Has("json") ? JsonText(MetagraphJson(*mg)) : MetagraphText(*mg, validators));
  return absl::OkStatus();
}

absl::Status ShowWeights(const ParsedFlags& flags, Context& ctx) {
  absl::StatusOr<chain::NetUid> netuid = NetUidArg(flags);
  if (!netuid.ok()) return netuid.status();
  if (flags.Has("uid") && flags.Has("hotkey-address")) {
    return UsageError("give --uid or --hotkey-address, not both");
  }
  std::optional<chain::Uid> uid;
  std::optional<PublicKey> hotkey;
  if (flags.Has("uid")) {
    absl::StatusOr<uint64_t> u = UnsignedArg(flags, "uid", 65535);
    if (!u.ok()) return u.status();
    uid = static_cast<chain::Uid>(*u);
  }
  if (flags.Has("hotkey-address")) {
    absl::StatusOr<PublicKey> h = AddressArg(flags, "hotkey-address");
    if (!h.ok()) return h.status();
    hotkey = *h;
  }
  absl::StatusOr<ChainSession> chain = OpenChain(flags);
  if (!chain.ok()) return chain.status();
  absl::StatusOr<chain::Metagraph> mg =
      chain->client->GetMetagraph(*netuid, /*validators_only=*/false, /*include_weights=*/true);
  if (!mg.ok()) return ChainError(mg.status(), chain->url);
  const bool json = flags.Has("json");

  if (uid.has_value() || hotkey.has_value()) {
    for (const chain::NeuronInfo& n : mg->neurons) {
      if (uid.has_value() ? n.uid != *uid : n.hotkey != *hotkey) continue;
      ctx.out << (json ? JsonText(WeightsJson(*mg, n)) : WeightsText(*mg, n));
      return absl::OkStatus();
    }
    return absl::NotFoundError(
        uid.has_value()
            ? absl::StrCat("netuid ", *netuid, " has no uid ", *uid, " (", mg->n, " uids)")
            : absl::StrCat("hotkey ", EncodeAddress(*hotkey), " is not registered on netuid ",
                           *netuid));
  }
  // Every uid that has set weights.
  nlohmann::ordered_json all = nlohmann::ordered_json::array();
  std::string text;
  for (const chain::NeuronInfo& n : mg->neurons) {
    if (n.weights.empty()) continue;
    if (json) {
      all.push_back(WeightsJson(*mg, n));
    } else {
      absl::StrAppend(&text, text.empty() ? "" : "\n", WeightsText(*mg, n));
    }
  }
  if (json) {
    ctx.out << JsonText({{"netuid", mg->netuid}, {"block", mg->block}, {"validators", all}});
  } else if (text.empty()) {
    ctx.out << "No uid on netuid " << *netuid << " has set weights (block " << mg->block << ")\n";
  } else {
    ctx.out << text;
  }
  return absl::OkStatus();
}

}  // namespace

Command MetagraphCommand() {
  return {"metagraph",
          "Show a subnet's neurons: stake, permits, scores, emission, axons.",
          "Scores (incentive, dividends, consensus, trust = validator trust) are the\n"
          "last epoch's u16 values shown as proportions of 65535; stake and emission\n"
          "are in AGORA. --json prints every field with raw integers and full addresses.",
          Concat({{{"netuid", "N", "Subnet to show.", true},
                   {"validators", "", "Only uids that hold a validator permit."},
                   JsonFlag()},
                  ChainFlags()}),
          ShowMetagraph,
          {}};
}

Command WeightsCommand() {
  return {"weights",
          "Show the weights a validator last set, normalized to proportions.",
          "Without --uid or --hotkey-address, shows every uid that has set weights.\n"
          "RAW is the stored u16 value (the chain scales each row so its largest is\n"
          "65535); WEIGHT is RAW over the row's sum.",
          Concat({{{"netuid", "N", "Subnet.", true},
                   {"uid", "U", "The validator's uid."},
                   {"hotkey-address", "ADDR", "The validator's hotkey address."},
                   JsonFlag()},
                  ChainFlags()}),
          ShowWeights,
          {}};
}

}  // namespace agora::cli
