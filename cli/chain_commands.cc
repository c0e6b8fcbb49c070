// balance, transfer, stake and chain status; the table of chain commands.
#include "cli/chain_commands.h"

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "chain/tx.h"
#include "cli/amount.h"
#include "cli/chain_args.h"
#include "cli/metagraph_table.h"
#include "common/address.h"
#include "nlohmann/json.hpp"

namespace agora::cli {
namespace {

using chain::Amount;

// A hostile chain could send amounts that do not add up; never wrap.
Amount SaturatingAdd(Amount a, Amount b) { return a > UINT64_MAX - b ? UINT64_MAX : a + b; }

FlagSpec NameFlag(bool required) {
  return {"name", "WALLET", "Wallet whose coldkey signs (see 'agora wallet list').", required};
}

std::string TxLines(const chain::TxReceiptMsg& receipt) {
  return absl::StrCat("  tx     ", ToHex(receipt.tx_hash), "\n  block  ", receipt.block, " (index ",
                      receipt.index, ")\n");
}


// ---- balance ----

absl::Status Balance(const ParsedFlags& flags, Context& ctx) {
  if (flags.Has("address") == flags.Has("name")) {
    return UsageError("give exactly one of --address ADDR and --name WALLET");
  }
  PublicKey address{};
  std::string whose;
  if (flags.Has("address")) {
    absl::StatusOr<PublicKey> a = AddressArg(flags, "address");
    if (!a.ok()) return a.status();
    address = *a;
  } else {
    absl::StatusOr<WalletArg> wallet = OpenWalletArg(flags);
    if (!wallet.ok()) return wallet.status();
    address = wallet->coldkey;
    whose = absl::StrCat(" (coldkey of wallet '", wallet->info.name, "')");
  }
  absl::StatusOr<ChainSession> chain = OpenChain(flags);
  if (!chain.ok()) return chain.status();
  absl::StatusOr<chain::AccountInfo> info = chain->client->Account(address);
  if (!info.ok()) return ChainError(info.status(), chain->url);

  Amount staked = 0, stake_on = 0;
  for (const chain::StakeEntry& s : info->stakes) {
    if (s.coldkey == address) staked = SaturatingAdd(staked, s.amount);
    if (s.hotkey == address) stake_on = SaturatingAdd(stake_on, s.amount);
  }
  if (flags.Has("json")) {
    nlohmann::ordered_json stakes = nlohmann::ordered_json::array();
    for (const chain::StakeEntry& s : info->stakes) {
      stakes.push_back({{"hotkey", EncodeAddress(s.hotkey)},
                        {"coldkey", EncodeAddress(s.coldkey)},
                        {"amount", s.amount}});
    }
    ctx.out << JsonText({{"address", EncodeAddress(address)},
                         {"balance", info->balance},
                         {"nonce", info->nonce},
                         {"staked", staked},
                         {"stake_on_hotkey", stake_on},
                         {"stakes", stakes},
                         {"height", info->height}});
    return absl::OkStatus();
  }
  ctx.out << "Account " << EncodeAddress(address) << whose << " at block " << info->height << "\n";
  std::vector<std::vector<std::string>> rows = {
      {"balance", FormatTokenAmount(info->balance), "AGORA"},
      {"staked", FormatTokenAmount(staked), "AGORA"},
      {"total", FormatTokenAmount(SaturatingAdd(info->balance, staked)), "AGORA"},
  };
  if (stake_on > 0) rows.push_back({"stake on it", FormatTokenAmount(stake_on), "AGORA"});
  rows.push_back({"nonce", absl::StrCat(info->nonce), ""});
  ctx.out << RenderTable({}, rows, {false, true, false}, /*indent=*/"  ");
  if (!info->stakes.empty()) {
    std::vector<std::vector<std::string>> stake_rows;
    for (const chain::StakeEntry& s : info->stakes) {
      stake_rows.push_back(
          {EncodeAddress(s.hotkey), EncodeAddress(s.coldkey), FormatTokenAmount(s.amount)});
    }
    ctx.out << "Stakes:\n"
            << RenderTable({"HOTKEY", "COLDKEY", "AMOUNT"}, stake_rows, {false, false, true},
                           /*indent=*/"  ");
  }
  return absl::OkStatus();
}

// ---- transfer ----

absl::Status Transfer(const ParsedFlags& flags, Context& ctx) {
  absl::StatusOr<PublicKey> to = AddressArg(flags, "to");
  if (!to.ok()) return to.status();
  absl::StatusOr<Amount> amount = AmountArg(flags, "amount");
  if (!amount.ok()) return amount.status();
  absl::StatusOr<WalletArg> wallet = OpenWalletArg(flags);
  if (!wallet.ok()) return wallet.status();
  absl::StatusOr<ChainSession> chain = OpenChain(flags);
  if (!chain.ok()) return chain.status();
  // Reach the chain before asking for a password.
  if (absl::StatusOr<chain::ChainStatus> st = chain->client->Status(); !st.ok()) {
    return ChainError(st.status(), chain->url);
  }
  absl::StatusOr<SigningKey> key = UnlockColdkey(flags, *wallet);
  if (!key.ok()) return key.status();
  absl::StatusOr<chain::TxReceiptMsg> receipt =
      chain->client->Send(*key, chain::kTxTransfer, chain::TransferTx{*to, *amount});
  if (!receipt.ok()) return ChainError(receipt.status(), chain->url);
  absl::StatusOr<chain::AccountInfo> after = chain->client->Account(wallet->coldkey);
  if (flags.Has("json")) {
    nlohmann::ordered_json j = TxJson(*receipt);
    j["from"] = EncodeAddress(wallet->coldkey);
    j["to"] = EncodeAddress(*to);
    j["amount"] = *amount;
    if (after.ok()) j["balance"] = after->balance;
    ctx.out << JsonText(j);
    return absl::OkStatus();
  }
  ctx.out << "Transferred " << FormatTokenAmount(*amount) << " AGORA from wallet '"
          << wallet->info.name << "' (" << EncodeAddress(wallet->coldkey) << ") to "
          << EncodeAddress(*to) << "\n"
          << TxLines(*receipt);
  if (after.ok()) ctx.out << "  balance now " << FormatTokenAmount(after->balance) << " AGORA\n";
  return absl::OkStatus();
}

// ---- stake add | remove ----

absl::Status Stake(const ParsedFlags& flags, Context& ctx, bool add) {
  absl::StatusOr<Amount> amount = AmountArg(flags, "amount");
  if (!amount.ok()) return amount.status();
  absl::StatusOr<HotkeySession> session = OpenHotkeySession(flags);
  if (!session.ok()) return session.status();
  const WalletArg& wallet = session->wallet;
  const HotkeyChoice& hotkey = session->hotkey;
  ChainSession& chain = session->chain;
  if (absl::StatusOr<chain::ChainStatus> st = chain.client->Status(); !st.ok()) {
    return ChainError(st.status(), chain.url);
  }
  absl::StatusOr<SigningKey> key = UnlockColdkey(flags, wallet);
  if (!key.ok()) return key.status();
  absl::StatusOr<chain::TxReceiptMsg> receipt = chain.client->Send(
      *key, add ? chain::kTxAddStake : chain::kTxRemoveStake, chain::StakeTx{hotkey.key, *amount});
  if (!receipt.ok()) return ChainError(receipt.status(), chain.url);
  absl::StatusOr<chain::AccountInfo> after = chain.client->Account(wallet.coldkey);
  Amount stake_now = 0;
  if (after.ok()) {
    for (const chain::StakeEntry& s : after->stakes) {
      if (s.hotkey == hotkey.key && s.coldkey == wallet.coldkey) stake_now = s.amount;
    }
  }
  if (flags.Has("json")) {
    nlohmann::ordered_json j = TxJson(*receipt);
    j["hotkey"] = EncodeAddress(hotkey.key);
    j["coldkey"] = EncodeAddress(wallet.coldkey);
    j["amount"] = *amount;
    if (after.ok()) {
      j["stake"] = stake_now;
      j["balance"] = after->balance;
    }
    ctx.out << JsonText(j);
    return absl::OkStatus();
  }
  ctx.out << (add ? "Staked " : "Unstaked ") << FormatTokenAmount(*amount) << " AGORA "
          << (add ? "on " : "from ") << hotkey.label << " with wallet '" << wallet.info.name
          << "'\n"
          << TxLines(*receipt);
  if (after.ok()) {
    ctx.out << "  stake now " << FormatTokenAmount(stake_now) << " AGORA, balance "
            << FormatTokenAmount(after->balance) << " AGORA\n";
  }
  return absl::OkStatus();
}

// ---- chain status ----

// Times past the year 9999 (a hostile or broken chain) are shown as numbers.
constexpr uint64_t kMaxShownTimeMs = 253'402'300'799'999;

absl::Status ChainStatusHandler(const ParsedFlags& flags, Context& ctx) {
  absl::StatusOr<ChainSession> chain = OpenChain(flags);
  if (!chain.ok()) return chain.status();
  absl::StatusOr<chain::ChainStatus> st = chain->client->Status();
  if (!st.ok()) return ChainError(st.status(), chain->url);
  if (flags.Has("json")) {
    ctx.out << JsonText({{"url", chain->url},
                         {"chain_id", st->chain_id},
                         {"genesis_hash", ToHex(st->genesis_hash)},
                         {"height", st->height},
                         {"block_hash", ToHex(st->block_hash)},
                         {"block_time_ms", st->block_time_ms},
                         {"block_interval_ms", st->block_interval_ms},
                         {"total_issuance", st->total_issuance},
                         {"events_endpoint", st->events_endpoint},
                         {"subnets", st->subnets}});
    return absl::OkStatus();
  }
  const std::string subnets = st->subnets.empty() ? "(none)" : absl::StrJoin(st->subnets, ", ");
  const std::vector<std::vector<std::string>> rows = {
      {"chain id", absl::CEscape(st->chain_id)},
      {"height", absl::StrCat(st->height)},
      {"block hash", ToHex(st->block_hash)},
      {"block time",
       st->block_time_ms > kMaxShownTimeMs
           ? absl::StrCat(st->block_time_ms, " ms")
           : absl::FormatTime("%Y-%m-%d %H:%M:%E3S UTC",
                              absl::FromUnixMillis(static_cast<int64_t>(st->block_time_ms)),
                              absl::UTCTimeZone())},
      {"block interval", absl::StrCat(st->block_interval_ms, " ms")},
      {"genesis hash", ToHex(st->genesis_hash)},
      {"total issuance", absl::StrCat(FormatTokenAmount(st->total_issuance), " AGORA")},
      {"subnets", subnets},
      {"node", chain->url},
      {"events", absl::CEscape(st->events_endpoint)},
  };
  ctx.out << RenderTable({}, rows, {false, false});
  return absl::OkStatus();
}

}  // namespace

Command BalanceCommand() {
  return {"balance",
          "Show an account's balance, nonce and stakes.",
          "The account is --address ADDR, or the coldkey of wallet --name (no password\n"
          "needed). Amounts are in AGORA with 9 decimals; --json gives base units.",
          Concat({{{"address", "ADDR", "Account address (ag...)."},
                   NameFlag(/*required=*/false),
                   JsonFlag()},
                  ChainFlags(),
                  {WalletFlags()[0]}}),
          Balance,
          {}};
}

Command TransferCommand() {
  return {"transfer",
          "Send tokens from a wallet's coldkey to an address.",
          "Prints the transaction hash and the block it is part of.",
          Concat({{NameFlag(/*required=*/true),
                   {"to", "ADDR", "Recipient address (ag...).", true},
                   {"amount", "X", "Tokens to send, e.g. 1.5 (at most 9 decimals).", true},
                   JsonFlag()},
                  ChainFlags(),
                  WalletFlags()}),
          Transfer,
          {}};
}

Command StakeCommand() {
  auto flags = [](absl::string_view verb) {
    return Concat({{NameFlag(/*required=*/true),
                    {"hotkey", "NAME",
                     absl::StrCat("Hotkey of the wallet to ", verb, " (default \"",
                                  kDefaultHotkeyName, "\").")},
                    {"hotkey-address", "ADDR", "Any registered hotkey by address instead."},
                    {"amount", "X", "Tokens, e.g. 1.5 (at most 9 decimals).", true},
                    JsonFlag()},
                   ChainFlags(),
                   WalletFlags()});
  };
  Command stake;
  stake.name = "stake";
  stake.summary = "Add or remove stake from a coldkey on a hotkey.";
  stake.description =
      "Stake moves tokens from the coldkey's balance onto a registered hotkey, where\n"
      "it counts for validator permits and dividends; removing returns it.";
  stake.subcommands = {
      {"add",
       "Stake tokens from the wallet's coldkey on a hotkey.",
       "",
       flags("stake on"),
       [](const ParsedFlags& f, Context& c) { return Stake(f, c, /*add=*/true); },
       {}},
      {"remove",
       "Take stake from a hotkey back to the wallet's coldkey.",
       "",
       flags("unstake from"),
       [](const ParsedFlags& f, Context& c) { return Stake(f, c, /*add=*/false); },
       {}},
  };
  return stake;
}

Command ChainStatusCommand() {
  Command group;
  group.name = "chain";
  group.summary = "Inspect the chain itself.";
  group.subcommands = {
      {"status",
       "Show the chain's height, block hash, chain id and subnets.",
       "",
       Concat({{JsonFlag()}, ChainFlags()}),
       ChainStatusHandler,
       {}},
  };
  return group;
}

std::vector<Command> ChainCommands() {
  return {BalanceCommand(),   TransferCommand(),  RegisterCommand(), ServeCommand(),
          RegisterModelCommand(), StakeCommand(), MetagraphCommand(), WeightsCommand(),
          ChainStatusCommand()};
}

}  // namespace agora::cli
