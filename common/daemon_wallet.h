// How a long-running process (agora-miner, agora-validator) finds its keys:
// the wallet root, wallet and hotkey names and where the password comes from,
// as their --wallet-dir/--wallet/--hotkey/--password-* flags say. The
// password is read once and kept (guarded) for later coldkey operations such
// as registration.
#ifndef AGORA_COMMON_DAEMON_WALLET_H_
#define AGORA_COMMON_DAEMON_WALLET_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "common/crypto.h"
#include "common/password.h"
#include "common/wallet.h"

namespace agora {

struct DaemonWalletSpec {
  std::string wallet_dir;  // empty: DefaultWalletRoot()
  std::string wallet = "default";
  std::string hotkey = "default";
  PasswordSources password;
};

struct DaemonWallet {
  WalletStore store{""};
  SecretBytes password;
  std::shared_ptr<const SigningKey> hotkey;
};

// Reads the password (once) and opens the hotkey. Errors of DefaultWalletRoot,
// ReadPassword and WalletStore::LoadHotkey.
absl::StatusOr<DaemonWallet> OpenDaemonWallet(const DaemonWalletSpec& spec);

}  // namespace agora

#endif  // AGORA_COMMON_DAEMON_WALLET_H_
