// What every `agora` chain command shares: the flags that name the chain and
// the wallet, turning them into a connected chain::ChainClient, a wallet and
// its keys, and turning the chain's refusals into one-line errors.
//
// The chain comes from --chain URL, else $AGORA_CHAIN_URL, else the file
// .devnet/chain/chain.url (relative to the working directory, as `agora-chain
// run` writes it by default); "<address>@tcp://host:port". --no-curve must
// match the node's setting.
//
// Values that come from the user are checked before anything touches the
// network or asks for a password, and a bad value is a usage error (exit 2).
//
// Thread-compatible: used from the CLI's main thread.
#ifndef AGORA_CLI_CHAIN_ARGS_H_
#define AGORA_CLI_CHAIN_ARGS_H_

#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "chain/client.h"
#include "chain/state.h"
#include "cli/cli.h"
#include "common/crypto.h"
#include "common/wallet.h"

namespace agora::cli {

inline constexpr absl::string_view kChainUrlEnvVar = "AGORA_CHAIN_URL";
inline constexpr absl::string_view kDevnetChainUrlFile = ".devnet/chain/chain.url";

// ---- Flag specs ----

// --chain, --no-curve, --timeout-ms.
std::vector<FlagSpec> ChainFlags();
// --wallet-dir, --password-file, --password-env.
std::vector<FlagSpec> WalletFlags();
FlagSpec JsonFlag();
std::vector<FlagSpec> Concat(std::vector<std::vector<FlagSpec>> parts);

// ---- Flag values (usage errors on bad input) ----

// The chain URL from --chain / $AGORA_CHAIN_URL / .devnet/chain/chain.url,
// checked with chain::ParseChainUrl. A usage error naming all three sources
// if none is set.
absl::StatusOr<std::string> ChainUrlArg(const ParsedFlags& flags);

// A connected client for `url` with --no-curve and --timeout-ms applied.
// Connecting sends nothing; the first call does.
absl::StatusOr<std::unique_ptr<chain::ChainClient>> ConnectChain(const ParsedFlags& flags,
                                                                 absl::string_view url);

// ChainUrlArg + ConnectChain: the URL (for messages) and a client.
struct ChainSession {
  std::string url;
  std::unique_ptr<chain::ChainClient> client;
};
absl::StatusOr<ChainSession> OpenChain(const ParsedFlags& flags);

// The address in flag `flag` (e.g. "to"), parsed; a usage error otherwise.
absl::StatusOr<PublicKey> AddressArg(const ParsedFlags& flags, absl::string_view flag);
// The token amount in flag `flag`, parsed exactly (cli/amount.h).
absl::StatusOr<chain::Amount> AmountArg(const ParsedFlags& flags, absl::string_view flag,
                                        bool allow_zero = false);
// An unsigned integer flag in [0, max].
absl::StatusOr<uint64_t> UnsignedArg(const ParsedFlags& flags, absl::string_view flag,
                                     uint64_t max);
absl::StatusOr<chain::NetUid> NetUidArg(const ParsedFlags& flags);

// The wallet named by --name in --wallet-dir (or the default root), read
// without a password. NotFound if it does not exist.
struct WalletArg {
  WalletStore store;
  WalletInfo info;
  PublicKey coldkey{};
};
absl::StatusOr<WalletArg> OpenWalletArg(const ParsedFlags& flags);

// The hotkey a command acts on: --hotkey-address ADDR, else hotkey --hotkey
// NAME (default "default") of `wallet`. Usage error if both flags are given.
struct HotkeyChoice {
  PublicKey key{};
  std::string label;  // "hotkey 'default'" or "hotkey ag..."
};
absl::StatusOr<HotkeyChoice> HotkeyArg(const ParsedFlags& flags, const WalletInfo* wallet);

// Asks for the wallet password (file, env, prompt) and decrypts its coldkey.
absl::StatusOr<SigningKey> UnlockColdkey(const ParsedFlags& flags, const WalletArg& wallet);
// The same for the wallet's hotkey named `hotkey` (transactions a hotkey
// signs itself, such as serve_axon).
absl::StatusOr<SigningKey> UnlockHotkey(const ParsedFlags& flags, const WalletArg& wallet,
                                        absl::string_view hotkey);

// The wallet the flags name, its hotkey and the chain, opened in that order:
// what every command acting for a hotkey starts with (register, stake).
struct HotkeySession {
  WalletArg wallet;
  HotkeyChoice hotkey;
  ChainSession chain;
};
absl::StatusOr<HotkeySession> OpenHotkeySession(const ParsedFlags& flags);

// A receipt's fields in --json output: tx_hash, block, index.
nlohmann::ordered_json TxJson(const chain::TxReceiptMsg& receipt);
// The same plus the subnet, uid and hotkey a hotkey's transaction is for
// (serve, register-model).
nlohmann::ordered_json HotkeyTxJson(const chain::TxReceiptMsg& receipt, chain::NetUid netuid,
                                    chain::Uid uid, const PublicKey& hotkey);

// A transaction a registered hotkey signs itself (serve, register-model):
// the session and the hotkey's uid on `netuid`. kUnregisteredHotkey
// ("... agora register first") when it is not registered there.
struct RegisteredHotkey : HotkeySession {
  chain::Uid uid = 0;
};
absl::StatusOr<RegisteredHotkey> OpenRegisteredHotkey(const ParsedFlags& flags, chain::NetUid netuid);
// ---- Results ----

// A status from the chain client, made readable: transaction and query
// refusals become "<reason>: <detail>" (chain/tx_reject.h strings), and a
// chain that does not answer gets a hint about the URL and --no-curve.
absl::Status ChainError(const absl::Status& status, absl::string_view url);

// For ChainClient::SendWhenAllowed: each wait for a block that lifts a limit
// is one line on ctx.err ("<refusal>; waiting for block B to try again").
chain::ChainClient::LimitWait SayLimitWaits(Context& ctx);

// Unlocks the hotkey and sends `payload` as a `type` transaction with
// ChainClient::SendWhenAllowed (a limit the next blocks lift is waited out,
// each wait said on ctx.err); chain errors made readable (ChainError).
template <typename Payload>
absl::StatusOr<chain::TxReceiptMsg> SendAsHotkey(const ParsedFlags& flags, Context& ctx,
                                                 const RegisteredHotkey& as, const char* type,
                                                 const Payload& payload) {
  absl::StatusOr<SigningKey> key =
      UnlockHotkey(flags, as.wallet, flags.Get("hotkey", kDefaultHotkeyName));
  if (!key.ok()) return key.status();
  absl::StatusOr<chain::TxReceiptMsg> receipt =
      as.chain.client->SendWhenAllowed(*key, type, payload, SayLimitWaits(ctx));
  if (!receipt.ok()) return ChainError(receipt.status(), as.chain.url);
  return receipt;
}

// "agAbCdEf...wxyz": an address shortened for tables.
std::string ShortAddress(const PublicKey& key);

}  // namespace agora::cli

#endif  // AGORA_CLI_CHAIN_ARGS_H_
