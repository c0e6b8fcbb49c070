// agora register-model: registers the model a registered hotkey's miner
// serves (the chain's register_model transaction, signed by the hotkey
// itself). Validators score only answers that name the model registered for
// the uid, and fetch that model from its miner.
#include <algorithm>
#include <ostream>
#include <string>

#include "absl/strings/ascii.h"
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

// A 32-byte hash given as 64 hex digits in flag `flag`.
absl::StatusOr<Hash256> HashArg(const ParsedFlags& flags, absl::string_view flag) {
  const std::string text = absl::AsciiStrToLower(flags.Get(flag));
  absl::StatusOr<std::string> bytes = FromHex(text);
  if (text.size() != 2 * sizeof(Hash256) || !bytes.ok() || bytes->size() != sizeof(Hash256)) {
    return UsageError(absl::StrCat("--", flag, ": want 64 hex digits (a 32-byte hash)"));
  }
  Hash256 h{};
  std::copy(bytes->begin(), bytes->end(), h.begin());
  return h;
}

absl::Status RegisterModel(const ParsedFlags& flags, Context& ctx) {
  absl::StatusOr<chain::NetUid> netuid = NetUidArg(flags);
  if (!netuid.ok()) return netuid.status();
  chain::RegisterModelTx tx;
  tx.netuid = *netuid;
  absl::StatusOr<Hash256> hash = HashArg(flags, "hash");
  if (!hash.ok()) return hash.status();
  tx.content_hash = *hash;
  absl::StatusOr<uint64_t> size = UnsignedArg(flags, "size", UINT64_MAX);
  if (!size.ok()) return size.status();
  tx.size_bytes = *size;
  tx.format = flags.Get("format");
  if (flags.Has("tokenizer-hash")) {
    absl::StatusOr<Hash256> tokenizer = HashArg(flags, "tokenizer-hash");
    if (!tokenizer.ok()) return tokenizer.status();
    tx.tokenizer_hash = *tokenizer;
  }
  // The chain's own rules for the fields (docs/CHAIN.md), checked before a
  // password is asked.
  if (absl::Status s = chain::CheckModel(tx); !s.ok()) return UsageError(s.message());

  absl::StatusOr<RegisteredHotkey> as = OpenRegisteredHotkey(flags, *netuid);
  if (!as.ok()) return as.status();
  const chain::Uid uid = as->uid;
  const HotkeyChoice& hotkey = as->hotkey;
  const std::string hash_hex = ToHex(tx.content_hash);
  std::ostream& info = flags.Has("json") ? ctx.err : ctx.out;
  info << "Registering model " << hash_hex << " (" << tx.size_bytes << " bytes, " << tx.format
       << ") for " << hotkey.label << " (uid " << uid << ") on netuid " << *netuid << "\n"
       << std::flush;

  // The chain takes one registration per hotkey every serving_rate_limit
  // blocks: an early one waits for its block instead of failing.
  absl::StatusOr<chain::TxReceiptMsg> receipt =
      SendAsHotkey(flags, ctx, *as, chain::kTxRegisterModel, tx);
  if (!receipt.ok()) return receipt.status();
  if (flags.Has("json")) {
    nlohmann::ordered_json j = HotkeyTxJson(*receipt, *netuid, uid, hotkey.key);
    j["content_hash"] = hash_hex;
    j["size_bytes"] = tx.size_bytes;
    j["format"] = tx.format;
    j["tokenizer_hash"] = ToHex(tx.tokenizer_hash);
    ctx.out << JsonText(j);
    return absl::OkStatus();
  }
  ctx.out << "registered model " << hash_hex << " for uid " << uid << " in block "
          << receipt->block << "\n  tx     " << ToHex(receipt->tx_hash) << "\n";
  return absl::OkStatus();
}

}  // namespace

Command RegisterModelCommand() {
  return {"register-model",
          "Register the model a registered hotkey serves (register_model).",
          "Signed by the hotkey itself, so the wallet's password unlocks the hotkey.\n"
          "Validators score only answers that name the model registered for the uid.\n"
          "--hash is the model's content hash (agora-train writes it to the\n"
          "checkpoint's config.json); a hash another uid of the subnet registered\n"
          "first is refused (model-taken), and so is the registration the uid already\n"
          "has (unchanged). A new registration replaces the old one; the chain takes\n"
          "one per hotkey every serving_rate_limit blocks: an earlier one waits for its\n"
          "block (saying so on stderr, up to 30 blocks). Prints the block it landed in.",
          Concat({{{"name", "WALLET", "Wallet that holds the hotkey.", true},
                   {"hotkey", "NAME",
                    absl::StrCat("Hotkey whose model it is (default \"", kDefaultHotkeyName,
                                 "\").")},
                   {"netuid", "N", "Subnet the hotkey is registered on.", true},
                   {"hash", "HEX64", "The model's content hash, 64 hex digits.", true},
                   {"size", "BYTES",
                    absl::StrCat("Size of the model package validators fetch (1 to ",
                                 chain::kMaxModelBytes, ")."),
                    true},
                   {"format", "FORMAT",
                    absl::StrCat(chain::kModelFormatAgoraGpt, " or ",
                                 chain::kModelFormatTorchScript, "."),
                    true},
                   {"tokenizer-hash", "HEX64", "The tokenizer's hash (default all zero)."},
                   JsonFlag()},
                  ChainFlags(),
                  WalletFlags()}),
          RegisterModel,
          {}};
}

}  // namespace agora::cli
