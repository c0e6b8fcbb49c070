// agora serve: announces where a registered hotkey serves (the chain's
// serve_axon transaction, signed by the hotkey itself), so validators and
// gateways can find it. agora-miner does the same when it starts; this is for
// a miner written in another language, or one behind a proxy or NAT.
#include <optional>
#include <ostream>
#include <string>

#include "absl/strings/str_cat.h"
#include "chain/apply.h"
#include "chain/tx.h"
#include "chain/tx_reject.h"
#include "cli/chain_args.h"
#include "cli/chain_commands.h"
#include "cli/metagraph_table.h"
#include "common/address.h"
#include "common/wallet.h"
#include "nlohmann/json.hpp"

namespace agora::cli {
namespace {

constexpr uint32_t kDefaultAxonVersion = 1;

absl::Status Serve(const ParsedFlags& flags, Context& ctx) {
  absl::StatusOr<chain::NetUid> netuid = NetUidArg(flags);
  if (!netuid.ok()) return netuid.status();
  const std::string endpoint = flags.Get("endpoint");
  // The chain's own rule (docs/CHAIN.md), checked before a password is asked.
  if (absl::Status s = chain::CheckEndpoint(endpoint); !s.ok()) return UsageError(s.message());
  uint32_t version = kDefaultAxonVersion;
  if (flags.Has("version")) {
    absl::StatusOr<uint64_t> v = UnsignedArg(flags, "version", UINT32_MAX);
    if (!v.ok()) return v.status();
    version = static_cast<uint32_t>(*v);
  }
  absl::StatusOr<RegisteredHotkey> as = OpenRegisteredHotkey(flags, *netuid);
  if (!as.ok()) return as.status();
  const chain::Uid uid = as->uid;
  const HotkeyChoice& hotkey = as->hotkey;
  std::ostream& info = flags.Has("json") ? ctx.err : ctx.out;
  info << "Announcing " << endpoint << " for " << hotkey.label << " (uid " << uid
       << ") on netuid " << *netuid << "\n"
       << std::flush;

  chain::ServeAxonTx tx;
  tx.netuid = *netuid;
  tx.endpoint = endpoint;
  tx.version = version;
  // The chain takes one announcement per hotkey every serving_rate_limit
  // blocks: an early one waits for its block instead of failing.
  absl::StatusOr<chain::TxReceiptMsg> receipt = SendAsHotkey(flags, ctx, *as, chain::kTxServeAxon, tx);
  if (!receipt.ok()) return receipt.status();
  if (flags.Has("json")) {
    nlohmann::ordered_json j = HotkeyTxJson(*receipt, *netuid, uid, hotkey.key);
    j["endpoint"] = endpoint;
    j["version"] = version;
    ctx.out << JsonText(j);
    return absl::OkStatus();
  }
  ctx.out << "Announced " << endpoint << " in block " << receipt->block << "\n  tx     "
          << ToHex(receipt->tx_hash) << "\n";
  return absl::OkStatus();
}

}  // namespace

Command ServeCommand() {
  return {"serve",
          "Announce the endpoint a registered hotkey serves at (serve_axon).",
          "Signed by the hotkey itself, so the wallet's password unlocks the hotkey.\n"
          "The endpoint must be tcp://host:port, the address validators connect to\n"
          "(agora-miner announces its own when it starts; use this for a miner of\n"
          "your own or one behind a proxy). The chain takes one announcement per\n"
          "hotkey every serving_rate_limit blocks: an earlier one waits for its\n"
          "block (saying so on stderr, up to 30 blocks). Prints the block it landed in.",
          Concat({{{"name", "WALLET", "Wallet that holds the hotkey.", true},
                   {"hotkey", "NAME",
                    absl::StrCat("Hotkey to announce (default \"", kDefaultHotkeyName, "\").")},
                   {"netuid", "N", "Subnet the hotkey is registered on.", true},
                   {"endpoint", "URL", "tcp://host:port where it serves.", true},
                   {"version", "N", "Axon version to announce (default 1)."},
                   JsonFlag()},
                  ChainFlags(),
                  WalletFlags()}),
          Serve,
          {}};
}

}  // namespace agora::cli
