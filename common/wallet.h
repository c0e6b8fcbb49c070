// Wallets on disk: a coldkey (holds funds, stakes) and one or more named
// hotkeys (sign traffic, own uids), each an encrypted key file (keyfile.h)
// sealed with the wallet's one password. Used by the `agora wallet` commands
// and, to load a hotkey, by miners and validators.
//
// Layout under a root directory (docs/KEYFILES.md "Wallet directory"):
//
//   <root>/<wallet>/coldkey                       key file, 0600
//   <root>/<wallet>/coldkeypub.txt                the coldkey's address and "\n"
//   <root>/<wallet>/hotkeys/<hotkey>              key file, 0600
//   <root>/<wallet>/hotkeys/<hotkey>.<UTC>.bak    the old key, kept by RegenerateHotkey
//
// Directories are created 0700. Every write is atomic (file_util.h), and no
// operation ever replaces a key without first keeping a copy: creating a
// wallet or hotkey that exists is refused with AlreadyExists, and
// RegenerateHotkey keeps the old file as a timestamped backup.
//
// Wallet and hotkey names match [A-Za-z0-9_-]{1,64}, so a name can never walk
// out of its directory ("..", "/") and backup or temporary files (which contain
// '.') are never mistaken for keys.
//
// WalletStore holds only its root path: methods are const-safe to call from
// several threads, and concurrent processes see each file change atomically.
#ifndef AGORA_COMMON_WALLET_H_
#define AGORA_COMMON_WALLET_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/crypto.h"
#include "common/keyfile.h"

namespace agora {

inline constexpr absl::string_view kDefaultHotkeyName = "default";
inline constexpr size_t kMaxWalletNameChars = 64;

// OK iff `name` matches [A-Za-z0-9_-]{1,64}; otherwise InvalidArgument
// "<kind> name '<name>': ..." (kind is "wallet" or "hotkey").
absl::Status ValidateWalletName(absl::string_view kind, absl::string_view name);

// The default root: $AGORA_HOME/wallets if AGORA_HOME is set and not empty,
// else $HOME/.agora/wallets; FailedPrecondition if neither is set.
absl::StatusOr<std::string> DefaultWalletRoot();

// A key found on disk. `public_key` is read without a password, so it is an
// error (not a failure of the whole listing) when that one file is damaged.
struct KeyInfo {
  std::string name;  // hotkey name, or "coldkey"
  std::string path;
  absl::StatusOr<PublicKey> public_key = absl::UnknownError("not read");
};

struct WalletInfo {
  std::string name;
  std::string path;  // <root>/<name>
  KeyInfo coldkey;
  std::vector<KeyInfo> hotkeys;  // sorted by name
};

struct RegenerateResult {
  std::optional<PublicKey> old_key;  // absent if the old file was unreadable
  PublicKey new_key{};
  std::string backup_path;  // where the old file was kept
};

class WalletStore {
 public:
  explicit WalletStore(std::string root) : root_(std::move(root)) {}

  const std::string& root() const { return root_; }
  // Paths, for messages and tests. Requires: valid names.
  std::string WalletPath(absl::string_view wallet) const;
  std::string ColdkeyPath(absl::string_view wallet) const;
  std::string HotkeyPath(absl::string_view wallet, absl::string_view hotkey) const;

  // Creates wallet `name` with a new coldkey and a first hotkey `hotkey`, both
  // sealed with `password`. Creates the root if missing. AlreadyExists if the
  // wallet directory exists (nothing is touched); on any other failure the
  // partly created wallet is removed again.
  absl::StatusOr<WalletInfo> Create(absl::string_view name, absl::string_view hotkey,
                                    const SecretBytes& password, KdfParams kdf) const;

  // Every wallet under the root, sorted by name (no password needed). An empty
  // list if the root does not exist. Entries that are not valid wallet names
  // are skipped.
  absl::StatusOr<std::vector<WalletInfo>> List() const;

  // One wallet (no password needed). NotFound if it does not exist.
  absl::StatusOr<WalletInfo> Show(absl::string_view name) const;

  // The decrypted keys. NotFound for a missing wallet or hotkey; the key file
  // errors of DecodeKeyFile (PermissionDenied for a wrong password), with the
  // file's path in the message.
  absl::StatusOr<SigningKey> LoadColdkey(absl::string_view name, const SecretBytes& password) const;
  absl::StatusOr<SigningKey> LoadHotkey(absl::string_view name, absl::string_view hotkey,
                                        const SecretBytes& password) const;

  // Adds a new random hotkey `hotkey`. The password must open the coldkey (so a
  // mistyped password cannot create a key nobody can open). `kdf` absent: the
  // coldkey's parameters. AlreadyExists if the hotkey exists.
  absl::StatusOr<KeyInfo> AddHotkey(absl::string_view name, absl::string_view hotkey,
                                    const SecretBytes& password,
                                    std::optional<KdfParams> kdf) const;

  // Replaces hotkey `hotkey` with a new random key. The password must open the
  // coldkey; `kdf` absent: the coldkey's parameters. The old file is first copied to
  // "hotkeys/<hotkey>.<YYYYMMDDTHHMMSSZ>.bak" (`now_unix_seconds`, UTC; "-2",
  // "-3", ... appended if taken); only then is the hotkey replaced. NotFound
  // if the hotkey does not exist.
  absl::StatusOr<RegenerateResult> RegenerateHotkey(absl::string_view name,
                                                    absl::string_view hotkey,
                                                    const SecretBytes& password,
                                                    std::optional<KdfParams> kdf,
                                                    int64_t now_unix_seconds) const;

 private:
  absl::Status CheckWalletExists(absl::string_view name) const;
  KeyInfo ReadKeyInfo(std::string name, std::string path) const;
  // Opens the coldkey with `password` (proving the caller owns the wallet) and
  // returns the KDF parameters for a new key file: `kdf`, else the coldkey's.
  absl::StatusOr<KdfParams> AuthorizeNewKey(absl::string_view name, const SecretBytes& password,
                                            std::optional<KdfParams> kdf) const;
  absl::StatusOr<SigningKey> LoadKey(std::string path, absl::string_view what,
                                     const SecretBytes& password) const;

  std::string root_;
};

}  // namespace agora

#endif  // AGORA_COMMON_WALLET_H_
