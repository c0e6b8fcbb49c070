// A newcomer's first run, as the README tells it: a fresh copy of the
// repository (the files a clone of this tree has, nothing built or run in
// it), then `bash scripts/devnet.sh` with AGORA_DEVNET_EPOCHS so it ends by
// itself. AGORA_DEVNET_BIN points it at the binaries this build made, so the
// test does not build the project twice; everything else is the script as a
// user runs it: default models (trained here), default state directory.
//
// The first run is stopped during setup, right after its fourth registration
// lands, its chain killed at once, so the block holding those registrations
// may never have been sealed: the chain then restarts with them pending, and
// a devnet that raced the block's registration limit failed here every time. The second run must resume and
// reach its summaries, with honest miners earning.
#include <signal.h>
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/file_util.h"
#include "gtest/gtest.h"
#include "tests/common/child_process.h"
#include "tests/common/temp_dir.h"

namespace agora {
namespace {

using testing::Process;
using testing::TempDir;

std::string Tail(const std::string& text, size_t n = 6000) {
  return text.size() <= n ? text : text.substr(text.size() - n);
}

// Runs `command` with bash; its exit status.
int Bash(const std::string& command) {
  std::string quoted = "'";
  for (char c : command) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return std::system(("/bin/bash -c " + quoted + "'").c_str());
}

// The files `git clone` of this working tree would have: tracked and new
// files, nothing ignored (no build/, no .devnet/), copied to `dest`.
void CopyLikeAClone(const std::string& dest) {
  ASSERT_EQ(Bash(absl::StrCat("mkdir -p '", dest, "' && cd '", AGORA_SOURCE_DIR,
                               "' && git ls-files -z --cached --others --exclude-standard | "
                               "while IFS= read -r -d '' f; do [ -e \"$f\" ] && printf '%s\\0' \"$f\"; "
                               "done | xargs -0 cp --parents -t '", dest, "'")),
            0);
  struct stat st;
  ASSERT_EQ(stat((dest + "/scripts/devnet.sh").c_str(), &st), 0);
  ASSERT_NE(stat((dest + "/build").c_str(), &st), 0) << "the copy must not hold a build";
  ASSERT_NE(stat((dest + "/.devnet").c_str(), &st), 0) << "the copy must not hold a devnet";
}

// Every process started from the copy names it on its command line.
struct KillAll {
  std::string dir;
  ~KillAll() { (void)std::system(("pkill -KILL -f '" + dir + "/' 2>/dev/null").c_str()); }
};

TEST(Newcomer, FirstRunStoppedDuringSetupThenResumedReachesSummaries) {
  TempDir tmp;
  const std::string repo = tmp.Sub("agora");
  ASSERT_NO_FATAL_FAILURE(CopyLikeAClone(repo));
  KillAll kill_all{repo};
  unsetenv("AGORA_DEVNET_DIR");
  unsetenv("AGORA_DEVNET_MODELS");
  unsetenv("AGORA_DEVNET_BLOCKS");
  unsetenv("AGORA_CHAIN_URL");
  setenv("AGORA_DEVNET_BIN", AGORA_BIN_DIR, 1);
  // Six epochs: a new honest miner is paid once its model is fetched, one of
  // its completions has been re-run and matched (a generate step), and the
  // validator's next weights (once a tempo) have reached an epoch; on a busy
  // 2-core machine that took more than the three epochs this test once
  // allowed.
  setenv("AGORA_DEVNET_EPOCHS", "6", 1);
  const std::string script = repo + "/scripts/devnet.sh";

  // 1. Stopped during setup, once four registrations have landed (on a fast
  // machine all in block 1, the subnet's limit per block, with that block
  // still open when the chain stops).
  {
    Process first({"/bin/bash", script}, tmp.Sub("first.log"));
    first.Start();
    const auto until = std::chrono::steady_clock::now() + std::chrono::minutes(3);
    bool registered = false;
    while (!registered && first.Running() && std::chrono::steady_clock::now() < until) {
      const std::vector<std::string> lines = absl::StrSplit(first.LogText(), '\n');
      registered = std::count_if(lines.begin(), lines.end(), [](const std::string& l) {
                     return absl::StartsWith(l, "devnet: registered ");
                   }) >= 4;
      if (!registered) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    ASSERT_TRUE(registered) << Tail(first.LogText());
    // The chain dies at once (a crash, a closed laptop), before it can seal
    // an open block; then the script, which stops the rest.
    (void)Bash(absl::StrCat("pkill -KILL -f 'agora-chain run --genesis ", repo, "/'"));
    first.Signal(SIGTERM);
    const std::optional<int> rc = first.Wait(std::chrono::minutes(1));
    ASSERT_TRUE(rc.has_value()) << "devnet did not stop on SIGTERM:\n" << Tail(first.LogText());
    std::printf("[newcomer] first run stopped during setup:\n%s\n", Tail(first.LogText(), 1500).c_str());
  }

  // 2. Run again: resumes, trains the default models, ends after 6 epochs.
  Process second({"/bin/bash", script}, tmp.Sub("second.log"));
  second.Start();
  const std::optional<int> rc = second.Wait(std::chrono::minutes(20));
  if (!rc.has_value()) second.Signal(SIGTERM);
  ASSERT_TRUE(rc.has_value()) << "devnet still running after 20 minutes:\n" << Tail(second.LogText());
  ASSERT_EQ(*rc, 0) << Tail(second.LogText());
  const std::string log = second.LogText();
  std::printf("[newcomer] the resumed run's last lines:\n%s\n", Tail(log, 2500).c_str());
  EXPECT_FALSE(absl::StrContains(log, "registration-limit: ") &&
               absl::StrContains(log, "agora: error:"))
      << log;
  EXPECT_TRUE(absl::StrContains(log, "INCENTIVE")) << "no summary table printed:\n" << Tail(log);
  // The case that failed every time: the chain stopped before sealing block 1
  // and came back with its four registrations pending (its log says so).
  const std::string chain_log = ReadFile(repo + "/.devnet/logs/chain.log", 1 << 24).value_or("");
  if (absl::StrContains(chain_log, "state at height 0 (") &&
      absl::StrContains(chain_log, ", 4 pending txs)")) {
    std::printf("[newcomer] the chain restarted with block 1 full and open\n");
    EXPECT_TRUE(absl::StrContains(
        log, "registration-limit: 4 registrations in block 1 (limit 4); waiting for block 2"))
        << log;
  }

  // The last epoch's summary: every honest miner earns.
  absl::StatusOr<std::string> lines = ReadFile(repo + "/.devnet/epochs.jsonl", 16 << 20);
  ASSERT_TRUE(lines.ok()) << lines.status();
  std::vector<std::string> epochs = absl::StrSplit(*lines, '\n', absl::SkipWhitespace());
  ASSERT_GE(epochs.size(), 3u) << *lines;
  const nlohmann::json last = nlohmann::json::parse(epochs.back(), nullptr, false);
  ASSERT_TRUE(last.is_object() && last["neurons"].is_array()) << epochs.back();
  int honest = 0;
  for (const nlohmann::json& n : last["neurons"]) {
    const std::string role = n.value("role", "");
    if (!absl::StartsWith(role, "honest")) continue;
    ++honest;
    EXPECT_GT(n.value("incentive", 0.0), 0.0) << role << " earns nothing: " << n.dump();
  }
  EXPECT_EQ(honest, 3) << epochs.back();
}

}  // namespace
}  // namespace agora
