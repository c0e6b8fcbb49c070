#include "protocol/replay_window.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <string>

#include "protocol/refusal.h"
#include "tests/test_seed.h"

namespace agora::protocol {
namespace {

constexpr uint64_t kNow = 1'800'000'000'000;

PublicKey Sender(uint8_t b) {
  PublicKey k;
  k.fill(b);
  return k;
}

class ReplayWindowTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("agora_nw_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    path_ = (dir_ / "replay.log").string();
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::unique_ptr<NonceWindow> Open(NonceWindow::Options o = {}) {
    auto w = NonceWindow::Open(path_, o);
    EXPECT_TRUE(w.ok()) << w.status();
    return w.ok() ? std::move(*w) : nullptr;
  }

  std::filesystem::path dir_;
  std::string path_;
};

bool Accepts(NonceWindow& w, uint8_t s, uint64_t nonce, uint64_t now = kNow) {
  return w.CheckAndRecord(Sender(s), nonce, now, now).ok();
}

TEST_F(ReplayWindowTest, SlidingWindowSemantics) {
  auto w = NonceWindow::Open("", {});
  ASSERT_TRUE(w.ok());
  NonceWindow& win = **w;
  EXPECT_TRUE(Accepts(win, 1, 5000));
  EXPECT_FALSE(Accepts(win, 1, 5000));
  EXPECT_TRUE(Accepts(win, 1, 4000));                    // inside the window, first time
  EXPECT_FALSE(Accepts(win, 1, 4000));
  EXPECT_FALSE(Accepts(win, 1, 5000 - NonceWindow::kWindowBits));  // just below the window
  EXPECT_TRUE(Accepts(win, 1, 5000 - NonceWindow::kWindowBits + 1));
  EXPECT_TRUE(Accepts(win, 2, 5000));                    // senders are independent
  // A large jump slides everything out: the old highest is now below the window.
  EXPECT_TRUE(Accepts(win, 1, 100000));
  EXPECT_FALSE(Accepts(win, 1, 5000));
  const absl::Status s = win.CheckAndRecord(Sender(1), 100000, kNow, kNow);
  EXPECT_EQ(ReasonOf(s), Reason::kReplayedNonce);
}

TEST_F(ReplayWindowTest, MatchesAReferenceSetUnderRandomTraffic) {
  std::mt19937_64 rng(agora::testing::TestSeed());
  auto w = NonceWindow::Open("", {});
  ASSERT_TRUE(w.ok());
  uint64_t highest = 0;
  std::set<uint64_t> seen;
  for (int i = 0; i < 20000; ++i) {
    // Mostly increasing, sometimes reordered or replayed.
    uint64_t nonce = highest + 1 + rng() % 50;
    if (rng() % 3 == 0 && highest > 2000) nonce = highest - rng() % 1500;
    const bool expect = !seen.count(nonce) && (highest < NonceWindow::kWindowBits ||
                                               nonce > highest - NonceWindow::kWindowBits);
    ASSERT_EQ(Accepts(**w, 9, nonce), expect) << "nonce " << nonce << " highest " << highest;
    if (expect) {
      seen.insert(nonce);
      highest = std::max(highest, nonce);
    }
  }
}

TEST_F(ReplayWindowTest, SurvivesReopen) {
  {
    auto w = Open();
    for (uint64_t n = 1; n <= 300; ++n) ASSERT_TRUE(Accepts(*w, 3, n * 3));
  }  // closed as if the process ended: every accepted nonce was already written
  auto w = Open();
  for (uint64_t n = 1; n <= 300; ++n) EXPECT_FALSE(Accepts(*w, 3, n * 3)) << n;
  EXPECT_TRUE(Accepts(*w, 3, 901));
  EXPECT_TRUE(Accepts(*w, 3, 899));  // never used, inside the window
}

TEST_F(ReplayWindowTest, CompactionKeepsEveryLiveNonce) {
  NonceWindow::Options o;
  o.compact_after_records = 50;
  {
    auto w = Open(o);
    for (uint64_t n = 1; n <= 500; ++n) ASSERT_TRUE(Accepts(*w, 4, n));
  }
  // 500 records were written but compaction keeps the file small.
  EXPECT_LT(std::filesystem::file_size(path_), 50u * 60 + 300);
  auto w = Open(o);
  for (uint64_t n = 1; n <= 500; ++n) EXPECT_FALSE(Accepts(*w, 4, n)) << n;
  EXPECT_TRUE(Accepts(*w, 4, 501));
}

TEST_F(ReplayWindowTest, TornFinalRecordIsDroppedCorruptMiddleIsDataLoss) {
  {
    auto w = Open();
    for (uint64_t n = 1; n <= 10; ++n) ASSERT_TRUE(Accepts(*w, 5, n));
  }
  const auto full = std::filesystem::file_size(path_);
  std::filesystem::resize_file(path_, full - 7);  // crash mid-write of record 10
  {
    auto w = Open();
    EXPECT_FALSE(Accepts(*w, 5, 9));
    EXPECT_TRUE(Accepts(*w, 5, 10));  // its record never completed, so it was never accepted
  }
  // Now flip a byte in the first record's payload.
  {
    std::fstream f(path_, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(8 + 5);
    f.put('\x5a');
  }
  auto reopened = NonceWindow::Open(path_, {});
  ASSERT_FALSE(reopened.ok());
  EXPECT_EQ(reopened.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(reopened.status().message().find("offset 8"), absl::string_view::npos);
}

TEST_F(ReplayWindowTest, NotAWindowFileIsDataLoss) {
  { std::ofstream(path_) << "hello world, not a window"; }
  auto w = NonceWindow::Open(path_, {});
  EXPECT_EQ(w.status().code(), absl::StatusCode::kDataLoss);
}

TEST_F(ReplayWindowTest, FullCacheRefusesNewSendersUntilOldOnesGoStale) {
  NonceWindow::Options o;
  o.max_senders = 3;
  o.max_skew_ms = 1000;
  auto w = NonceWindow::Open("", o);
  ASSERT_TRUE(w.ok());
  EXPECT_TRUE(Accepts(**w, 1, 1, kNow));
  EXPECT_TRUE(Accepts(**w, 2, 1, kNow));
  EXPECT_TRUE(Accepts(**w, 3, 1, kNow));
  const absl::Status full = (*w)->CheckAndRecord(Sender(4), 1, kNow, kNow + 10);
  EXPECT_EQ(ReasonOf(full), Reason::kReplayCacheFull);
  EXPECT_TRUE(Accepts(**w, 1, 2, kNow + 10));  // known senders keep working
  // Once the others' envelopes could no longer pass the timestamp check, they are forgotten.
  EXPECT_TRUE((*w)->CheckAndRecord(Sender(4), 1, kNow + 1500, kNow + 1500).ok());
  EXPECT_LE((*w)->sender_count(), 3u);
}

}  // namespace
}  // namespace agora::protocol
