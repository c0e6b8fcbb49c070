#include "cli/chain_args.h"

#include <chrono>
#include <cstdlib>
#include <ostream>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "chain/tx_reject.h"
#include "cli/amount.h"
#include "common/address.h"
#include "common/file_util.h"
#include "common/password.h"

namespace agora::cli {
namespace {

constexpr uint64_t kDefaultTimeoutMs = 5000;
constexpr uint64_t kMaxTimeoutMs = 600'000;
constexpr size_t kMaxChainUrlBytes = 4096;

// A chain URL from an environment variable or file: surrounding whitespace
// (the file's newline) is dropped, then it must parse.
absl::StatusOr<std::string> CheckedUrl(absl::string_view raw, absl::string_view source) {
  const std::string url(absl::StripAsciiWhitespace(raw));
  if (url.empty()) return UsageError(absl::StrCat(source, " is empty"));
  absl::StatusOr<protocol::Peer> peer = chain::ParseChainUrl(url);
  if (!peer.ok()) {
    return UsageError(absl::StrCat(source, ": ", absl::CEscape(peer.status().message())));
  }
  return url;
}

}  // namespace

std::vector<FlagSpec> ChainFlags() {
  return {
      {"chain", "URL",
       absl::StrCat("Chain to talk to, <address>@tcp://host:port (default $", kChainUrlEnvVar,
                    ", else the contents of ", kDevnetChainUrlFile, ").")},
      {"no-curve", "", "Talk to the chain without CurveZMQ encryption (must match the node)."},
      {"timeout-ms", "MS",
       absl::StrCat("How long to wait for each answer of the chain (default ", kDefaultTimeoutMs,
                    ").")},
  };
}

std::vector<FlagSpec> WalletFlags() {
  return {
      {"wallet-dir", "DIR", "Wallets directory (default $AGORA_HOME/wallets or ~/.agora/wallets)."},
      {"password-file", "FILE", "Read the wallet password from the first line of FILE."},
      {"password-env", "VAR",
       absl::StrCat("Read the wallet password from $VAR (default ", kDefaultPasswordEnvVar, ").")}};
}

FlagSpec JsonFlag() { return {"json", "", "Print JSON (raw integers, full addresses)."}; }

std::vector<FlagSpec> Concat(std::vector<std::vector<FlagSpec>> parts) {
  std::vector<FlagSpec> out;
  for (auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

absl::StatusOr<std::string> ChainUrlArg(const ParsedFlags& flags) {
  if (flags.Has("chain")) return CheckedUrl(flags.Get("chain"), "--chain");
  if (const char* env = std::getenv(std::string(kChainUrlEnvVar).c_str());
      env != nullptr && *env != '\0') {
    return CheckedUrl(env, absl::StrCat("$", kChainUrlEnvVar));
  }
  if (PathExists(kDevnetChainUrlFile)) {
    absl::StatusOr<std::string> text = ReadFile(kDevnetChainUrlFile, kMaxChainUrlBytes);
    if (!text.ok()) return text.status();
    return CheckedUrl(*text, kDevnetChainUrlFile);
  }
  return UsageError(absl::StrCat("no chain given: pass --chain <address>@tcp://host:port, set $",
                                 kChainUrlEnvVar, ", or run where ", kDevnetChainUrlFile,
                                 " exists (agora-chain run writes it)"));
}

absl::StatusOr<std::unique_ptr<chain::ChainClient>> ConnectChain(const ParsedFlags& flags,
                                                                 absl::string_view url) {
  chain::ChainClientOptions options;
  options.curve = !flags.Has("no-curve");
  options.timeout = std::chrono::milliseconds(kDefaultTimeoutMs);
  if (flags.Has("timeout-ms")) {
    absl::StatusOr<uint64_t> ms = UnsignedArg(flags, "timeout-ms", kMaxTimeoutMs);
    if (!ms.ok()) return ms.status();
    if (*ms == 0) return UsageError("--timeout-ms must be at least 1");
    options.timeout = std::chrono::milliseconds(*ms);
  }
  return chain::ChainClient::Connect(url, nullptr, options);
}

absl::StatusOr<ChainSession> OpenChain(const ParsedFlags& flags) {
  absl::StatusOr<std::string> url = ChainUrlArg(flags);
  if (!url.ok()) return url.status();
  absl::StatusOr<std::unique_ptr<chain::ChainClient>> client = ConnectChain(flags, *url);
  if (!client.ok()) return client.status();
  return ChainSession{*std::move(url), *std::move(client)};
}

absl::StatusOr<PublicKey> AddressArg(const ParsedFlags& flags, absl::string_view flag) {
  absl::StatusOr<PublicKey> key = ParseAddress(flags.Get(flag));
  if (!key.ok()) return UsageError(absl::StrCat("--", flag, ": ", key.status().message()));
  return key;
}

absl::StatusOr<chain::Amount> AmountArg(const ParsedFlags& flags, absl::string_view flag,
                                        bool allow_zero) {
  absl::StatusOr<chain::Amount> amount = ParseTokenAmount(flags.Get(flag), allow_zero);
  if (!amount.ok()) return UsageError(absl::StrCat("--", flag, ": ", amount.status().message()));
  return amount;
}

absl::StatusOr<uint64_t> UnsignedArg(const ParsedFlags& flags, absl::string_view flag,
                                     uint64_t max) {
  absl::StatusOr<uint64_t> v = ParseUnsigned(flags.Get(flag), max, absl::StrCat("--", flag));
  if (!v.ok()) return UsageError(v.status().message());
  return v;
}

absl::StatusOr<chain::NetUid> NetUidArg(const ParsedFlags& flags) {
  absl::StatusOr<uint64_t> v = UnsignedArg(flags, "netuid", 65535);
  if (!v.ok()) return v.status();
  return static_cast<chain::NetUid>(*v);
}

absl::StatusOr<WalletArg> OpenWalletArg(const ParsedFlags& flags) {
  const std::string name = flags.Get("name");
  if (absl::Status s = ValidateWalletName("wallet", name); !s.ok()) return UsageError(s.message());
  std::string root;
  if (flags.Has("wallet-dir")) {
    root = flags.Get("wallet-dir");
    if (root.empty()) return UsageError("--wallet-dir is empty");
  } else {
    absl::StatusOr<std::string> def = DefaultWalletRoot();
    if (!def.ok()) return def.status();
    root = *def;
  }
  WalletStore store(root);
  absl::StatusOr<WalletInfo> info = store.Show(name);
  if (!info.ok()) return info.status();
  if (!info->coldkey.public_key.ok()) {
    return absl::DataLossError(absl::StrCat(
        "wallet '", name, "': coldkey unreadable: ", info->coldkey.public_key.status().message()));
  }
  const PublicKey coldkey = *info->coldkey.public_key;
  return WalletArg{std::move(store), *std::move(info), coldkey};
}

absl::StatusOr<HotkeyChoice> HotkeyArg(const ParsedFlags& flags, const WalletInfo* wallet) {
  if (flags.Has("hotkey-address")) {
    if (flags.Has("hotkey")) return UsageError("give --hotkey or --hotkey-address, not both");
    absl::StatusOr<PublicKey> key = AddressArg(flags, "hotkey-address");
    if (!key.ok()) return key.status();
    return HotkeyChoice{*key, absl::StrCat("hotkey ", EncodeAddress(*key))};
  }
  const std::string name = flags.Get("hotkey", kDefaultHotkeyName);
  if (absl::Status s = ValidateWalletName("hotkey", name); !s.ok()) return UsageError(s.message());
  if (wallet == nullptr) return UsageError("--hotkey needs --name WALLET");
  for (const KeyInfo& h : wallet->hotkeys) {
    if (h.name != name) continue;
    if (!h.public_key.ok()) {
      return absl::DataLossError(
          absl::StrCat("hotkey '", name, "' of wallet '", wallet->name,
                       "' is unreadable: ", h.public_key.status().message()));
    }
    return HotkeyChoice{*h.public_key,
                        absl::StrCat("hotkey '", name, "' (", EncodeAddress(*h.public_key), ")")};
  }
  return absl::NotFoundError(absl::StrCat("wallet '", wallet->name, "' has no hotkey '", name,
                                          "' (see 'agora wallet show --name ", wallet->name, "')"));
}

namespace {
// The wallet's password from --password-file, --password-env or a prompt.
absl::StatusOr<SecretBytes> WalletPassword(const ParsedFlags& flags, const WalletArg& wallet) {
  PasswordSources sources;
  sources.password_file = flags.Get("password-file");
  if (flags.Has("password-file") && sources.password_file.empty()) {
    return UsageError("--password-file is empty");
  }
  sources.env_var = flags.Get("password-env", kDefaultPasswordEnvVar);
  if (sources.env_var.empty()) return UsageError("--password-env is empty");
  return ReadPassword(sources, PasswordUse::kUnlock, absl::StrCat("wallet '", wallet.info.name, "'"));
}
}  // namespace

absl::StatusOr<SigningKey> UnlockColdkey(const ParsedFlags& flags, const WalletArg& wallet) {
  absl::StatusOr<SecretBytes> password = WalletPassword(flags, wallet);
  if (!password.ok()) return password.status();
  return wallet.store.LoadColdkey(wallet.info.name, *password);
}

nlohmann::ordered_json TxJson(const chain::TxReceiptMsg& receipt) {
  return {{"tx_hash", ToHex(receipt.tx_hash)}, {"block", receipt.block}, {"index", receipt.index}};
}

nlohmann::ordered_json HotkeyTxJson(const chain::TxReceiptMsg& receipt, chain::NetUid netuid,
                                    chain::Uid uid, const PublicKey& hotkey) {
  nlohmann::ordered_json j = TxJson(receipt);
  j["netuid"] = netuid;
  j["uid"] = uid;
  j["hotkey"] = EncodeAddress(hotkey);
  return j;
}

absl::StatusOr<HotkeySession> OpenHotkeySession(const ParsedFlags& flags) {
  absl::StatusOr<WalletArg> wallet = OpenWalletArg(flags);
  if (!wallet.ok()) return wallet.status();
  absl::StatusOr<HotkeyChoice> hotkey = HotkeyArg(flags, &wallet->info);
  if (!hotkey.ok()) return hotkey.status();
  absl::StatusOr<ChainSession> chain = OpenChain(flags);
  if (!chain.ok()) return chain.status();
  return HotkeySession{std::move(*wallet), std::move(*hotkey), std::move(*chain)};
}

absl::StatusOr<RegisteredHotkey> OpenRegisteredHotkey(const ParsedFlags& flags, chain::NetUid netuid) {
  absl::StatusOr<HotkeySession> session = OpenHotkeySession(flags);
  if (!session.ok()) return session.status();
  absl::StatusOr<chain::Metagraph> mg = session->chain.client->GetMetagraph(netuid);
  if (!mg.ok()) return ChainError(mg.status(), session->chain.url);
  for (const chain::NeuronInfo& n : mg->neurons) {
    if (n.hotkey == session->hotkey.key) return RegisteredHotkey{std::move(*session), n.uid};
  }
  return chain::Reject(chain::TxReject::kUnregisteredHotkey,
                       absl::StrCat(session->hotkey.label, " is not registered on netuid ", netuid,
                                    " (agora register first)"));
}

absl::StatusOr<SigningKey> UnlockHotkey(const ParsedFlags& flags, const WalletArg& wallet,
                                        absl::string_view hotkey) {
  absl::StatusOr<SecretBytes> password = WalletPassword(flags, wallet);
  if (!password.ok()) return password.status();
  return wallet.store.LoadHotkey(wallet.info.name, hotkey, *password);
}

chain::ChainClient::LimitWait SayLimitWaits(Context& ctx) {
  chain::ChainClient::LimitWait wait;
  wait.on_wait = [&ctx](const absl::Status& refusal, chain::BlockHeight block) {
    ctx.err << refusal.message() << "; waiting for block " << block << " to try again\n"
            << std::flush;
  };
  return wait;
}

absl::Status ChainError(const absl::Status& status, absl::string_view url) {
  if (status.ok()) return status;
  if (chain::TxRejectOf(status).has_value()) return status;
  // Query refusals arrive as transport refusals ("bad-request: unknown-subnet: ...").
  absl::Status restored = chain::RestoreTxReject(status);
  if (chain::TxRejectOf(restored).has_value()) return restored;
  if (status.code() == absl::StatusCode::kUnavailable ||
      status.code() == absl::StatusCode::kDeadlineExceeded) {
    return absl::Status(status.code(),
                        absl::StrCat(status.message(), " (is agora-chain running at ", url,
                                     "? --no-curve must match the node)"));
  }
  return absl::Status(status.code(), absl::StrCat("chain: ", status.message()));
}

std::string ShortAddress(const PublicKey& key) {
  const std::string a = EncodeAddress(key);
  return absl::StrCat(a.substr(0, 8), "...", a.substr(a.size() - 4));
}

}  // namespace agora::cli
