// Weight copying does not pay under commit-reveal, on real processes: a chain
// whose subnet requires commit-reveal (reveal period 1 epoch), three miners of
// clearly different quality (trained here), an honest agora-validator and an
// agora-validator --mode copy-weights with the same stake, all on loopback.
// Halfway through, the best miner goes down (kill -9), as miners do: the
// honest validator sees it at once and moves its weights; the copier only
// learns it when those weights are revealed, an epoch later, and commits its
// copy for one more epoch. Its bonds lag the honest validator's all along
// (it also starts an epoch later, with nothing revealed to copy), so after a
// fixed number of epochs its dividends per unit of stake are strictly lower.
// Without commit-reveal the copier would read the weights as soon as they
// are set and earn as much (tests/chain/yuma_copier_test.cc shows both on the
// epoch function).
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "chain/client.h"
#include "chain/tx.h"
#include "common/address.h"
#include "common/file_util.h"
#include "common/wallet.h"
#include "gtest/gtest.h"
#include "tests/common/child_process.h"
#include "tests/common/temp_dir.h"

namespace agora {
namespace {

using testing::Process;
using testing::WaitForFile;

void Log(const std::string& line) { std::fprintf(stderr, "[copy_weights] %s\n", line.c_str()); }

// Seeded structured text: a model trained longer predicts it clearly better.
std::string Corpus() {
  static const char* kWords[] = {"the",  "market", "miner", "answers", "every", "question",
                                 "with", "a",      "model", "that",    "learns", "from",
                                 "text", "and",    "stake", "weights", "flow",  "to"};
  uint64_t x = 777;
  std::string out;
  for (int line = 0; line < 3000; ++line) {
    const int n = 5 + static_cast<int>((x >> 33) % 6);
    for (int w = 0; w < n; ++w) {
      x = x * 6364136223846793005ull + 1442695040888963407ull;
      if (w > 0) out += ' ';
      out += kWords[(x >> 33) % (sizeof(kWords) / sizeof(kWords[0]))];
    }
    out += ".\n";
  }
  return out;
}

TEST(CopyWeightsDevnetTest, CopierEarnsLessPerStakeUnderCommitReveal) {
  testing::TempDir tmp;
  const std::string password = "copy-weights-password";
  ASSERT_TRUE(WriteFileAtomic(tmp.Sub("password"), password + "\n").ok());
  SecretBytes pw(password.size());
  std::memcpy(pw.data(), password.data(), password.size());

  const WalletStore store(tmp.Sub("wallets"));
  const std::vector<std::string> names = {"honest", "copier", "good", "mid", "weak"};
  std::map<std::string, PublicKey> cold, hot;
  for (const std::string& n : names) {
    absl::StatusOr<WalletInfo> w = store.Create(n, "default", pw, kMinKdfParams);
    ASSERT_TRUE(w.ok()) << w.status();
    cold[n] = *w->coldkey.public_key;
    hot[n] = *w->hotkeys.at(0).public_key;
  }
  absl::StatusOr<SigningKey> owner = SigningKey::FromSeed(Blake2b256("copy-weights-owner"));
  ASSERT_TRUE(owner.ok());

  // 250 ms blocks, 10-block epochs: each validator has a few steps per epoch
  // to reveal its previous commit before it expires, even on a loaded machine.
  std::string genesis = absl::StrCat("chain_id = \"copy-weights\"\nblock_interval_ms = 250\n",
                                     "[[accounts]]\naddress = \"", EncodeAddress(owner->public_key()),
                                     "\"\nbalance = 1000000000000\n");
  for (const std::string& n : names) {
    absl::StrAppend(&genesis, "[[accounts]]\naddress = \"", EncodeAddress(cold[n]),
                    "\"\nbalance = 100000000000\n");
  }
  absl::StrAppend(&genesis, "[[subnets]]\nnetuid = 1\nname = \"copy\"\nowner = \"",
                  EncodeAddress(owner->public_key()), "\"\n",
                  "[subnets.params]\nburn = 1000000000\nmin_burn = 1000000\nmax_burn = 10000000000\n"
                  "serving_rate_limit = 0\nmax_regs_per_block = 10\ntempo = 10\n"
                  "weights_set_rate_limit = 5\ncommit_reveal = true\nreveal_period_epochs = 1\n");
  ASSERT_TRUE(WriteFileAtomic(tmp.Sub("genesis.toml"), genesis, 0644).ok());
  std::filesystem::create_directories(tmp.Sub("chain"));
  Process chain({AGORA_CHAIN_BINARY, "run", "--genesis=" + tmp.Sub("genesis.toml"),
                 "--data-dir=" + tmp.Sub("chain"), "--endpoint=tcp://127.0.0.1:*",
                 "--events-endpoint=tcp://127.0.0.1:*", "--block-interval-ms=250"},
                tmp.Sub("chain.log"));
  chain.Start();
  absl::StatusOr<std::string> url_text =
      WaitForFile(tmp.Sub("chain/chain.url"), chain, std::chrono::seconds(30));
  ASSERT_TRUE(url_text.ok()) << url_text.status();
  const std::string url(absl::StripAsciiWhitespace(*url_text));
  auto client = chain::ChainClient::Connect(url);
  ASSERT_TRUE(client.ok()) << client.status();

  Log("registering both validators with equal stake");
  constexpr chain::Amount kStake = 50'000'000'000;
  for (const std::string& v : {"honest", "copier"}) {
    absl::StatusOr<SigningKey> key = store.LoadColdkey(v, pw);
    ASSERT_TRUE(key.ok());
    chain::RegisterTx reg;
    reg.netuid = 1;
    reg.hotkey = hot[v];
    reg.max_burn = 10'000'000'000;
    absl::StatusOr<chain::TxReceiptMsg> r = (*client)->SendWhenAllowed(*key, chain::kTxRegister, reg);
    ASSERT_TRUE(r.ok()) << r.status();
    chain::StakeTx stake;
    stake.hotkey = hot[v];
    stake.amount = kStake;
    r = (*client)->Send(*key, chain::kTxAddStake, stake);
    ASSERT_TRUE(r.ok()) << r.status();
  }

  Log("training three models of different quality");
  ASSERT_TRUE(WriteFileAtomic(tmp.Sub("corpus.txt"), Corpus(), 0644).ok());
  auto train = [&](const std::string& name, const std::string& dim, const std::string& steps) {
    return std::make_unique<Process>(std::vector<std::string>{AGORA_TRAIN_BINARY, "--corpus", tmp.Sub("corpus.txt"), "--out", tmp.Sub(name),
                    "--context", "64", "--seed", "5", "--holdout-fraction", "0.3", "--holdout-out", tmp.Sub(name + "-holdout.txt"), "--quiet",
                    "--cpu", "--layers", "1", "--dim", dim, "--heads", "2", "--steps", steps,
                    "--batch", "8", "--lr", "0.01"},
                   tmp.Sub(name + ".train.log"));
  };
  std::vector<std::unique_ptr<Process>> trainers;
  trainers.push_back(train("good", "32", "80"));
  trainers.push_back(train("mid", "24", "12"));
  trainers.push_back(train("weak", "16", "2"));
  for (auto& t : trainers) t->Start();
  for (auto& t : trainers) ASSERT_EQ(t->Wait(std::chrono::seconds(180)), 0) << t->LogText();

  Log("starting the miners");
  std::map<std::string, std::unique_ptr<Process>> miners;
  for (const std::string& name : {"good", "mid", "weak"}) {
    miners[name] = std::make_unique<Process>(
        std::vector<std::string>{AGORA_MINER_BINARY, "--wallet-dir", tmp.Sub("wallets"), "--wallet",
                                 name, "--password-file", tmp.Sub("password"), "--chain-url", url,
                                 "--netuid", "1", "--register", "--endpoint", "tcp://127.0.0.1:*",
                                 "--cpu", "--metagraph-refresh-ms", "300", "--checkpoint",
                                 tmp.Sub(name), "--ready-file", tmp.Sub(name + ".ready")},
        tmp.Sub(name + ".log"));
    miners[name]->Start();
  }
  for (auto& [name, m] : miners) {
    ASSERT_TRUE(WaitForFile(tmp.Sub(name + ".ready"), *m, std::chrono::seconds(90)).ok()) << name;
  }

  Log("starting the honest validator and the copier");
  auto validator = [&](const std::string& name, const std::vector<std::string>& extra) {
    std::vector<std::string> argv = {
        AGORA_VALIDATOR_BINARY, "--wallet-dir", tmp.Sub("wallets"), "--wallet", name,
        "--password-file", tmp.Sub("password"), "--chain-url", url, "--netuid", "1",
        "--data-dir", tmp.Sub(name + "-data"), "--step-interval-ms", "400",
        "--weights-interval", "10", "--ready-file", tmp.Sub(name + ".ready")};
    argv.insert(argv.end(), extra.begin(), extra.end());
    auto p = std::make_unique<Process>(argv, tmp.Sub(name + ".log"));
    p->Start();
    return p;
  };
  // The honest one reacts quickly to a miner going down (alpha 0.5).
  std::unique_ptr<Process> honest =
      validator("honest", {"--holdout", tmp.Sub("good-holdout.txt"), "--challenges", "4",
                           "--min-prefix", "16", "--max-prefix", "32", "--timeout-ms", "3000",
                           "--alpha", "0.5", "--cpu"});
  std::unique_ptr<Process> copier = validator("copier", {"--mode", "copy-weights"});
  ASSERT_TRUE(WaitForFile(tmp.Sub("honest.ready"), *honest, std::chrono::seconds(90)).ok());
  ASSERT_TRUE(WaitForFile(tmp.Sub("copier.ready"), *copier, std::chrono::seconds(90)).ok());

  // Stake and epoch now: every gain from here on is emission (added to stake).
  auto stakes = [&]() -> std::pair<uint64_t, std::map<std::string, chain::Amount>> {
    absl::StatusOr<chain::Metagraph> mg = (*client)->GetMetagraph(1);
    if (!mg.ok()) return {};
    std::map<std::string, chain::Amount> out;
    for (const chain::NeuronInfo& n : mg->neurons) {
      for (const std::string v : {"honest", "copier"}) {
        if (n.hotkey == hot[v]) out[v] = n.stake;
      }
    }
    return {mg->epoch_index, out};
  };
  auto wait_epoch = [&](uint64_t epoch) {
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(120);
    while (std::chrono::steady_clock::now() < until && stakes().first < epoch) {
      std::this_thread::sleep_for(std::chrono::milliseconds(200));  // polling the chain
    }
    return stakes();
  };
  const auto [start_epoch, start] = stakes();
  ASSERT_EQ(start.size(), 2u);
  Log(absl::StrCat("epoch ", start_epoch, ": stake honest ", start.at("honest"), ", copier ",
                   start.at("copier")));

  constexpr uint64_t kEpochsBefore = 8, kEpochsAfter = 8;
  wait_epoch(start_epoch + kEpochsBefore);
  Log("the good miner goes down (kill -9)");
  miners["good"]->Kill();
  const auto [end_epoch, end] = wait_epoch(start_epoch + kEpochsBefore + kEpochsAfter);
  ASSERT_GE(end_epoch, start_epoch + kEpochsBefore + kEpochsAfter) << "the chain stalled";
  ASSERT_TRUE(honest->Running()) << honest->LogText();
  ASSERT_TRUE(copier->Running()) << copier->LogText();

  const double honest_per_stake =
      double(end.at("honest") - start.at("honest")) / double(start.at("honest"));
  const double copier_per_stake =
      double(end.at("copier") - start.at("copier")) / double(start.at("copier"));
  Log(absl::StrCat("over epochs ", start_epoch, "..", end_epoch, ": dividends per unit of stake ",
                   "honest ", honest_per_stake, ", copier ", copier_per_stake, " (ratio ",
                   copier_per_stake / honest_per_stake, ")"));
  const std::string copier_log = copier->LogText();
  EXPECT_NE(copier_log.find("commit_weights in block"), std::string::npos) << copier_log;
  EXPECT_NE(copier_log.find("revealed weights"), std::string::npos) << copier_log;
  EXPECT_GT(honest_per_stake, 0.0);
  EXPECT_LT(copier_per_stake, honest_per_stake) << copier_log;
}

}  // namespace
}  // namespace agora
