// The chain commands of `agora` against a real agora-chain process: each test
// writes a genesis that funds its wallets, starts `agora-chain run` on
// loopback (ports picked by the node: tcp://127.0.0.1:*), runs the real
// `agora` binary the way users do and checks exit codes, text, JSON and the
// exact balance changes. The chain is stopped with SIGTERM at the end.
//
// Also unit tests of the pure parts (amount parsing, tables, proof of work).
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "chain/client.h"
#include "chain/tx.h"
#include "cli/amount.h"
#include "cli/metagraph_table.h"
#include "cli/pow_solver.h"
#include "common/address.h"
#include "common/crypto.h"
#include "common/file_util.h"
#include "common/wallet.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/common/temp_dir.h"

extern char** environ;

namespace agora {
namespace {

using chain::Amount;
using chain::kUnitsPerToken;

constexpr char kPassword[] = "chain-cli-test-password";
constexpr Amount kAliceFunds = 1000 * kUnitsPerToken;
constexpr Amount kBurn = 2 * kUnitsPerToken;  // netuid 1's registration burn
constexpr uint32_t kPowDifficulty = 8;        // netuid 2: about 256 hashes

SecretBytes Password() {
  const std::string text = kPassword;
  SecretBytes out(text.size());
  std::copy(text.begin(), text.end(), out.data());
  return out;
}

// ---------------------------------------------------------------------------
// Pure parts.

TEST(AmountTest, ParsesExactly) {
  EXPECT_EQ(*cli::ParseTokenAmount("1"), kUnitsPerToken);
  EXPECT_EQ(*cli::ParseTokenAmount("1.5"), 1'500'000'000u);
  EXPECT_EQ(*cli::ParseTokenAmount("0.000000001"), 1u);
  EXPECT_EQ(*cli::ParseTokenAmount("0010.100"), 10'100'000'000u);
  EXPECT_EQ(*cli::ParseTokenAmount("1000000000"), chain::kMaxAmount);
  EXPECT_EQ(*cli::ParseTokenAmount("0", /*allow_zero=*/true), 0u);
  // 0.1 + 0.2 is exactly 0.3 here: no floating point anywhere.
  EXPECT_EQ(*cli::ParseTokenAmount("0.1") + *cli::ParseTokenAmount("0.2"),
            *cli::ParseTokenAmount("0.3"));
}

TEST(AmountTest, RefusesBadAmounts) {
  for (const char* bad : {"",
                          "-1",
                          "-0.5",
                          "0",
                          "0.000000000",
                          "1.0000000001",
                          "abc",
                          "1e9",
                          "1,5",
                          " 1",
                          "1 ",
                          "+1",
                          ".5",
                          "5.",
                          "1..2",
                          "0x10",
                          "1000000000.000000001",
                          "99999999999999999999999999",
                          "18446744073709551616",
                          "１"}) {
    EXPECT_FALSE(cli::ParseTokenAmount(bad).ok()) << "'" << bad << "'";
  }
  EXPECT_NE(cli::ParseTokenAmount("1.0000000001").status().message().find("9 decimal"),
            std::string::npos);
  EXPECT_NE(cli::ParseTokenAmount("-3").status().message().find("negative"), std::string::npos);
  EXPECT_NE(cli::ParseTokenAmount("0").status().message().find("zero"), std::string::npos);
  EXPECT_NE(cli::ParseTokenAmount("2000000000").status().message().find("supply limit"),
            std::string::npos);
}

TEST(AmountTest, FormatsAndRoundTrips) {
  EXPECT_EQ(cli::FormatTokenAmount(0), "0.000000000");
  EXPECT_EQ(cli::FormatTokenAmount(1'500'000'000), "1.500000000");
  EXPECT_EQ(cli::FormatTokenAmount(UINT64_MAX), "18446744073.709551615");
  for (Amount a : {Amount{1}, Amount{999'999'999}, kUnitsPerToken, chain::kMaxAmount}) {
    EXPECT_EQ(*cli::ParseTokenAmount(cli::FormatTokenAmount(a)), a);
  }
  EXPECT_EQ(cli::FormatU16Proportion(0), "0.0000");
  EXPECT_EQ(cli::FormatU16Proportion(65535), "1.0000");
  EXPECT_EQ(cli::FormatU16Proportion(32768), "0.5000");
  EXPECT_EQ(cli::FormatRatio(1, 4), "0.2500");
  EXPECT_EQ(cli::FormatRatio(2, 3), "0.6667");
  EXPECT_EQ(cli::FormatRatio(5, 0), "0.0000");
  EXPECT_EQ(*cli::ParseUnsigned("65535", 65535, "x"), 65535u);
  EXPECT_FALSE(cli::ParseUnsigned("65536", 65535, "x").ok());
  EXPECT_FALSE(cli::ParseUnsigned("-1", 65535, "x").ok());
  EXPECT_FALSE(cli::ParseUnsigned("", 65535, "x").ok());
  EXPECT_EQ(*cli::ParseUnsigned("18446744073709551615", UINT64_MAX, "x"), UINT64_MAX);
  EXPECT_FALSE(cli::ParseUnsigned("18446744073709551616", UINT64_MAX, "x").ok());
}

TEST(MetagraphTableTest, AlignsColumnsAndShowsProportions) {
  chain::Metagraph mg;
  mg.netuid = 3;
  mg.name = "bad\nname";
  mg.n = 2;
  for (chain::Uid uid : {0, 1}) {
    chain::NeuronInfo n;
    n.uid = uid;
    n.hotkey = SigningKey::Generate().public_key();
    n.stake = uid == 0 ? 12 * kUnitsPerToken : 5;
    n.incentive = uid == 0 ? 65535 : 0;
    n.validator_permit = uid == 0;
    n.axon_endpoint = uid == 0 ? "tcp://10.0.0.1:9000" : "";
    n.weights = {{0, 21845}, {1, 65535}};
    if (uid == 1) {
      n.model.content_hash.fill(0x1a);
      n.model.content_hash[1] = 0x2b;
      n.model.content_hash[2] = 0x3c;
      n.model.content_hash[3] = 0x4d;
      n.model.size_bytes = 10;
      n.model.format = chain::kModelFormatAgoraGpt;
      n.model.block = 57;
    }
    mg.neurons.push_back(n);
  }
  const std::string text = cli::MetagraphText(mg, /*validators_only=*/false);
  EXPECT_NE(text.find("Subnet 3 \"bad\\nname\""), std::string::npos) << text;
  EXPECT_NE(text.find("12.000000000"), std::string::npos) << text;
  EXPECT_NE(text.find("1.0000"), std::string::npos) << text;
  EXPECT_NE(text.find("tcp://10.0.0.1:9000"), std::string::npos) << text;
  // STAKE is right-aligned: the header and both values end at the same column.
  const size_t header = text.find("UID");
  ASSERT_NE(header, std::string::npos);
  const size_t row0 = text.find('\n', header) + 1;
  const size_t row1 = text.find('\n', row0) + 1;
  const size_t stake_end = text.find("STAKE", header) + 5 - header;
  EXPECT_EQ(text.find("12.000000000", row0) + 12 - row0, stake_end) << text;
  EXPECT_EQ(text.find("0.000000005", row1) + 11 - row1, stake_end) << text;
  // MODEL, the last column: "-" without a registration, else hash prefix @ block.
  EXPECT_NE(text.find("MODEL"), std::string::npos) << text;
  EXPECT_NE(text.substr(row0, row1 - row0).find("tcp://10.0.0.1:9000  -\n"), std::string::npos)
      << text;
  EXPECT_NE(text.substr(row1).find("  1a2b3c4d@57\n"), std::string::npos) << text;
  EXPECT_TRUE(cli::MetagraphJson(mg)["neurons"][0]["model"].is_null());
  EXPECT_EQ(cli::MetagraphJson(mg)["neurons"][1]["model"]["block"], 57);
  EXPECT_EQ(cli::MetagraphJson(mg)["neurons"][1]["model"]["format"], "agora-gpt");

  const auto j = cli::MetagraphJson(mg);
  EXPECT_EQ(j["neurons"][0]["hotkey"], EncodeAddress(mg.neurons[0].hotkey));
  EXPECT_EQ(j["neurons"][0]["stake"], 12 * kUnitsPerToken);
  EXPECT_EQ(j["params"]["tempo"], mg.params.tempo);
  EXPECT_EQ(j["params"].size(), 33u);

  const auto w = cli::WeightsJson(mg, mg.neurons[0]);
  ASSERT_EQ(w["weights"].size(), 2u);
  EXPECT_NEAR(w["weights"][0]["weight"].get<double>(), 0.25, 1e-9);
  EXPECT_NEAR(w["weights"][1]["weight"].get<double>(), 0.75, 1e-9);
  EXPECT_NE(cli::WeightsText(mg, mg.neurons[0]).find("0.7500"), std::string::npos);

  // Hostile bytes never make the JSON printer throw.
  mg.name = "\xff\xfe";
  EXPECT_FALSE(cli::JsonText(cli::MetagraphJson(mg)).empty());
}

TEST(PowSolverTest, FindsAndChecksSolutions) {
  cli::PowTask task;
  task.netuid = 7;
  task.hotkey = SigningKey::Generate().public_key();
  task.coldkey = SigningKey::Generate().public_key();
  task.block_hash = Blake2b256("block");
  task.difficulty = 10;
  const cli::PowRound round = cli::SolvePow(task, 0, std::chrono::seconds(20), /*threads=*/2);
  ASSERT_TRUE(round.nonce.has_value());
  EXPECT_TRUE(cli::CheckPow(task, *round.nonce));
  EXPECT_GE(chain::LeadingZeroBits(chain::PowHash(task.netuid, task.hotkey, task.coldkey,
                                                  task.block_hash, *round.nonce)),
            10u);
  task.difficulty = 256;  // unreachable: the round ends at its budget
  EXPECT_FALSE(cli::SolvePow(task, 0, std::chrono::milliseconds(50), 1).nonce.has_value());
}

// ---------------------------------------------------------------------------
// The real binaries.

struct Result {
  int code = -1;
  std::string out;
  std::string err;
  std::string command;
};

std::string Quote(const std::string& arg) {
  std::string q = "'";
  for (char c : arg) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

// True iff `r` failed with exit code `code` and one line "agora: error: ..."
// that contains `fragment`.
void ExpectOneLineError(const Result& r, int code, const std::string& fragment) {
  EXPECT_EQ(r.code, code) << r.command << "\n" << r.out << r.err;
  EXPECT_NE(r.err.find(fragment), std::string::npos) << r.command << "\n" << r.err;
  EXPECT_EQ(r.err.rfind("agora: error: ", 0), 0u) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
}

class ChainCliTest : public ::testing::Test {
 protected:
  ChainCliTest() : store_(dir_.Sub("wallets")) {
    ::setenv("AGORA_WALLET_PASSWORD", kPassword, 1);
    ::setenv("HOME", dir_.Sub("home").c_str(), 1);
    ::unsetenv("AGORA_HOME");
    ::unsetenv("AGORA_CHAIN_URL");
    // The cheapest key-file KDF keeps every `agora` run fast.
    const SecretBytes password = Password();
    for (const char* name : {"alice", "bob"}) {
      absl::StatusOr<WalletInfo> w = store_.Create(name, "default", password, kMinKdfParams);
      EXPECT_TRUE(w.ok()) << w.status();
      if (w.ok()) {
        coldkeys_[name] = EncodeAddress(*w->coldkey.public_key);
        hotkeys_[name] = EncodeAddress(*w->hotkeys[0].public_key);
      }
    }
    absl::StatusOr<KeyInfo> second =
        store_.AddHotkey("alice", "second", password, std::optional<KdfParams>(kMinKdfParams));
    EXPECT_TRUE(second.ok()) << second.status();
    if (second.ok()) hotkeys_["alice/second"] = EncodeAddress(*second->public_key);
  }

  ~ChainCliTest() override { StopChain(); }

  // Writes the genesis and starts `agora-chain run`; waits for its chain.url.
  void StartChain() {
    // No emission (emission_per_block = 0), so balances change only by what
    // the tests send, and no burn adjustment (adjustment_interval = 0).
    const std::string genesis = absl::StrCat(
        "chain_id = \"cli-test\"\n"
        "block_interval_ms = ", block_interval_ms_, "\n"
        "[[accounts]]\naddress = \"",
        coldkeys_["alice"], "\"\nbalance = ", kAliceFunds, "\n",
        // netuid 1: registration by burn; alice's default hotkey owns it (and
        // so may set weights without a permit).
        "[[subnets]]\nnetuid = 1\nname = \"burn-net\"\nowner = \"", coldkeys_["alice"],
        "\"\nowner_hotkey = \"", hotkeys_["alice"], "\"\n",
        "[subnets.params]\ntempo = 5\nemission_per_block = 0\nadjustment_interval = 0\n",
        "burn = ", kBurn, "\nmin_burn = 1\nmax_burn = ", 100 * kUnitsPerToken, "\n",
        "weights_set_rate_limit = 0\n", net1_params_,
        // netuid 2: a high burn but an easy proof of work.
        "[[subnets]]\nnetuid = 2\nname = \"pow-net\"\nowner = \"", coldkeys_["alice"], "\"\n",
        "[subnets.params]\ntempo = 5\nemission_per_block = 0\nadjustment_interval = 0\n",
        "burn = ", 500 * kUnitsPerToken, "\nmax_burn = ", 500 * kUnitsPerToken, "\n",
        "pow_difficulty = ", kPowDifficulty, "\nmin_pow_difficulty = 4\n");
    ASSERT_TRUE(WriteFileAtomic(dir_.Sub("genesis.toml"), genesis).ok());
    const std::string data_dir = dir_.Sub("chain");
    std::vector<std::string> args = {AGORA_CHAIN_BINARY,    "run",
                                     "--genesis",           dir_.Sub("genesis.toml"),
                                     "--data-dir",          data_dir,
                                     "--endpoint",          "tcp://127.0.0.1:*",
                                     "--events-endpoint",   "tcp://127.0.0.1:*",
                                     "--block-interval-ms", absl::StrCat(block_interval_ms_),
                                     "--workers",           "4"};
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    const std::string log = dir_.Sub("chain.log");
    posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    const int rc = posix_spawn(&chain_pid_, argv[0], &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    ASSERT_EQ(rc, 0) << "cannot start " << AGORA_CHAIN_BINARY;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
    while (std::chrono::steady_clock::now() < deadline) {
      absl::StatusOr<std::string> url = ReadFile(data_dir + "/chain.url", 4096);
      if (url.ok() && !url->empty()) {
        url_ = std::string(absl::StripSuffix(*url, "\n"));
        return;
      }
      int status = 0;
      if (::waitpid(chain_pid_, &status, WNOHANG) == chain_pid_) {
        chain_pid_ = -1;
        FAIL() << "agora-chain exited early: " << ReadFile(log, 1 << 16).value_or("");
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    FAIL() << "agora-chain wrote no chain.url: " << ReadFile(log, 1 << 16).value_or("");
  }

  void StopChain() {
    if (chain_pid_ <= 0) return;
    ::kill(chain_pid_, SIGTERM);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    int status = 0;
    while (::waitpid(chain_pid_, &status, WNOHANG) == 0) {
      if (std::chrono::steady_clock::now() > deadline) {
        ADD_FAILURE() << "agora-chain ignored SIGTERM; killing it";
        ::kill(chain_pid_, SIGKILL);
        ::waitpid(chain_pid_, &status, 0);
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    chain_pid_ = -1;
  }

  // Runs `agora args...` in the test's directory with stdin from /dev/null
  // (so nothing can prompt).
  Result Agora(const std::vector<std::string>& args) {
    Result r;
    r.command = Quote(AGORA_BINARY);
    for (const std::string& a : args) r.command += " " + Quote(a);
    const std::string shell = "cd " + Quote(dir_.path()) + " && " + r.command + " </dev/null >" +
                              Quote(dir_.Sub("out")) + " 2>" + Quote(dir_.Sub("err"));
    const int status = std::system(shell.c_str());
    r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    r.out = ReadFile(dir_.Sub("out"), 1 << 22).value_or("");
    r.err = ReadFile(dir_.Sub("err"), 1 << 22).value_or("");
    return r;
  }

  // `agora <args> --chain <url> [--wallet-dir <tmp>]`.
  Result Chain(std::vector<std::string> args, bool wallet = true) {
    args.insert(args.end(), {"--chain", url_});
    if (wallet) args.insert(args.end(), {"--wallet-dir", store_.root()});
    return Agora(args);
  }

  nlohmann::json Json(std::vector<std::string> args, bool wallet = true) {
    args.push_back("--json");
    Result r = Chain(std::move(args), wallet);
    EXPECT_EQ(r.code, 0) << r.command << "\n" << r.err;
    nlohmann::json j = nlohmann::json::parse(r.out, nullptr, /*allow_exceptions=*/false);
    EXPECT_FALSE(j.is_discarded()) << r.out;
    return j;
  }

  nlohmann::json BalanceOf(const std::string& address) {
    return Json({"balance", "--address", address}, /*wallet=*/false);
  }

  testing::TempDir dir_;
  WalletStore store_;
  std::map<std::string, std::string> coldkeys_, hotkeys_;
  int block_interval_ms_ = 100;
  std::string net1_params_;  // more TOML lines for netuid 1's [subnets.params]
  pid_t chain_pid_ = -1;
  std::string url_;
};

TEST_F(ChainCliTest, HelpListsTheChainCommands) {
  Result r = Agora({"--help"});
  ASSERT_EQ(r.code, 0);
  for (const char* cmd :
       {"balance", "transfer", "register", "serve", "register-model", "stake", "metagraph",
        "weights", "chain"}) {
    EXPECT_NE(r.out.find(cmd), std::string::npos) << cmd;
  }
  for (const std::vector<std::string>& args :
       std::vector<std::vector<std::string>>{{"stake", "--help"},
                                             {"stake", "add", "--help"},
                                             {"register", "--help"},
                                             {"serve", "--help"},
                                             {"register-model", "--help"},
                                             {"chain", "status", "--help"},
                                             {"weights", "--help"}}) {
    Result h = Agora(args);
    EXPECT_EQ(h.code, 0) << h.err;
    EXPECT_NE(h.out.find("Usage: agora"), std::string::npos);
  }
}

TEST_F(ChainCliTest, BadInputIsRefusedBeforeTheChain) {
  // No chain is running: every one of these fails on its flags first.
  const std::string bob = coldkeys_["bob"];
  ExpectOneLineError(Agora({"balance", "--address", "agNotAnAddress"}), 2, "--address: address");
  ExpectOneLineError(Agora({"balance"}), 2, "exactly one of --address");
  const std::string mistyped = bob.substr(0, 51) + (bob.back() == 'x' ? "y" : "x");
  ExpectOneLineError(Agora({"transfer", "--name", "alice", "--to", mistyped, "--amount", "1"}), 2,
                     "--to: address");
  for (const char* bad : {"-1", "0", "1.0000000001", "lots", "1e3", "9999999999999999999999"}) {
    ExpectOneLineError(Agora({"transfer", "--name", "alice", "--to", bob, "--amount", bad}), 2,
                       "--amount: amount");
  }
  ExpectOneLineError(Agora({"metagraph", "--netuid", "65536"}), 2, "--netuid");
  ExpectOneLineError(Agora({"weights", "--netuid", "1", "--uid", "1", "--hotkey-address", bob}), 2,
                     "not both");
  ExpectOneLineError(
      Agora({"register", "--name", "alice", "--netuid", "1", "--pow", "--max-burn", "1"}), 2,
      "--max-burn");
  ExpectOneLineError(Agora({"transfer", "--name", "../x", "--to", bob, "--amount", "1"}), 2,
                     "wallet name");
  // No --chain, no $AGORA_CHAIN_URL and no .devnet/chain/chain.url here.
  ExpectOneLineError(Agora({"chain", "status"}), 2, "no chain given: pass --chain");
  ExpectOneLineError(Agora({"chain", "status", "--chain", "nonsense"}), 2, "--chain: chain url");
  ::setenv("AGORA_CHAIN_URL", "agX@tcp://127.0.0.1:1", 1);
  ExpectOneLineError(Agora({"chain", "status"}), 2, "$AGORA_CHAIN_URL: chain url");
  ::unsetenv("AGORA_CHAIN_URL");
}

TEST_F(ChainCliTest, StatusAndWhereTheUrlComesFrom) {
  StartChain();
  nlohmann::json st = Json({"chain", "status"}, /*wallet=*/false);
  EXPECT_EQ(st["chain_id"], "cli-test");
  EXPECT_EQ(st["subnets"], nlohmann::json::array({1, 2}));
  EXPECT_EQ(st["total_issuance"], kAliceFunds);
  Result text = Chain({"chain", "status"}, /*wallet=*/false);
  ASSERT_EQ(text.code, 0) << text.err;
  EXPECT_NE(text.out.find("cli-test"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("1, 2"), std::string::npos) << text.out;

  // $AGORA_CHAIN_URL, then .devnet/chain/chain.url in the working directory.
  ::setenv("AGORA_CHAIN_URL", url_.c_str(), 1);
  EXPECT_EQ(Agora({"chain", "status"}).code, 0);
  ::unsetenv("AGORA_CHAIN_URL");
  ASSERT_TRUE(MakeDirs(dir_.Sub(".devnet/chain")).ok());
  ASSERT_TRUE(WriteFileAtomic(dir_.Sub(".devnet/chain/chain.url"), url_ + "\n").ok());
  Result from_file = Agora({"balance", "--address", coldkeys_["alice"]});
  EXPECT_EQ(from_file.code, 0) << from_file.err;
  EXPECT_NE(from_file.out.find("1000.000000000"), std::string::npos) << from_file.out;

  // A client that does not match the node's CURVE setting gets a hint.
  ExpectOneLineError(
      Chain({"chain", "status", "--no-curve", "--timeout-ms", "200"}, /*wallet=*/false), 1,
      "--no-curve must match");
  ExpectOneLineError(Chain({"metagraph", "--netuid", "9"}, /*wallet=*/false), 1, "unknown-subnet");
}

TEST_F(ChainCliTest, TransferMovesExactAmounts) {
  StartChain();
  const std::string alice = coldkeys_["alice"], bob = coldkeys_["bob"];
  nlohmann::json a0 = BalanceOf(alice);
  EXPECT_EQ(a0["balance"], kAliceFunds);
  EXPECT_EQ(a0["nonce"], 0);
  EXPECT_EQ(BalanceOf(bob)["balance"], 0);
  Result text = Chain({"balance", "--name", "alice"});
  ASSERT_EQ(text.code, 0) << text.err;
  EXPECT_NE(text.out.find("1000.000000000"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("wallet 'alice'"), std::string::npos) << text.out;

  Result sent = Chain({"transfer", "--name", "alice", "--to", bob, "--amount", "1.5"});
  ASSERT_EQ(sent.code, 0) << sent.err;
  EXPECT_NE(sent.out.find("Transferred 1.500000000 AGORA"), std::string::npos) << sent.out;
  EXPECT_NE(sent.out.find("tx     "), std::string::npos) << sent.out;
  EXPECT_NE(sent.out.find("block  "), std::string::npos) << sent.out;
  EXPECT_EQ(BalanceOf(alice)["balance"], kAliceFunds - 1'500'000'000);
  EXPECT_EQ(BalanceOf(alice)["nonce"], 1);
  EXPECT_EQ(BalanceOf(bob)["balance"], 1'500'000'000u);

  // The smallest unit moves too.
  nlohmann::json tiny =
      Json({"transfer", "--name", "bob", "--to", alice, "--amount", "0.000000001"});
  EXPECT_EQ(tiny["amount"], 1);
  EXPECT_EQ(tiny["tx_hash"].get<std::string>().size(), 64u);
  EXPECT_EQ(BalanceOf(bob)["balance"], 1'499'999'999u);

  // More than the balance: the chain's reason, one line, nothing changes.
  ExpectOneLineError(Chain({"transfer", "--name", "bob", "--to", alice, "--amount", "2"}), 1,
                     "insufficient-balance: balance 1499999999 < amount 2000000000");
  EXPECT_EQ(BalanceOf(bob)["balance"], 1'499'999'999u);
  EXPECT_EQ(BalanceOf(bob)["nonce"], 1);
  EXPECT_EQ(BalanceOf(alice)["balance"], kAliceFunds - 1'499'999'999);

  // A wrong password is refused before anything is sent.
  ::setenv("AGORA_WALLET_PASSWORD", "wrong", 1);
  ExpectOneLineError(Chain({"transfer", "--name", "alice", "--to", bob, "--amount", "1"}), 1,
                     "wrong password");
  ::setenv("AGORA_WALLET_PASSWORD", kPassword, 1);
  EXPECT_EQ(BalanceOf(bob)["balance"], 1'499'999'999u);
  ExpectOneLineError(Chain({"transfer", "--name", "carol", "--to", bob, "--amount", "1"}), 1,
                     "not found");
}

TEST_F(ChainCliTest, RegisterByBurnStakeAndWeights) {
  StartChain();
  const std::string alice = coldkeys_["alice"];
  Result reg = Chain({"register", "--name", "alice", "--netuid", "1"});
  ASSERT_EQ(reg.code, 0) << reg.err;
  // The cost comes before the result.
  const size_t cost = reg.out.find("Cost: burns 2.000000000 AGORA");
  const size_t done = reg.out.find("as uid 0");
  ASSERT_NE(cost, std::string::npos) << reg.out;
  ASSERT_NE(done, std::string::npos) << reg.out;
  EXPECT_LT(cost, done);
  EXPECT_EQ(BalanceOf(alice)["balance"], kAliceFunds - kBurn);

  nlohmann::json second = Json(
      {"register", "--name", "alice", "--hotkey", "second", "--netuid", "1", "--max-burn", "2"});
  EXPECT_EQ(second["uid"], 1);
  EXPECT_EQ(second["hotkey"], hotkeys_["alice/second"]);
  EXPECT_EQ(BalanceOf(alice)["balance"], kAliceFunds - 2 * kBurn);
  ExpectOneLineError(Chain({"register", "--name", "alice", "--netuid", "1"}), 1,
                     "already-registered");
  ExpectOneLineError(Chain({"register", "--name", "bob", "--netuid", "1"}), 1,
                     "insufficient-balance");
  ExpectOneLineError(Chain({"register", "--name", "bob", "--netuid", "1", "--max-burn", "1"}), 1,
                     "burn-too-high");
  ExpectOneLineError(Chain({"register", "--name", "alice", "--netuid", "7"}), 1, "unknown-subnet");

  // The metagraph shows both uids, as a table and as JSON.
  nlohmann::json mg = Json({"metagraph", "--netuid", "1"}, /*wallet=*/false);
  ASSERT_EQ(mg["neurons"].size(), 2u);
  EXPECT_EQ(mg["n"], 2);
  EXPECT_EQ(mg["name"], "burn-net");
  EXPECT_EQ(mg["neurons"][0]["hotkey"], hotkeys_["alice"]);
  EXPECT_EQ(mg["neurons"][0]["coldkey"], alice);
  EXPECT_EQ(mg["params"]["burn"], kBurn);
  Result table = Chain({"metagraph", "--netuid", "1"}, /*wallet=*/false);
  ASSERT_EQ(table.code, 0) << table.err;
  for (const char* col : {"UID", "HOTKEY", "STAKE", "VPERMIT", "ACTIVE", "INCENTIVE", "DIVIDENDS",
                          "CONSENSUS", "TRUST", "EMISSION", "AXON", "MODEL"}) {
    EXPECT_NE(table.out.find(col), std::string::npos) << col << "\n" << table.out;
  }
  EXPECT_NE(table.out.find(hotkeys_["alice"].substr(0, 8) + "..."), std::string::npos) << table.out;

  // Stake add and remove move exact amounts between balance and stake.
  Result add = Chain({"stake", "add", "--name", "alice", "--amount", "10"});
  ASSERT_EQ(add.code, 0) << add.err;
  EXPECT_NE(add.out.find("stake now 10.000000000 AGORA"), std::string::npos) << add.out;
  nlohmann::json bal = BalanceOf(alice);
  EXPECT_EQ(bal["balance"], kAliceFunds - 2 * kBurn - 10 * kUnitsPerToken);
  EXPECT_EQ(bal["staked"], 10 * kUnitsPerToken);
  ASSERT_EQ(bal["stakes"].size(), 1u);
  EXPECT_EQ(bal["stakes"][0]["hotkey"], hotkeys_["alice"]);
  nlohmann::json removed = Json({"stake", "remove", "--name", "alice", "--hotkey-address",
                                 hotkeys_["alice"], "--amount", "4.25"});
  EXPECT_EQ(removed["stake"], 5'750'000'000u);
  EXPECT_EQ(BalanceOf(alice)["balance"], kAliceFunds - 2 * kBurn - 5'750'000'000u);
  EXPECT_EQ(Json({"metagraph", "--netuid", "1"}, false)["neurons"][0]["stake"], 5'750'000'000u);
  ExpectOneLineError(Chain({"stake", "remove", "--name", "alice", "--amount", "6"}), 1,
                     "insufficient-stake");
  ExpectOneLineError(Chain({"stake", "add", "--name", "alice", "--hotkey-address", coldkeys_["bob"],
                            "--amount", "1"}),
                     1, "unregistered-hotkey");
  ExpectOneLineError(
      Chain({"stake", "add", "--name", "alice", "--hotkey", "nope", "--amount", "1"}), 1,
      "no hotkey 'nope'");

  // Weights: none yet, then the owner's hotkey sets some (through the client
  // library, as a validator would) and the CLI shows them normalized.
  Result none = Chain({"weights", "--netuid", "1", "--uid", "1"}, false);
  ASSERT_EQ(none.code, 0) << none.err;
  EXPECT_NE(none.out.find("no weights set"), std::string::npos) << none.out;
  EXPECT_TRUE(Json({"weights", "--netuid", "1", "--uid", "1"}, false)["weights"].empty());
  ExpectOneLineError(Chain({"weights", "--netuid", "1", "--uid", "9"}, false), 1, "has no uid 9");

  absl::StatusOr<SigningKey> hot = store_.LoadHotkey("alice", "default", Password());
  ASSERT_TRUE(hot.ok()) << hot.status();
  absl::StatusOr<std::unique_ptr<chain::ChainClient>> client = chain::ChainClient::Connect(url_);
  ASSERT_TRUE(client.ok()) << client.status();
  absl::StatusOr<chain::TxReceiptMsg> set =
      (*client)->Send(*hot, chain::kTxSetWeights, chain::SetWeightsTx{1, {0, 1}, {1000, 3000}, 0});
  ASSERT_TRUE(set.ok()) << set.status();
  nlohmann::json w =
      Json({"weights", "--netuid", "1", "--hotkey-address", hotkeys_["alice"]}, false);
  ASSERT_EQ(w["weights"].size(), 2u);
  EXPECT_EQ(w["uid"], 0);
  EXPECT_NEAR(w["weights"][0]["weight"].get<double>(), 0.25, 1e-4);
  EXPECT_NEAR(w["weights"][1]["weight"].get<double>(), 0.75, 1e-4);
  Result wt = Chain({"weights", "--netuid", "1"}, false);
  ASSERT_EQ(wt.code, 0) << wt.err;
  EXPECT_NE(wt.out.find("0.7500"), std::string::npos) << wt.out;
  EXPECT_NE(wt.out.find("0.2500"), std::string::npos) << wt.out;
}

// A full block is not a failure: `agora register` (and `agora serve` under the
// serving rate limit) waits for the block that takes it and says so. The
// blocks are long (3 s) and the competing registration is sent right after a
// seal, so the CLI's first try meets the full block.
TEST_F(ChainCliTest, RegisterAndServeWaitForTheNextBlockWhenALimitIsReached) {
  block_interval_ms_ = 3000;
  net1_params_ = "max_regs_per_block = 1\nserving_rate_limit = 1\n";
  StartChain();
  absl::StatusOr<std::unique_ptr<chain::ChainClient>> client = chain::ChainClient::Connect(url_);
  ASSERT_TRUE(client.ok()) << client.status();
  absl::StatusOr<chain::ChainStatus> st = (*client)->Status();
  ASSERT_TRUE(st.ok()) << st.status();
  ASSERT_TRUE((*client)->WaitForHeight(st->height + 1, std::chrono::seconds(30)).ok());
  absl::StatusOr<SigningKey> alice = store_.LoadColdkey("alice", Password());
  ASSERT_TRUE(alice.ok()) << alice.status();
  absl::StatusOr<PublicKey> second = ParseAddress(hotkeys_["alice/second"]);
  ASSERT_TRUE(second.ok());
  absl::StatusOr<chain::TxReceiptMsg> first =
      (*client)->Send(*alice, chain::kTxRegister, chain::RegisterTx{1, *second, false, kBurn, 0, 0});
  ASSERT_TRUE(first.ok()) << first.status();

  Result reg = Chain({"register", "--name", "alice", "--netuid", "1"});
  ASSERT_EQ(reg.code, 0) << reg.err;
  EXPECT_NE(reg.err.find(absl::StrCat("registration-limit: 1 registrations in block ", first->block,
                                      " (limit 1); waiting for block ", first->block + 1,
                                      " to try again")),
            std::string::npos)
      << reg.err;
  EXPECT_NE(reg.out.find(absl::StrCat("as uid 1 in block ", first->block + 1)), std::string::npos)
      << reg.out;

  // Two announcements in one block: the second waits for the next.
  st = (*client)->Status();
  ASSERT_TRUE(st.ok()) << st.status();
  ASSERT_TRUE((*client)->WaitForHeight(st->height + 1, std::chrono::seconds(30)).ok());
  nlohmann::json served = Json({"serve", "--name", "alice", "--netuid", "1", "--endpoint",
                                "tcp://127.0.0.1:7001"});
  EXPECT_EQ(served["uid"], 1);
  Result again = Chain({"serve", "--name", "alice", "--netuid", "1", "--endpoint",
                        "tcp://127.0.0.1:7002"});
  ASSERT_EQ(again.code, 0) << again.err;
  EXPECT_NE(again.err.find("rate-limited: serve_axon again at block "), std::string::npos) << again.err;
  EXPECT_NE(again.out.find("Announced tcp://127.0.0.1:7002 in block "), std::string::npos) << again.out;
  nlohmann::json mg = Json({"metagraph", "--netuid", "1"}, /*wallet=*/false);
  EXPECT_EQ(mg["neurons"][1]["axon_endpoint"], "tcp://127.0.0.1:7002") << mg.dump();

  // What no number of blocks fixes is refused at once.
  ExpectOneLineError(Chain({"serve", "--name", "bob", "--netuid", "1", "--endpoint",
                            "tcp://127.0.0.1:7003"}),
                     1, "unregistered-hotkey");
  ExpectOneLineError(Chain({"serve", "--name", "alice", "--netuid", "1", "--endpoint", "udp://x:1"}),
                     2, "tcp://host:port");
}

// `agora register-model` registers the model a hotkey serves; the metagraph
// shows it (table and JSON). A second registration inside the serving rate
// limit waits for its block; a hash another uid holds, and the registration
// the uid already has, are refused at once.
TEST_F(ChainCliTest, RegisterModelAndSeeItInTheMetagraph) {
  net1_params_ = "serving_rate_limit = 20\n";  // 2 s of 100 ms blocks
  StartChain();
  ASSERT_EQ(Chain({"register", "--name", "alice", "--netuid", "1"}).code, 0);  // uid 0
  ASSERT_EQ(Chain({"register", "--name", "alice", "--hotkey", "second", "--netuid", "1"}).code, 0);
  const std::string h1 = "1a2b3c4d" + std::string(56, '0');
  const std::string h2 = std::string(64, 'A');  // hex digits in either case
  const std::string h2_lower = std::string(64, 'a');

  // Checked before the chain (no password asked, exit 2).
  ExpectOneLineError(Chain({"register-model", "--name", "alice", "--netuid", "1", "--hash", "xyz",
                            "--size", "1", "--format", "agora-gpt"}),
                     2, "--hash: want 64 hex digits");
  ExpectOneLineError(Chain({"register-model", "--name", "alice", "--netuid", "1", "--hash", h1,
                            "--size", "1", "--format", "onnx"}),
                     2, "register_model.format must be agora-gpt or torchscript");
  ExpectOneLineError(Chain({"register-model", "--name", "alice", "--netuid", "1", "--hash", h1,
                            "--size", "0", "--format", "agora-gpt"}),
                     2, "register_model.size_bytes: 0");
  ExpectOneLineError(Chain({"register-model", "--name", "alice", "--netuid", "1", "--hash",
                            std::string(64, '0'), "--size", "1", "--format", "agora-gpt"}),
                     2, "content_hash is all zero");
  ExpectOneLineError(Chain({"register-model", "--name", "bob", "--netuid", "1", "--hash", h1,
                            "--size", "1", "--format", "agora-gpt"}),
                     1, "unregistered-hotkey");

  Result reg = Chain({"register-model", "--name", "alice", "--netuid", "1", "--hash", h1, "--size",
                      "52428800", "--format", "agora-gpt"});
  ASSERT_EQ(reg.code, 0) << reg.err;
  const std::string said = "registered model " + h1 + " for uid 0 in block ";
  const size_t at = reg.out.find(said);
  ASSERT_NE(at, std::string::npos) << reg.out;
  const uint64_t block1 = std::stoull(reg.out.substr(at + said.size()));
  nlohmann::json mg = Json({"metagraph", "--netuid", "1"}, /*wallet=*/false);
  ASSERT_EQ(mg["neurons"].size(), 2u);
  EXPECT_EQ(mg["neurons"][0]["model"]["content_hash"], h1) << mg.dump();
  EXPECT_EQ(mg["neurons"][0]["model"]["size_bytes"], 52428800u);
  EXPECT_EQ(mg["neurons"][0]["model"]["format"], "agora-gpt");
  EXPECT_EQ(mg["neurons"][0]["model"]["tokenizer_hash"], std::string(64, '0'));
  EXPECT_EQ(mg["neurons"][0]["model"]["block"], block1);
  EXPECT_TRUE(mg["neurons"][1]["model"].is_null()) << mg.dump();
  Result table = Chain({"metagraph", "--netuid", "1"}, /*wallet=*/false);
  ASSERT_EQ(table.code, 0) << table.err;
  EXPECT_NE(table.out.find("MODEL"), std::string::npos) << table.out;
  EXPECT_NE(table.out.find(absl::StrCat("1a2b3c4d@", block1)), std::string::npos) << table.out;

  // Another uid cannot take the model; the same registration again is refused.
  ExpectOneLineError(Chain({"register-model", "--name", "alice", "--hotkey", "second", "--netuid",
                            "1", "--hash", h1, "--size", "1", "--format", "torchscript"}),
                     1, absl::StrCat("model-taken: uid 0 registered this model in block ", block1));
  ExpectOneLineError(Chain({"register-model", "--name", "alice", "--netuid", "1", "--hash", h1,
                            "--size", "52428800", "--format", "agora-gpt"}),
                     1, absl::StrCat("unchanged: uid 0 registered this model in block ", block1));

  // A new model within serving_rate_limit blocks waits for its block.
  Result again = Chain({"register-model", "--name", "alice", "--netuid", "1", "--hash", h2,
                        "--size", "7", "--format", "torchscript", "--tokenizer-hash", h1});
  ASSERT_EQ(again.code, 0) << again.err;
  EXPECT_NE(again.err.find(absl::StrCat("rate-limited: register_model again at block ",
                                        block1 + 20, "; waiting for block ")),
            std::string::npos)
      << again.err;
  const std::string said2 = "registered model " + h2_lower + " for uid 0 in block ";
  const size_t at2 = again.out.find(said2);
  ASSERT_NE(at2, std::string::npos) << again.out;
  const uint64_t block2 = std::stoull(again.out.substr(at2 + said2.size()));
  EXPECT_GE(block2, block1 + 20);

  // What the chain's metagraph reply itself carries (NeuronInfo.model).
  absl::StatusOr<std::unique_ptr<chain::ChainClient>> client = chain::ChainClient::Connect(url_);
  ASSERT_TRUE(client.ok()) << client.status();
  absl::StatusOr<chain::Metagraph> reply = (*client)->GetMetagraph(1);
  ASSERT_TRUE(reply.ok()) << reply.status();
  ASSERT_EQ(reply->neurons.size(), 2u);
  const chain::ModelRegistration& m = reply->neurons[0].model;
  EXPECT_EQ(ToHex(m.content_hash), h2_lower);
  EXPECT_EQ(m.size_bytes, 7u);
  EXPECT_EQ(m.format, chain::kModelFormatTorchScript);
  EXPECT_EQ(ToHex(m.tokenizer_hash), h1);
  EXPECT_EQ(m.block, block2);
  EXPECT_EQ(reply->neurons[1].model.block, 0u);
  // h1 is free again: the second hotkey may register it.
  nlohmann::json second = Json({"register-model", "--name", "alice", "--hotkey", "second",
                                "--netuid", "1", "--hash", h1, "--size", "1", "--format",
                                "agora-gpt"});
  EXPECT_EQ(second["uid"], 1);
  EXPECT_EQ(second["content_hash"], h1);
  EXPECT_EQ(Json({"metagraph", "--netuid", "1"}, false)["neurons"][1]["model"]["content_hash"], h1);
}

TEST_F(ChainCliTest, RegisterWithProofOfWork) {
  StartChain();
  // bob has no tokens at all: a proof of work costs nothing on chain.
  Result reg = Chain({"register", "--name", "bob", "--netuid", "2", "--pow", "--pow-threads", "2"});
  ASSERT_EQ(reg.code, 0) << reg.err;
  const size_t cost = reg.out.find("Cost: a proof of work of 8 leading zero bits");
  const size_t done = reg.out.find("as uid 0");
  ASSERT_NE(cost, std::string::npos) << reg.out;
  ASSERT_NE(done, std::string::npos) << reg.out;
  EXPECT_LT(cost, done);
  EXPECT_NE(reg.out.find("Solved the proof of work"), std::string::npos) << reg.out;
  EXPECT_EQ(BalanceOf(coldkeys_["bob"])["balance"], 0);

  nlohmann::json mg = Json({"metagraph", "--netuid", "2"}, false);
  ASSERT_EQ(mg["neurons"].size(), 1u);
  EXPECT_EQ(mg["neurons"][0]["hotkey"], hotkeys_["bob"]);
  EXPECT_EQ(mg["neurons"][0]["coldkey"], coldkeys_["bob"]);

  // JSON mode: stdout is one document, the cost went to stderr.
  nlohmann::json second = Json({"register", "--name", "alice", "--netuid", "2", "--pow"});
  EXPECT_EQ(second["uid"], 1);
  EXPECT_EQ(second["pow"], true);
  EXPECT_EQ(BalanceOf(coldkeys_["alice"])["balance"], kAliceFunds);
  Result validators = Chain({"metagraph", "--netuid", "2", "--validators"}, false);
  EXPECT_EQ(validators.code, 0) << validators.err;
}

}  // namespace
}  // namespace agora
