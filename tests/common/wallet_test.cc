#include "common/wallet.h"

#include <sys/stat.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>

#include "common/address.h"
#include "common/file_util.h"
#include "gtest/gtest.h"
#include "tests/common/temp_dir.h"

namespace agora {
namespace {

SecretBytes Password(absl::string_view text) {
  SecretBytes out(text.size());
  std::memcpy(out.data(), text.data(), text.size());
  return out;
}

mode_t ModeOf(const std::string& path) {
  struct stat st;
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return st.st_mode & 0777;
}

class WalletTest : public ::testing::Test {
 protected:
  WalletTest() : store_(dir_.Sub("wallets")), password_(Password("pw-for-tests")) {}

  WalletInfo MustCreate(absl::string_view name) {
    absl::StatusOr<WalletInfo> w = store_.Create(name, "default", password_, kMinKdfParams);
    EXPECT_TRUE(w.ok()) << w.status();
    return *std::move(w);
  }

  testing::TempDir dir_;
  WalletStore store_;
  SecretBytes password_;
};

TEST_F(WalletTest, CreateWritesTheDocumentedLayout) {
  const WalletInfo w = MustCreate("alice");
  const std::string root = dir_.Sub("wallets");
  EXPECT_EQ(w.name, "alice");
  EXPECT_EQ(w.path, root + "/alice");
  EXPECT_EQ(ModeOf(root), 0700u);
  EXPECT_EQ(ModeOf(root + "/alice"), 0700u);
  EXPECT_EQ(ModeOf(root + "/alice/hotkeys"), 0700u);
  EXPECT_EQ(ModeOf(root + "/alice/coldkey"), 0600u);
  EXPECT_EQ(ModeOf(root + "/alice/hotkeys/default"), 0600u);
  ASSERT_TRUE(w.coldkey.public_key.ok());
  EXPECT_EQ(*ReadFile(root + "/alice/coldkeypub.txt", 1024),
            EncodeAddress(*w.coldkey.public_key) + "\n");
  ASSERT_EQ(w.hotkeys.size(), 1u);
  EXPECT_EQ(w.hotkeys[0].name, "default");
  EXPECT_NE(*w.hotkeys[0].public_key, *w.coldkey.public_key);
}

TEST_F(WalletTest, CreatingAnExistingWalletIsRefusedAndChangesNothing) {
  MustCreate("alice");
  const std::string before = *ReadFile(store_.ColdkeyPath("alice"), 1024);
  absl::StatusOr<WalletInfo> again = store_.Create("alice", "default", password_, kMinKdfParams);
  EXPECT_EQ(again.status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_NE(again.status().message().find("already exists"), absl::string_view::npos);
  EXPECT_EQ(*ReadFile(store_.ColdkeyPath("alice"), 1024), before);
}

TEST_F(WalletTest, ListIsSortedAndNeedsNoPassword) {
  EXPECT_TRUE(store_.List()->empty());  // the root does not exist yet
  MustCreate("bob");
  MustCreate("alice");
  // Strays that are not wallets are skipped.
  ASSERT_TRUE(WriteFileAtomic(dir_.Sub("wallets/notes"), "x").ok());
  ASSERT_TRUE(MakeDirs(dir_.Sub("wallets/.hidden")).ok());
  absl::StatusOr<std::vector<WalletInfo>> list = store_.List();
  ASSERT_TRUE(list.ok()) << list.status();
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].name, "alice");
  EXPECT_EQ((*list)[1].name, "bob");
}

TEST_F(WalletTest, LoadKeysWithThePassword) {
  const WalletInfo w = MustCreate("alice");
  absl::StatusOr<SigningKey> cold = store_.LoadColdkey("alice", password_);
  ASSERT_TRUE(cold.ok()) << cold.status();
  EXPECT_EQ(cold->public_key(), *w.coldkey.public_key);
  absl::StatusOr<SigningKey> hot = store_.LoadHotkey("alice", "default", password_);
  ASSERT_TRUE(hot.ok()) << hot.status();
  EXPECT_EQ(hot->public_key(), *w.hotkeys[0].public_key);
}

TEST_F(WalletTest, WrongPasswordIsPermissionDeniedNamingTheFile) {
  MustCreate("alice");
  absl::StatusOr<SigningKey> cold = store_.LoadColdkey("alice", Password("nope"));
  EXPECT_EQ(cold.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_NE(cold.status().message().find(store_.ColdkeyPath("alice")), absl::string_view::npos);
  EXPECT_NE(cold.status().message().find("wrong password"), absl::string_view::npos);
  EXPECT_EQ(store_.LoadHotkey("alice", "default", Password("nope")).status().code(),
            absl::StatusCode::kPermissionDenied);
}

TEST_F(WalletTest, MissingWalletsAndHotkeysAreNotFound) {
  MustCreate("alice");
  EXPECT_EQ(store_.Show("bob").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store_.LoadColdkey("bob", password_).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store_.LoadHotkey("alice", "other", password_).status().code(),
            absl::StatusCode::kNotFound);
}

TEST_F(WalletTest, RegenerateKeepsTheOldKeyAsABackup) {
  const WalletInfo w = MustCreate("alice");
  const PublicKey old_key = *w.hotkeys[0].public_key;
  const std::string old_bytes = *ReadFile(store_.HotkeyPath("alice", "default"), 1024);
  const int64_t now = 1700000000;  // 2023-11-14T22:13:20Z
  absl::StatusOr<RegenerateResult> r =
      store_.RegenerateHotkey("alice", "default", password_, std::nullopt, now);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->old_key, old_key);
  EXPECT_NE(r->new_key, old_key);
  EXPECT_EQ(r->backup_path, store_.HotkeyPath("alice", "default") + ".20231114T221320Z.bak");
  EXPECT_EQ(*ReadFile(r->backup_path, 1024), old_bytes);
  EXPECT_EQ(ModeOf(r->backup_path), 0600u);
  EXPECT_EQ(store_.LoadHotkey("alice", "default", password_)->public_key(), r->new_key);
  // Same second again: a second backup, nothing overwritten.
  absl::StatusOr<RegenerateResult> r2 =
      store_.RegenerateHotkey("alice", "default", password_, std::nullopt, now);
  ASSERT_TRUE(r2.ok()) << r2.status();
  EXPECT_EQ(r2->backup_path, store_.HotkeyPath("alice", "default") + ".20231114T221320Z-2.bak");
  EXPECT_EQ(r2->old_key, r->new_key);
  EXPECT_EQ(*ReadFile(r->backup_path, 1024), old_bytes);
  // Backups are not listed as hotkeys.
  absl::StatusOr<WalletInfo> shown = store_.Show("alice");
  ASSERT_EQ(shown->hotkeys.size(), 1u);
  EXPECT_EQ(*shown->hotkeys[0].public_key, r2->new_key);
  // The new file keeps the coldkey's KDF parameters.
  absl::StatusOr<KeyFileHeader> header =
      ParseKeyFileHeader(*ReadFile(store_.HotkeyPath("alice", "default"), 1024));
  EXPECT_EQ(header->kdf.memlimit_kib, kMinKdfParams.memlimit_kib);
}

TEST_F(WalletTest, RegenerateNeedsTheColdkeyPasswordAndAnExistingHotkey) {
  MustCreate("alice");
  const std::string before = *ReadFile(store_.HotkeyPath("alice", "default"), 1024);
  EXPECT_EQ(store_.RegenerateHotkey("alice", "default", Password("nope"), std::nullopt, 1)
                .status()
                .code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(*ReadFile(store_.HotkeyPath("alice", "default"), 1024), before);
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir_.Sub("wallets/alice/hotkeys")),
                          std::filesystem::directory_iterator()),
            1);
  EXPECT_EQ(store_.RegenerateHotkey("alice", "other", password_, std::nullopt, 1).status().code(),
            absl::StatusCode::kNotFound);
}

