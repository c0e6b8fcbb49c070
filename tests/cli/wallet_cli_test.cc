// Runs the real `agora` binary in a temporary directory, the way users and
// scripts do: flags in, exit code and one-line errors out.
#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "common/address.h"
#include "common/crypto.h"
#include "common/file_util.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/common/temp_dir.h"

namespace agora {
namespace {

struct Result {
  int code = -1;
  std::string out;
  std::string err;
};

std::string Quote(const std::string& arg) {
  std::string q = "'";
  for (char c : arg) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

class WalletCliTest : public ::testing::Test {
 protected:
  WalletCliTest() : wallets_(dir_.Sub("wallets")) {
    ::setenv("AGORA_WALLET_PASSWORD", "cli-test-password", 1);
    ::setenv("HOME", dir_.Sub("home").c_str(), 1);
    ::unsetenv("AGORA_HOME");
  }

  // Runs `agora args...` with stdin from /dev/null (so nothing can prompt).
  Result Agora(const std::vector<std::string>& args) {
    std::string command = Quote(AGORA_BINARY);
    for (const std::string& a : args) command += " " + Quote(a);
    command += " </dev/null >" + Quote(dir_.Sub("out")) + " 2>" + Quote(dir_.Sub("err"));
    const int status = std::system(command.c_str());
    Result r;
    r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    r.out = ReadFile(dir_.Sub("out"), 1 << 20).value_or("");
    r.err = ReadFile(dir_.Sub("err"), 1 << 20).value_or("");
    return r;
  }

  // `agora wallet <verb> --wallet-dir <tmp> args...`
  Result Wallet(const std::string& verb, std::vector<std::string> args) {
    args.insert(args.begin(), {"wallet", verb, "--wallet-dir", wallets_});
    return Agora(args);
  }

  nlohmann::json ShowJson(const std::string& name) {
    Result r = Wallet("show", {"--name", name, "--json"});
    EXPECT_EQ(r.code, 0) << r.err;
    return nlohmann::json::parse(r.out);
  }

  static void ExpectOneLineError(const Result& r, int code, const std::string& fragment) {
    EXPECT_EQ(r.code, code) << r.out << r.err;
    EXPECT_NE(r.err.find(fragment), std::string::npos) << r.err;
    EXPECT_EQ(r.err.rfind("agora: error: ", 0), 0u) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  }

  testing::TempDir dir_;
  std::string wallets_;
};

TEST_F(WalletCliTest, HelpExitsZero) {
  for (const auto& args :
       std::vector<std::vector<std::string>>{{"--help"},
                                             {"-h"},
                                             {"wallet", "--help"},
                                             {"wallet", "new", "--help"},
                                             {"wallet", "regen-hotkey", "--name", "x", "--help"}}) {
    Result r = Agora(args);
    EXPECT_EQ(r.code, 0) << args.back() << r.err;
    EXPECT_NE(r.out.find("Usage: agora"), std::string::npos) << r.out;
  }
  Result r = Agora({"wallet", "--help"});
  for (const char* verb : {"new", "list", "show", "regen-hotkey", "new-hotkey"}) {
    EXPECT_NE(r.out.find(verb), std::string::npos) << verb;
  }
}

TEST_F(WalletCliTest, UsageErrorsExitTwo) {
  EXPECT_EQ(Agora({}).code, 2);
  EXPECT_EQ(Agora({"wallet"}).code, 2);
  ExpectOneLineError(Agora({"frobnicate"}), 2, "unknown command 'frobnicate'");
  ExpectOneLineError(Wallet("new", {}), 2, "missing required flag --name");
  ExpectOneLineError(Wallet("list", {"--bogus"}), 2, "unknown flag '--bogus'");
  ExpectOneLineError(Wallet("show", {"--name"}), 2, "--name needs a value");
  ExpectOneLineError(Wallet("list", {"extra"}), 2, "unexpected argument 'extra'");
  ExpectOneLineError(Wallet("new", {"--name", "a", "--kdf", "fast"}), 2, "unknown strength");
  ExpectOneLineError(Wallet("list", {"--json", "--json"}), 2, "more than once");
}

TEST_F(WalletCliTest, BadNamesAreRejected) {
  for (const char* bad : {"../escape", "a/b", "", "has space", ".."}) {
    ExpectOneLineError(Wallet("new", {"--name", bad, "--kdf", "interactive"}), 2, "wallet name");
  }
  ExpectOneLineError(Wallet("new", {"--name", "ok", "--hotkey", "../x", "--kdf", "interactive"}), 2,
                     "hotkey name '../x'");
  EXPECT_FALSE(PathExists(wallets_));
}

TEST_F(WalletCliTest, NewListShowRegenerate) {
  Result created = Wallet("new", {"--name", "alice", "--kdf", "interactive"});
  ASSERT_EQ(created.code, 0) << created.err;
  EXPECT_NE(created.out.find("Created wallet alice"), std::string::npos) << created.out;

  // show --json: addresses parse back to the hex public keys.
  nlohmann::json shown = ShowJson("alice");
  const std::string cold_address = shown["coldkey"]["address"];
  absl::StatusOr<PublicKey> cold = ParseAddress(cold_address);
  ASSERT_TRUE(cold.ok()) << cold.status();
  EXPECT_EQ(ToHex(*cold), shown["coldkey"]["public_key"]);
  ASSERT_EQ(shown["hotkeys"].size(), 1u);
  EXPECT_EQ(shown["hotkeys"][0]["name"], "default");
  const std::string old_hot = shown["hotkeys"][0]["address"];
  EXPECT_EQ(*ReadFile(wallets_ + "/alice/coldkeypub.txt", 1024), cold_address + "\n");

  // Text forms.
  Result list = Wallet("list", {});
  ASSERT_EQ(list.code, 0) << list.err;
  EXPECT_NE(list.out.find("alice"), std::string::npos);
  EXPECT_NE(list.out.find(cold_address), std::string::npos);
  Result show = Wallet("show", {"--name", "alice"});
  EXPECT_NE(show.out.find(ToHex(*cold)), std::string::npos) << show.out;
  Result list_json = Wallet("list", {"--json"});
  ASSERT_EQ(list_json.code, 0);
  EXPECT_EQ(nlohmann::json::parse(list_json.out)["wallets"][0]["name"], "alice");

  // A second `new` with the same name is refused before any password is asked.
  ExpectOneLineError(Wallet("new", {"--name", "alice"}), 1, "already exists");

  // A wrong password fails with a clear message and changes nothing.
  ::setenv("AGORA_WALLET_PASSWORD", "not-the-password", 1);
  ExpectOneLineError(Wallet("regen-hotkey", {"--name", "alice"}), 1, "wrong password");
  ::setenv("AGORA_WALLET_PASSWORD", "cli-test-password", 1);
  EXPECT_EQ(ShowJson("alice")["hotkeys"][0]["address"], old_hot);

  // regen-hotkey: a new address, the old file kept as a backup.
  Result regen = Wallet("regen-hotkey", {"--name", "alice"});
  ASSERT_EQ(regen.code, 0) << regen.err;
  EXPECT_NE(regen.out.find(old_hot), std::string::npos);
  const std::string new_hot = ShowJson("alice")["hotkeys"][0]["address"];
  EXPECT_NE(new_hot, old_hot);
  size_t backups = 0;
  for (const auto& e : std::filesystem::directory_iterator(wallets_ + "/alice/hotkeys")) {
    if (e.path().extension() == ".bak") ++backups;
  }
  EXPECT_EQ(backups, 1u);

  // new-hotkey adds a second hotkey, listed in name order.
  Result added = Wallet("new-hotkey", {"--name", "alice", "--hotkey", "b-miner"});
  ASSERT_EQ(added.code, 0) << added.err;
  nlohmann::json after = ShowJson("alice");
  ASSERT_EQ(after["hotkeys"].size(), 2u);
  EXPECT_EQ(after["hotkeys"][0]["name"], "b-miner");
  ExpectOneLineError(Wallet("new-hotkey", {"--name", "alice", "--hotkey", "b-miner"}), 1,
                     "already exists");
  ExpectOneLineError(Wallet("regen-hotkey", {"--name", "alice", "--hotkey", "nope"}), 1,
                     "not found");
  ExpectOneLineError(Wallet("show", {"--name", "bob"}), 1, "wallet 'bob' not found");
}

TEST_F(WalletCliTest, PasswordFileAndMissingPassword) {
  ::unsetenv("AGORA_WALLET_PASSWORD");
  ExpectOneLineError(Wallet("new", {"--name", "w", "--kdf", "interactive"}), 1,
                     "no password for wallet 'w'");
  const std::string pw_file = dir_.Sub("pw");
  ASSERT_TRUE(WriteFileAtomic(pw_file, "file-password\n").ok());
  Result r = Wallet("new", {"--name", "w", "--kdf", "interactive", "--password-file", pw_file});
  ASSERT_EQ(r.code, 0) << r.err;
  // The same password from a differently named variable opens it.
  ::setenv("MY_PW", "file-password", 1);
  Result added = Wallet("new-hotkey", {"--name", "w", "--hotkey", "h2", "--password-env", "MY_PW"});
  EXPECT_EQ(added.code, 0) << added.err;
  ::unsetenv("MY_PW");
}

TEST_F(WalletCliTest, DefaultRootIsAgoraHomeThenHome) {
  ::setenv("AGORA_HOME", dir_.Sub("agora-home").c_str(), 1);
  Result r = Agora({"wallet", "new", "--name", "homed", "--kdf", "interactive"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(PathExists(dir_.Sub("agora-home/wallets/homed/coldkey")));
  ::unsetenv("AGORA_HOME");
  Result list = Agora({"wallet", "list"});
  EXPECT_EQ(list.code, 0);
  EXPECT_NE(list.out.find("No wallets in " + dir_.Sub("home/.agora/wallets")), std::string::npos)
      << list.out;
}

}  // namespace
}  // namespace agora
