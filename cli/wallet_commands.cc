#include "cli/wallet_commands.h"

#include <algorithm>
#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/address.h"
#include "common/clock.h"
#include "common/crypto.h"
#include "common/file_util.h"
#include "common/keyfile.h"
#include "common/password.h"
#include "common/wallet.h"
#include "nlohmann/json.hpp"

namespace agora::cli {
namespace {

// ---- Flags shared by several commands ----

FlagSpec NameFlag() { return {"name", "NAME", "Wallet name ([A-Za-z0-9_-], at most 64).", true}; }
FlagSpec WalletDirFlag() {
  return {"wallet-dir", "DIR",
          "Wallets directory (default $AGORA_HOME/wallets or ~/.agora/wallets)."};
}
FlagSpec JsonFlag() { return {"json", "", "Print JSON instead of text."}; }
FlagSpec KdfFlag(absl::string_view default_text) {
  return {"kdf", "interactive|moderate",
          absl::StrCat("Password hashing cost (argon2id presets; default ", default_text, ").")};
}
std::vector<FlagSpec> PasswordFlags() {
  return {{"password-file", "FILE", "Read the password from the first line of FILE."},
          {"password-env", "VAR",
           absl::StrCat("Read the password from $VAR (default ", kDefaultPasswordEnvVar, ").")}};
}

std::vector<FlagSpec> Concat(std::vector<std::vector<FlagSpec>> parts) {
  std::vector<FlagSpec> out;
  for (auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

// ---- Turning flags into library arguments ----

absl::StatusOr<WalletStore> StoreFor(const ParsedFlags& flags) {
  if (flags.Has("wallet-dir")) {
    const std::string dir = flags.Get("wallet-dir");
    if (dir.empty()) return UsageError("--wallet-dir is empty");
    return WalletStore(dir);
  }
  absl::StatusOr<std::string> root = DefaultWalletRoot();
  if (!root.ok()) return root.status();
  return WalletStore(*root);
}

// A name flag, checked; a bad name is a usage error.
absl::StatusOr<std::string> NameArg(const ParsedFlags& flags, absl::string_view flag,
                                    absl::string_view kind, absl::string_view fallback = "") {
  std::string name = flags.Get(flag, fallback);
  if (absl::Status s = ValidateWalletName(kind, name); !s.ok()) return UsageError(s.message());
  return name;
}

absl::StatusOr<std::optional<KdfParams>> KdfArg(const ParsedFlags& flags) {
  if (!flags.Has("kdf")) return std::optional<KdfParams>();
  absl::StatusOr<KdfStrength> strength = ParseKdfStrength(flags.Get("kdf"));
  if (!strength.ok()) return UsageError(strength.status().message());
  return std::optional<KdfParams>(KdfParamsFor(*strength));
}

absl::StatusOr<SecretBytes> PasswordArg(const ParsedFlags& flags, PasswordUse use,
                                        absl::string_view wallet) {
  PasswordSources sources;
  sources.password_file = flags.Get("password-file");
  if (flags.Has("password-file") && sources.password_file.empty()) {
    return UsageError("--password-file is empty");
  }
  sources.env_var = flags.Get("password-env", kDefaultPasswordEnvVar);
  if (sources.env_var.empty()) return UsageError("--password-env is empty");
  return ReadPassword(sources, use, absl::StrCat("wallet '", wallet, "'"));
}

// ---- Printing ----

std::string KeyText(const KeyInfo& key, bool with_hex) {
  if (!key.public_key.ok())
    return absl::StrCat("<unreadable: ", key.public_key.status().message(), ">");
  std::string out = EncodeAddress(*key.public_key);
  if (with_hex) absl::StrAppend(&out, "  ", ToHex(*key.public_key));
  return out;
}

void PrintWallet(absl::string_view title, const WalletInfo& w, bool with_hex, std::ostream& out) {
  out << title << " " << w.name << " (" << w.path << ")\n";
  size_t width = std::string("coldkey").size();
  for (const KeyInfo& h : w.hotkeys) width = std::max(width, h.name.size() + 7);
  auto row = [&](const std::string& label, const KeyInfo& key) {
    out << "  " << label << std::string(width - label.size() + 2, ' ') << KeyText(key, with_hex)
        << "\n";
  };
  row("coldkey", w.coldkey);
  for (const KeyInfo& h : w.hotkeys) row(absl::StrCat("hotkey ", h.name), h);
  if (w.hotkeys.empty()) out << "  (no hotkeys)\n";
}

nlohmann::json KeyJson(const KeyInfo& key) {
  nlohmann::json j = {{"name", key.name}, {"path", key.path}};
  if (key.public_key.ok()) {
    j["address"] = EncodeAddress(*key.public_key);
    j["public_key"] = ToHex(*key.public_key);
  } else {
    j["error"] = std::string(key.public_key.status().message());
  }
  return j;
}

nlohmann::json WalletJson(const WalletInfo& w) {
  nlohmann::json hotkeys = nlohmann::json::array();
  for (const KeyInfo& h : w.hotkeys) hotkeys.push_back(KeyJson(h));
  return {
      {"name", w.name}, {"path", w.path}, {"coldkey", KeyJson(w.coldkey)}, {"hotkeys", hotkeys}};
}

// ---- Handlers ----

absl::Status New(const ParsedFlags& flags, Context& ctx) {
  absl::StatusOr<std::string> name = NameArg(flags, "name", "wallet");
  if (!name.ok()) return name.status();
  absl::StatusOr<std::string> hotkey = NameArg(flags, "hotkey", "hotkey", kDefaultHotkeyName);
  if (!hotkey.ok()) return hotkey.status();
  absl::StatusOr<std::optional<KdfParams>> kdf = KdfArg(flags);
  if (!kdf.ok()) return kdf.status();
  absl::StatusOr<WalletStore> store = StoreFor(flags);
  if (!store.ok()) return store.status();
  if (PathExists(store->WalletPath(*name))) {  // fail before asking for a password
    return absl::AlreadyExistsError(absl::StrCat("wallet '", *name, "' already exists in ",
                                                 store->root(), " (refusing to overwrite it)"));
  }
  absl::StatusOr<SecretBytes> password = PasswordArg(flags, PasswordUse::kCreate, *name);
  if (!password.ok()) return password.status();
  absl::StatusOr<WalletInfo> wallet =
      store->Create(*name, *hotkey, *password, kdf->value_or(KdfParamsFor(KdfStrength::kModerate)));
  if (!wallet.ok()) return wallet.status();
  PrintWallet("Created wallet", *wallet, /*with_hex=*/false, ctx.out);
  ctx.out << "Keep the password safe: without it these keys cannot be opened, and nobody can "
             "recover it.\nBack up the directory "
          << wallet->path << " to keep the keys.\n";
  return absl::OkStatus();
}

absl::Status List(const ParsedFlags& flags, Context& ctx) {
  absl::StatusOr<WalletStore> store = StoreFor(flags);
  if (!store.ok()) return store.status();
  absl::StatusOr<std::vector<WalletInfo>> wallets = store->List();
  if (!wallets.ok()) return wallets.status();
  if (flags.Has("json")) {
    nlohmann::json list = nlohmann::json::array();
    for (const WalletInfo& w : *wallets) list.push_back(WalletJson(w));
    ctx.out << nlohmann::json{{"wallet_dir", store->root()}, {"wallets", list}}.dump(2) << "\n";
    return absl::OkStatus();
  }
  if (wallets->empty()) ctx.out << "No wallets in " << store->root() << "\n";
  for (const WalletInfo& w : *wallets) PrintWallet("Wallet", w, /*with_hex=*/false, ctx.out);
  return absl::OkStatus();
}

absl::Status Show(const ParsedFlags& flags, Context& ctx) {
  absl::StatusOr<std::string> name = NameArg(flags, "name", "wallet");
  if (!name.ok()) return name.status();
  absl::StatusOr<WalletStore> store = StoreFor(flags);
  if (!store.ok()) return store.status();
  absl::StatusOr<WalletInfo> wallet = store->Show(*name);
  if (!wallet.ok()) return wallet.status();
  if (flags.Has("json")) {
    ctx.out << WalletJson(*wallet).dump(2) << "\n";
  } else {
    PrintWallet("Wallet", *wallet, /*with_hex=*/true, ctx.out);
  }
  return absl::OkStatus();
}

absl::Status NewHotkey(const ParsedFlags& flags, Context& ctx) {
  absl::StatusOr<std::string> name = NameArg(flags, "name", "wallet");
  if (!name.ok()) return name.status();
  absl::StatusOr<std::string> hotkey = NameArg(flags, "hotkey", "hotkey");
  if (!hotkey.ok()) return hotkey.status();
  absl::StatusOr<std::optional<KdfParams>> kdf = KdfArg(flags);
  if (!kdf.ok()) return kdf.status();
  absl::StatusOr<WalletStore> store = StoreFor(flags);
  if (!store.ok()) return store.status();
  if (absl::StatusOr<WalletInfo> w = store->Show(*name); !w.ok()) return w.status();
  absl::StatusOr<SecretBytes> password = PasswordArg(flags, PasswordUse::kUnlock, *name);
  if (!password.ok()) return password.status();
  absl::StatusOr<KeyInfo> key = store->AddHotkey(*name, *hotkey, *password, *kdf);
  if (!key.ok()) return key.status();
  ctx.out << "Added hotkey '" << key->name << "' to wallet '" << *name
          << "': " << KeyText(*key, /*with_hex=*/false) << "\n";
  return absl::OkStatus();
}

absl::Status RegenHotkey(const ParsedFlags& flags, Context& ctx) {
  absl::StatusOr<std::string> name = NameArg(flags, "name", "wallet");
  if (!name.ok()) return name.status();
  absl::StatusOr<std::string> hotkey = NameArg(flags, "hotkey", "hotkey", kDefaultHotkeyName);
  if (!hotkey.ok()) return hotkey.status();
  absl::StatusOr<std::optional<KdfParams>> kdf = KdfArg(flags);
  if (!kdf.ok()) return kdf.status();
  absl::StatusOr<WalletStore> store = StoreFor(flags);
  if (!store.ok()) return store.status();
  if (absl::StatusOr<WalletInfo> w = store->Show(*name); !w.ok()) return w.status();
  absl::StatusOr<SecretBytes> password = PasswordArg(flags, PasswordUse::kUnlock, *name);
  if (!password.ok()) return password.status();
  absl::StatusOr<RegenerateResult> result = store->RegenerateHotkey(
      *name, *hotkey, *password, *kdf, static_cast<int64_t>(UnixMillis() / 1000));
  if (!result.ok()) return result.status();
  ctx.out << "Regenerated hotkey '" << *hotkey << "' of wallet '" << *name << "'\n"
          << "  old  "
          << (result->old_key.has_value() ? EncodeAddress(*result->old_key) : "<unreadable>")
          << "  (kept in " << result->backup_path << ")\n"
          << "  new  " << EncodeAddress(result->new_key) << "\n";
  return absl::OkStatus();
}

}  // namespace

Command WalletCommand() {
  Command wallet;
  wallet.name = "wallet";
  wallet.summary = "Create and inspect wallets (a coldkey and its hotkeys).";
  wallet.description =
      "Key files are encrypted with the wallet password (argon2id + XChaCha20-Poly1305).\n"
      "The password comes from --password-file, $AGORA_WALLET_PASSWORD, or a prompt.";
  wallet.subcommands = {
      {"new",
       "Create a wallet: a new coldkey and a first hotkey.",
       "Refuses to touch a wallet that already exists.",
       Concat({{NameFlag(),
                {"hotkey", "NAME",
                 absl::StrCat("First hotkey's name (default \"", kDefaultHotkeyName, "\").")},
                WalletDirFlag(),
                KdfFlag("moderate")},
               PasswordFlags()}),
       New,
       {}},
      {"list",
       "List wallets with their coldkey and hotkey addresses (no password needed).",
       "",
       {WalletDirFlag(), JsonFlag()},
       List,
       {}},
      {"show",
       "Show one wallet's addresses and hex public keys (no password needed).",
       "",
       {NameFlag(), WalletDirFlag(), JsonFlag()},
       Show,
       {}},
      {"new-hotkey",
       "Add a new hotkey to a wallet.",
       "The password must open the wallet's coldkey.",
       Concat({{NameFlag(),
                {"hotkey", "NAME", "Name of the new hotkey.", true},
                WalletDirFlag(),
                KdfFlag("the coldkey's")},
               PasswordFlags()}),
       NewHotkey,
       {}},
      {"regen-hotkey",
       "Replace a hotkey with a new random key (the old file is kept).",
       "The password must open the wallet's coldkey. The old key file is kept as\n"
       "hotkeys/<hotkey>.<UTC time>.bak next to the new one.",
       Concat({{NameFlag(),
                {"hotkey", "NAME",
                 absl::StrCat("Hotkey to replace (default \"", kDefaultHotkeyName, "\").")},
                WalletDirFlag(),
                KdfFlag("the coldkey's")},
               PasswordFlags()}),
       RegenHotkey,
       {}},
  };
  return wallet;
}

}  // namespace agora::cli