TEST_F(WalletTest, AddHotkey) {
  MustCreate("alice");
  absl::StatusOr<KeyInfo> added = store_.AddHotkey("alice", "miner-2", password_, std::nullopt);
  ASSERT_TRUE(added.ok()) << added.status();
  EXPECT_EQ(added->name, "miner-2");
  EXPECT_EQ(store_.LoadHotkey("alice", "miner-2", password_)->public_key(), *added->public_key);
  EXPECT_EQ(store_.Show("alice")->hotkeys.size(), 2u);
  EXPECT_EQ(store_.AddHotkey("alice", "miner-2", password_, std::nullopt).status().code(),
            absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(store_.AddHotkey("alice", "x", Password("nope"), std::nullopt).status().code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_FALSE(PathExists(store_.HotkeyPath("alice", "x")));
}

TEST_F(WalletTest, NamesAreValidated) {
  for (absl::string_view bad :
       {"", ".", "..", "a/b", "../x", "a b", "a.b", "ünï", "a\nb", "-\x01"}) {
    absl::Status s = ValidateWalletName("wallet", bad);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_EQ(store_.Create(bad, "default", password_, kMinKdfParams).status().code(),
              absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(store_.Show(bad).status().code(), absl::StatusCode::kInvalidArgument);
  }
  EXPECT_EQ(ValidateWalletName("wallet", std::string(65, 'a')).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(ValidateWalletName("wallet", std::string(64, 'a')).ok());
  EXPECT_TRUE(ValidateWalletName("hotkey", "Miner_01-b").ok());
  EXPECT_EQ(std::string(ValidateWalletName("hotkey", "a/b").message()),
            "hotkey name 'a/b': use 1 to 64 characters from A-Z a-z 0-9 _ -");
  EXPECT_EQ(store_.Create("ok", "../evil", password_, kMinKdfParams).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(PathExists(dir_.Sub("wallets")));  // nothing was created
}

TEST_F(WalletTest, DamagedKeyFileIsReportedPerKey) {
  MustCreate("alice");
  ASSERT_TRUE(WriteFileAtomic(store_.HotkeyPath("alice", "default"), "garbage").ok());
  absl::StatusOr<WalletInfo> w = store_.Show("alice");
  ASSERT_TRUE(w.ok()) << w.status();
  EXPECT_TRUE(w->coldkey.public_key.ok());
  EXPECT_EQ(w->hotkeys[0].public_key.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(store_.LoadHotkey("alice", "default", password_).status().code(),
            absl::StatusCode::kDataLoss);
}

TEST(WalletRootTest, AgoraHomeThenHome) {
  const char* saved_home = std::getenv("HOME");
  const std::string home = saved_home ? saved_home : "";
  ::setenv("AGORA_HOME", "/srv/agora", 1);
  EXPECT_EQ(*DefaultWalletRoot(), "/srv/agora/wallets");
  ::setenv("AGORA_HOME", "", 1);
  ::setenv("HOME", "/home/u", 1);
  EXPECT_EQ(*DefaultWalletRoot(), "/home/u/.agora/wallets");
  ::unsetenv("AGORA_HOME");
  ::unsetenv("HOME");
  EXPECT_EQ(DefaultWalletRoot().status().code(), absl::StatusCode::kFailedPrecondition);
  if (saved_home) ::setenv("HOME", home.c_str(), 1);
}

}  // namespace
}  // namespace agora
