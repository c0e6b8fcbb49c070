#include "common/daemon_wallet.h"

#include <utility>

#include "absl/strings/str_cat.h"

namespace agora {

absl::StatusOr<DaemonWallet> OpenDaemonWallet(const DaemonWalletSpec& spec) {
  std::string root = spec.wallet_dir;
  if (root.empty()) {
    absl::StatusOr<std::string> r = DefaultWalletRoot();
    if (!r.ok()) return r.status();
    root = *r;
  }
  DaemonWallet out{WalletStore(root), SecretBytes(), nullptr};
  absl::StatusOr<SecretBytes> password =
      ReadPassword(spec.password, PasswordUse::kUnlock, absl::StrCat("wallet '", spec.wallet, "'"));
  if (!password.ok()) return password.status();
  absl::StatusOr<SigningKey> hot = out.store.LoadHotkey(spec.wallet, spec.hotkey, *password);
  if (!hot.ok()) return hot.status();
  out.password = std::move(*password);
  out.hotkey = std::make_shared<const SigningKey>(std::move(*hot));
  return out;
}

}  // namespace agora
