#include "common/wallet.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <system_error>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/address.h"
#include "common/file_util.h"

namespace agora {
namespace {

// Key files are 140 bytes; anything up to this limit is read so the key file
// decoder can say precisely what is wrong with it.
constexpr size_t kMaxKeyFileReadBytes = 64 * 1024;
constexpr absl::string_view kColdkeyFile = "coldkey";
constexpr absl::string_view kColdkeyPubFile = "coldkeypub.txt";
constexpr absl::string_view kHotkeysDir = "hotkeys";

bool IsNameChar(char c) { return absl::ascii_isalnum(c) || c == '_' || c == '-'; }

bool IsValidName(absl::string_view name) {
  return !name.empty() && name.size() <= kMaxWalletNameChars &&
         std::all_of(name.begin(), name.end(), IsNameChar);
}

// `status` with "<context>: " before its message, code kept.
absl::Status Annotate(const absl::Status& status, absl::string_view context) {
  return absl::Status(status.code(), absl::StrCat(context, ": ", status.message()));
}

std::string Quoted(absl::string_view kind, absl::string_view name) {
  return absl::StrCat(kind, " '", name, "'");
}

// Names of the entries of `dir` that are valid names and satisfy `keep`, sorted.
template <typename Pred>
absl::StatusOr<std::vector<std::string>> ListNames(const std::string& dir, Pred keep) {
  std::vector<std::string> names;
  std::error_code ec;
  std::filesystem::directory_iterator it(dir, ec);
  if (ec) return ErrnoError(ec.value(), "list", dir);
  for (; it != std::filesystem::directory_iterator(); it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (IsValidName(name) && keep(*it)) names.push_back(name);
  }
  if (ec) return ErrnoError(ec.value(), "list", dir);
  std::sort(names.begin(), names.end());
  return names;
}

std::string UtcStamp(int64_t unix_seconds) {
  const time_t t = static_cast<time_t>(unix_seconds);
  struct tm tm {};
  if (::gmtime_r(&t, &tm) == nullptr) return absl::StrCat(unix_seconds);
  return absl::StrFormat("%04d%02d%02dT%02d%02d%02dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                         tm.tm_hour, tm.tm_min, tm.tm_sec);
}

// Removes what Create made, in reverse order, ignoring errors (best effort).
void RemoveQuietly(const std::vector<std::string>& paths) {
  for (auto it = paths.rbegin(); it != paths.rend(); ++it) ::remove(it->c_str());
}

}  // namespace

absl::Status ValidateWalletName(absl::string_view kind, absl::string_view name) {
  if (IsValidName(name)) return absl::OkStatus();
  const std::string shown = absl::CEscape(name.substr(0, 80));
  return absl::InvalidArgumentError(
      absl::StrCat(kind, " name '", shown, name.size() > 80 ? "...'" : "'", ": use 1 to ",
                   kMaxWalletNameChars, " characters from A-Z a-z 0-9 _ -"));
}

absl::StatusOr<std::string> DefaultWalletRoot() {
  const char* agora_home = std::getenv("AGORA_HOME");
  if (agora_home != nullptr && *agora_home != '\0') return absl::StrCat(agora_home, "/wallets");
  const char* home = std::getenv("HOME");
  if (home != nullptr && *home != '\0') return absl::StrCat(home, "/.agora/wallets");
  return absl::FailedPreconditionError(
      "no wallet directory: set AGORA_HOME or HOME, or pass --wallet-dir");
}

std::string WalletStore::WalletPath(absl::string_view wallet) const {
  return absl::StrCat(root_, "/", wallet);
}
std::string WalletStore::ColdkeyPath(absl::string_view wallet) const {
  return absl::StrCat(WalletPath(wallet), "/", kColdkeyFile);
}
std::string WalletStore::HotkeyPath(absl::string_view wallet, absl::string_view hotkey) const {
  return absl::StrCat(WalletPath(wallet), "/", kHotkeysDir, "/", hotkey);
}

absl::Status WalletStore::CheckWalletExists(absl::string_view name) const {
  if (absl::Status s = ValidateWalletName("wallet", name); !s.ok()) return s;
  struct stat st;
  if (::stat(WalletPath(name).c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return absl::NotFoundError(absl::StrCat(Quoted("wallet", name), " not found in ", root_));
  }
  return absl::OkStatus();
}

KeyInfo WalletStore::ReadKeyInfo(std::string name, std::string path) const {
  KeyInfo info;
  info.name = std::move(name);
  info.path = std::move(path);
  absl::StatusOr<std::string> bytes = ReadFile(info.path, kMaxKeyFileReadBytes);
  if (!bytes.ok()) {
    info.public_key = bytes.status();
  } else {
    info.public_key = ReadKeyFilePublicKey(*bytes);
    if (!info.public_key.ok()) info.public_key = Annotate(info.public_key.status(), info.path);
  }
  return info;
}

absl::StatusOr<SigningKey> WalletStore::LoadKey(std::string path, absl::string_view what,
                                                const SecretBytes& password) const {
  absl::StatusOr<std::string> bytes = ReadFile(path, kMaxKeyFileReadBytes);
  if (!bytes.ok()) return Annotate(bytes.status(), what);
  absl::StatusOr<SigningKey> key = DecodeKeyFile(*bytes, password);
  if (!key.ok()) return Annotate(key.status(), absl::StrCat(what, " (", path, ")"));
  return key;
}

absl::StatusOr<WalletInfo> WalletStore::Create(absl::string_view name, absl::string_view hotkey,
                                               const SecretBytes& password, KdfParams kdf) const {
  if (absl::Status s = ValidateWalletName("wallet", name); !s.ok()) return s;
  if (absl::Status s = ValidateWalletName("hotkey", hotkey); !s.ok()) return s;
  // The slow part first, so that a failure here leaves nothing on disk.
  const SigningKey coldkey = SigningKey::Generate();
  const SigningKey first_hotkey = SigningKey::Generate();
  absl::StatusOr<std::string> coldkey_file = EncodeKeyFile(coldkey, password, kdf);
  if (!coldkey_file.ok()) return coldkey_file.status();
  absl::StatusOr<std::string> hotkey_file = EncodeKeyFile(first_hotkey, password, kdf);
  if (!hotkey_file.ok()) return hotkey_file.status();

  if (absl::Status s = MakeDirs(root_); !s.ok()) return s;
  const std::string dir = WalletPath(name);
  if (::mkdir(dir.c_str(), 0700) != 0) {
    if (errno == EEXIST) {
      return absl::AlreadyExistsError(absl::StrCat(Quoted("wallet", name), " already exists in ",
                                                   root_, " (refusing to overwrite it)"));
    }
    return ErrnoError(errno, "mkdir", dir);
  }
  std::vector<std::string> created = {dir};
  auto fail = [&](const absl::Status& s) {
    RemoveQuietly(created);
    return s;
  };
  const std::string hotkeys_dir = absl::StrCat(dir, "/", kHotkeysDir);
  if (::mkdir(hotkeys_dir.c_str(), 0700) != 0) return fail(ErrnoError(errno, "mkdir", hotkeys_dir));
  created.push_back(hotkeys_dir);
  const std::string coldkey_path = ColdkeyPath(name);
  if (absl::Status s = WriteFileAtomic(coldkey_path, *coldkey_file, 0600, IfExists::kFail);
      !s.ok()) {
    return fail(s);
  }
  created.push_back(coldkey_path);
  const std::string pub_path = absl::StrCat(dir, "/", kColdkeyPubFile);
  if (absl::Status s = WriteFileAtomic(pub_path, EncodeAddress(coldkey.public_key()) + "\n", 0644,
                                       IfExists::kFail);
      !s.ok()) {
    return fail(s);
  }
  created.push_back(pub_path);
  const std::string hotkey_path = HotkeyPath(name, hotkey);
  if (absl::Status s = WriteFileAtomic(hotkey_path, *hotkey_file, 0600, IfExists::kFail); !s.ok()) {
    return fail(s);
  }
  return Show(name);
}

absl::StatusOr<std::vector<WalletInfo>> WalletStore::List() const {
  std::vector<WalletInfo> wallets;
  if (!PathExists(root_)) return wallets;
  absl::StatusOr<std::vector<std::string>> names =
      ListNames(root_, [](const std::filesystem::directory_entry& e) {
        std::error_code ec;
        return e.is_directory(ec);
      });
  if (!names.ok()) return names.status();
  for (const std::string& name : *names) {
    absl::StatusOr<WalletInfo> info = Show(name);
    if (!info.ok()) return info.status();
    wallets.push_back(*std::move(info));
  }
  return wallets;
}

absl::StatusOr<WalletInfo> WalletStore::Show(absl::string_view name) const {
  if (absl::Status s = CheckWalletExists(name); !s.ok()) return s;
  WalletInfo info;
  info.name = std::string(name);
  info.path = WalletPath(name);
  info.coldkey = ReadKeyInfo(std::string(kColdkeyFile), ColdkeyPath(name));
  const std::string hotkeys_dir = absl::StrCat(info.path, "/", kHotkeysDir);
  if (!PathExists(hotkeys_dir)) return info;  // a wallet with no hotkeys yet
  absl::StatusOr<std::vector<std::string>> names =
      ListNames(hotkeys_dir, [](const std::filesystem::directory_entry& e) {
        std::error_code ec;
        return e.is_regular_file(ec);
      });
  if (!names.ok()) return names.status();
  for (const std::string& hotkey : *names) {
    info.hotkeys.push_back(ReadKeyInfo(hotkey, HotkeyPath(name, hotkey)));
  }
  return info;
}

absl::StatusOr<SigningKey> WalletStore::LoadColdkey(absl::string_view name,
                                                    const SecretBytes& password) const {
  if (absl::Status s = CheckWalletExists(name); !s.ok()) return s;
  return LoadKey(ColdkeyPath(name), absl::StrCat(Quoted("wallet", name), " coldkey"), password);
}

absl::StatusOr<SigningKey> WalletStore::LoadHotkey(absl::string_view name, absl::string_view hotkey,
                                                   const SecretBytes& password) const {
  if (absl::Status s = CheckWalletExists(name); !s.ok()) return s;
  if (absl::Status s = ValidateWalletName("hotkey", hotkey); !s.ok()) return s;
  const std::string path = HotkeyPath(name, hotkey);
  if (!PathExists(path)) {
    return absl::NotFoundError(
        absl::StrCat(Quoted("hotkey", hotkey), " not found in ", Quoted("wallet", name)));
  }
  return LoadKey(path, absl::StrCat(Quoted("wallet", name), " ", Quoted("hotkey", hotkey)),
                 password);
}

absl::StatusOr<KdfParams> WalletStore::AuthorizeNewKey(absl::string_view name,
                                                       const SecretBytes& password,
                                                       std::optional<KdfParams> kdf) const {
  absl::StatusOr<SigningKey> coldkey = LoadColdkey(name, password);
  if (!coldkey.ok()) return coldkey.status();
  if (kdf.has_value()) return *kdf;
  // The coldkey just decoded, so its header parses.
  absl::StatusOr<std::string> bytes = ReadFile(ColdkeyPath(name), kMaxKeyFileReadBytes);
  if (!bytes.ok()) return bytes.status();
  absl::StatusOr<KeyFileHeader> header = ParseKeyFileHeader(*bytes);
  if (!header.ok()) return Annotate(header.status(), ColdkeyPath(name));
  return header->kdf;
}

absl::StatusOr<KeyInfo> WalletStore::AddHotkey(absl::string_view name, absl::string_view hotkey,
                                               const SecretBytes& password,
                                               std::optional<KdfParams> kdf_choice) const {
  if (absl::Status s = ValidateWalletName("hotkey", hotkey); !s.ok()) return s;
  absl::StatusOr<KdfParams> kdf = AuthorizeNewKey(name, password, kdf_choice);
  if (!kdf.ok()) return kdf.status();
  const std::string path = HotkeyPath(name, hotkey);
  if (PathExists(path)) {
    return absl::AlreadyExistsError(absl::StrCat(Quoted("hotkey", hotkey), " already exists in ",
                                                 Quoted("wallet", name),
                                                 " (use regen-hotkey to replace it)"));
  }
  const SigningKey key = SigningKey::Generate();
  absl::StatusOr<std::string> file = EncodeKeyFile(key, password, *kdf);
  if (!file.ok()) return file.status();
  if (absl::Status s = MakeDirs(absl::StrCat(WalletPath(name), "/", kHotkeysDir)); !s.ok()) {
    return s;
  }
  if (absl::Status s = WriteFileAtomic(path, *file, 0600, IfExists::kFail); !s.ok()) return s;
  return ReadKeyInfo(std::string(hotkey), path);
}

absl::StatusOr<RegenerateResult> WalletStore::RegenerateHotkey(absl::string_view name,
                                                               absl::string_view hotkey,
                                                               const SecretBytes& password,
                                                               std::optional<KdfParams> kdf_choice,
                                                               int64_t now_unix_seconds) const {
  if (absl::Status s = ValidateWalletName("hotkey", hotkey); !s.ok()) return s;
  absl::StatusOr<KdfParams> kdf = AuthorizeNewKey(name, password, kdf_choice);
  if (!kdf.ok()) return kdf.status();
  const std::string path = HotkeyPath(name, hotkey);
  if (!PathExists(path)) {
    return absl::NotFoundError(absl::StrCat(Quoted("hotkey", hotkey), " not found in ",
                                            Quoted("wallet", name), " (use new-hotkey to add it)"));
  }
  absl::StatusOr<std::string> old_file = ReadFile(path, kMaxKeyFileReadBytes);
  if (!old_file.ok()) return old_file.status();
  const SigningKey key = SigningKey::Generate();
  absl::StatusOr<std::string> new_file = EncodeKeyFile(key, password, *kdf);
  if (!new_file.ok()) return new_file.status();

  RegenerateResult result;
  if (absl::StatusOr<PublicKey> old_key = ReadKeyFilePublicKey(*old_file); old_key.ok()) {
    result.old_key = *old_key;
  }
  result.new_key = key.public_key();
  // Keep the old key first: the hotkey is replaced only once its copy is durable.
  const std::string stem = absl::StrCat(path, ".", UtcStamp(now_unix_seconds));
  absl::Status backed_up = absl::UnknownError("no backup name tried");
  for (int n = 1; n <= 100; ++n) {
    result.backup_path = n == 1 ? absl::StrCat(stem, ".bak") : absl::StrCat(stem, "-", n, ".bak");
    backed_up = WriteFileAtomic(result.backup_path, *old_file, 0600, IfExists::kFail);
    if (!absl::IsAlreadyExists(backed_up)) break;
  }
  if (!backed_up.ok()) return Annotate(backed_up, "backing up the old hotkey");
  if (absl::Status s = WriteFileAtomic(path, *new_file, 0600, IfExists::kReplace); !s.ok()) {
    return s;
  }
  return result;
}

}  // namespace agora
