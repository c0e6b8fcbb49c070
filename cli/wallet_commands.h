// `agora wallet ...`: create, list and show wallets, add and regenerate
// hotkeys. A thin layer over common/wallet.h that parses flags, finds the
// password (common/password.h) and prints results as text or JSON.
//
//   agora wallet new          --name N [--hotkey H] [--kdf interactive|moderate]
//   agora wallet list         [--json]
//   agora wallet show         --name N [--json]
//   agora wallet new-hotkey   --name N --hotkey H [--kdf ...]
//   agora wallet regen-hotkey --name N [--hotkey H] [--kdf ...]
//
// Every command takes --wallet-dir D (default $AGORA_HOME/wallets or
// ~/.agora/wallets); those that need the password take --password-file F and
// --password-env VAR (default AGORA_WALLET_PASSWORD), else prompt on a terminal.
#ifndef AGORA_CLI_WALLET_COMMANDS_H_
#define AGORA_CLI_WALLET_COMMANDS_H_

#include "cli/cli.h"

namespace agora::cli {

// The "wallet" command group, for the table in cli/main.cc.
Command WalletCommand();

}  // namespace agora::cli

#endif  // AGORA_CLI_WALLET_COMMANDS_H_
