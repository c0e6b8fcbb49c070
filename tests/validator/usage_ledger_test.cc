// The usage ledger's group commit keeps its promise: a charge acknowledged
// by Wait()/Record() survives a restart and a kill -9, concurrent charges
// are each recorded once, and a request id is charged at most once even
// when its duplicates share a batch.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/common/temp_dir.h"
#include "validator/usage_ledger.h"

namespace agora::validator {
namespace {

Charge MakeCharge(const std::string& id, uint64_t tokens, const std::string& account = "") {
  return Charge{id, "alice", tokens, 1, "model", 1, account, account.empty() ? 0 : tokens * 10,
                account.empty() ? "" : "payee"};
}

TEST(UsageLedgerTest, ConcurrentChargesAreEachRecordedOnceAndSurviveARestart) {
  testing::TempDir tmp;
  const std::string path = tmp.Sub("ledger.db");
  constexpr int kThreads = 8, kEach = 50;
  {
    auto ledger = UsageLedger::Open(path);
    ASSERT_TRUE(ledger.ok()) << ledger.status();
    std::atomic<int> failed{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < kEach; ++i) {
          if (!(*ledger)->Record(MakeCharge(absl::StrCat("r-", t, "-", i), 2, "acct")).ok()) ++failed;
        }
      });
    }
    for (std::thread& t : threads) t.join();
    EXPECT_EQ(failed.load(), 0);
    EXPECT_EQ((*ledger)->requests("alice"), uint64_t{kThreads * kEach});
    EXPECT_EQ((*ledger)->Used("alice"), uint64_t{2 * kThreads * kEach});
    EXPECT_EQ((*ledger)->Balance("acct"), -20 * kThreads * kEach);
  }
  auto reopened = UsageLedger::Open(path);
  ASSERT_TRUE(reopened.ok()) << reopened.status();
  EXPECT_EQ((*reopened)->requests("alice"), uint64_t{kThreads * kEach});
  EXPECT_EQ((*reopened)->Used("alice"), uint64_t{2 * kThreads * kEach});
  EXPECT_EQ((*reopened)->Balance("acct"), -20 * kThreads * kEach);
  // Every id is there: charging any of them again is refused.
  for (int t = 0; t < kThreads; ++t) {
    EXPECT_TRUE(absl::IsAlreadyExists((*reopened)->Record(MakeCharge(absl::StrCat("r-", t, "-0"), 2))));
  }
  EXPECT_EQ((*reopened)->requests("alice"), uint64_t{kThreads * kEach});
}

TEST(UsageLedgerTest, DuplicatesInOneBatchAreChargedOnce) {
  testing::TempDir tmp;
  auto ledger = UsageLedger::Open(tmp.Sub("ledger.db"));
  ASSERT_TRUE(ledger.ok());
  // Submitted together, so one commit writes all three; the totals count
  // each submitted charge until it is settled.
  UsageLedger::PendingCharge a = (*ledger)->Submit(MakeCharge("same", 5));
  UsageLedger::PendingCharge b = (*ledger)->Submit(MakeCharge("same", 5));
  UsageLedger::PendingCharge c = (*ledger)->Submit(MakeCharge("other", 1));
  EXPECT_EQ((*ledger)->Used("alice"), 11u);
  // The last to be submitted waits first and commits the batch, in
  // submission order: the first "same" is charged, the second refused.
  EXPECT_TRUE(c.Wait().ok());
  EXPECT_TRUE(absl::IsAlreadyExists(b.Wait())) << b.Wait();
  EXPECT_TRUE(a.Wait().ok()) << a.Wait();
  EXPECT_EQ((*ledger)->Used("alice"), 6u) << "the duplicate is taken out of the totals";
  EXPECT_EQ((*ledger)->requests("alice"), 2u);
  EXPECT_FALSE(UsageLedger::PendingCharge().Wait().ok());
}

// A child process charges from 8 threads and reports each acknowledged
// charge on a pipe; it is killed with SIGKILL mid-stream. Every charge it
// acknowledged is in the reopened ledger, and none is counted twice.
TEST(UsageLedgerTest, AcknowledgedChargesSurviveKill9) {
  testing::TempDir tmp;
  const std::string path = tmp.Sub("ledger.db");
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    close(fds[0]);
    auto ledger = UsageLedger::Open(path);
    if (!ledger.ok()) _exit(2);
    std::vector<std::thread> threads;
    for (int t = 0; t < 8; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0;; ++i) {
          const std::string id = absl::StrCat("k-", t, "-", i);
          if (!(*ledger)->Record(MakeCharge(id, 1)).ok()) _exit(3);
          const std::string line = id + "\n";  // one write() under PIPE_BUF: atomic
          if (write(fds[1], line.data(), line.size()) != static_cast<ssize_t>(line.size())) _exit(4);
        }
      });
    }
    for (std::thread& t : threads) t.join();
    _exit(0);
  }
  close(fds[1]);
  std::set<std::string> acked;
  std::string buf;
  char chunk[4096];
  auto drain_lines = [&] {
    size_t nl;
    while ((nl = buf.find('\n')) != std::string::npos) {
      acked.insert(buf.substr(0, nl));
      buf.erase(0, nl + 1);
    }
  };
  while (acked.size() < 300) {
    const ssize_t n = read(fds[0], chunk, sizeof chunk);
    ASSERT_GT(n, 0) << "the child stopped charging";
    buf.append(chunk, static_cast<size_t>(n));
    drain_lines();
  }
  kill(child, SIGKILL);
  int status = 0;
  waitpid(child, &status, 0);
  ASSERT_TRUE(WIFSIGNALED(status));
  for (ssize_t n; (n = read(fds[0], chunk, sizeof chunk)) > 0;) buf.append(chunk, static_cast<size_t>(n));
  drain_lines();
  close(fds[0]);

  auto ledger = UsageLedger::Open(path);
  ASSERT_TRUE(ledger.ok()) << ledger.status();
  const uint64_t recorded = (*ledger)->requests("alice");
  EXPECT_GE(recorded, acked.size()) << "an acknowledged charge was forgotten";
  EXPECT_EQ((*ledger)->Used("alice"), recorded);
  for (const std::string& id : acked) {
    ASSERT_TRUE(absl::IsAlreadyExists((*ledger)->Record(MakeCharge(id, 1)))) << id << " was forgotten";
  }
  EXPECT_EQ((*ledger)->requests("alice"), recorded) << "a repeated charge was counted";
}

}  // namespace
}  // namespace agora::validator
