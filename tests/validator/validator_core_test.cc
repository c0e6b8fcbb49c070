// Torch-free parts of the validator: weights from scores, the held-out
// source, the state file, spot-check gaps and signed score records.
#include <chrono>
#include <filesystem>
#include <memory>
#include <cmath>
#include <numeric>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/file_util.h"
#include "gtest/gtest.h"
#include "tests/common/temp_dir.h"
#include "validator/api_keys.h"
#include "validator/completion_request.h"
#include "validator/gateway_logprobs.h"
#include "validator/holdout.h"
#include "validator/public_windows.h"
#include "validator/receipt.h"
#include "validator/usage_ledger.h"
#include "validator/score_record.h"
#include "validator/spot_check.h"
#include "validator/state.h"
#include "validator/weights.h"

namespace agora::validator {
namespace {

WeightRules Rules(uint16_t n, uint16_t min_w = 1, uint16_t max_limit = 65535, double power = 1) {
  WeightRules r;
  r.n = n;
  r.self_uid = 0;
  r.min_allowed_weights = min_w;
  r.max_weight_limit = max_limit;
  r.power = power;
  return r;
}

TEST(WeightsTest, ProportionalToScoresAndQuantized) {
  const WeightVector w = ComputeWeights({1, 2, 3}, {0.5, 0.25, 0.0}, Rules(4));
  ASSERT_EQ(w.uids, (std::vector<uint16_t>{1, 2}));
  EXPECT_EQ(w.weights, (std::vector<uint16_t>{65535, 32768}));  // round(65535/2)
}

TEST(WeightsTest, PowerSharpensAndOrderIsKept) {
  const WeightVector w = ComputeWeights({3, 1, 2}, {0.6, 0.8, 0.7}, Rules(4, 1, 65535, 2));
  ASSERT_EQ(w.uids, (std::vector<uint16_t>{1, 2, 3}));
  EXPECT_EQ(w.weights[0], 65535);
  EXPECT_EQ(w.weights[1], std::lround(0.49 / 0.64 * 65535));
  EXPECT_EQ(w.weights[2], std::lround(0.36 / 0.64 * 65535));
}

TEST(WeightsTest, AllZeroOrGarbageScoresGiveTheSelfWeight) {
  const WeightVector w = ComputeWeights({1, 2}, {0.0, NAN}, Rules(3));
  EXPECT_EQ(w.uids, (std::vector<uint16_t>{0}));
  EXPECT_EQ(w.weights, (std::vector<uint16_t>{65535}));
  const WeightVector neg = ComputeWeights({1, 2}, {-1.0, INFINITY}, Rules(3));
  EXPECT_EQ(neg.uids, (std::vector<uint16_t>{0}));
}

TEST(WeightsTest, UidsOutOfRangeAreIgnored) {
  const WeightVector w = ComputeWeights({1, 9}, {0.5, 0.9}, Rules(3));
  EXPECT_EQ(w.uids, (std::vector<uint16_t>{1}));
}

TEST(WeightsTest, MinAllowedWeightsPadsWithZeros) {
  const WeightVector w = ComputeWeights({2}, {0.5}, Rules(5, 3));
  EXPECT_EQ(w.uids, (std::vector<uint16_t>{0, 1, 2}));
  EXPECT_EQ(w.weights, (std::vector<uint16_t>{0, 0, 65535}));
}

// The chain's own check, exactly (chain/apply.cc CheckWeights).
bool WithinCap(const WeightVector& w, uint16_t limit) {
  uint64_t sum = 0, max = 0;
  for (uint16_t x : w.weights) {
    sum += x;
    max = std::max<uint64_t>(max, x);
  }
  return sum == 0 || max * 65535 <= uint64_t{limit} * sum;
}

TEST(WeightsTest, MaxWeightLimitIsMetExactly) {
  const uint16_t limit = 65535 / 2;  // at most ~half
  const WeightVector w = ComputeWeights({1, 2, 3}, {0.9, 0.05, 0.05}, Rules(4, 1, limit));
  EXPECT_TRUE(WithinCap(w, limit));
  ASSERT_EQ(w.uids.size(), 3u);
  EXPECT_GT(w.weights[0], w.weights[1]);
  EXPECT_EQ(w.weights[1], w.weights[2]);
  // One scored uid and a cap of 1/3: zero-score uids join so the cap can hold.
  const uint16_t third = 65535 / 3 + 1;
  const WeightVector lone = ComputeWeights({2}, {1.0}, Rules(5, 1, third));
  EXPECT_GE(lone.uids.size(), 3u);
  EXPECT_TRUE(WithinCap(lone, third));
}

TEST(WeightsTest, Deterministic) {
  const std::vector<uint16_t> uids = {5, 1, 7, 3};
  const std::vector<double> s = {0.3, 0.1, 0.9, 0.4};
  const WeightVector a = ComputeWeights(uids, s, Rules(8, 2, 30000, 2));
  const WeightVector b = ComputeWeights(uids, s, Rules(8, 2, 30000, 2));
  EXPECT_EQ(a.uids, b.uids);
  EXPECT_EQ(a.weights, b.weights);
}

TEST(HoldoutTest, ChallengesAreConsecutiveAndNeverRevealATarget) {
  testing::TempDir tmp;
  std::string text;
  for (int i = 0; i < 400; ++i) text += static_cast<char>('a' + i % 26);
  ASSERT_TRUE(WriteFileAtomic(tmp.Sub("a.txt"), text.substr(0, 250), 0644).ok());
  ASSERT_TRUE(WriteFileAtomic(tmp.Sub("b.txt"), text.substr(250), 0644).ok());
  absl::StatusOr<std::unique_ptr<HoldoutSource>> src =
      HoldoutSource::Open({tmp.Sub("a.txt"), tmp.Sub("b.txt")});
  ASSERT_TRUE(src.ok()) << src.status();
  EXPECT_EQ((*src)->size(), 400u);
  uint64_t cursor = 0, next = 0;
  std::vector<uint64_t> revealed_upto;  // every byte < cursor has been revealed or asked
  for (int step = 0; step < 100; ++step) {
    std::vector<Challenge> cs = (*src)->Cut(cursor, 4, 5, 12, 1000 + step, &next);
    if (cs.empty()) break;
    for (const Challenge& c : cs) {
      EXPECT_GE(c.offset, cursor);  // nothing before the cursor is reused
      ASSERT_GE(c.prefix.size(), 5u);
      ASSERT_LE(c.prefix.size(), 12u);
      for (size_t k = 0; k < c.prefix.size(); ++k) {
        EXPECT_EQ(c.prefix[k], static_cast<uint8_t>(text[c.offset + k]));
      }
      EXPECT_EQ(c.target, static_cast<uint8_t>(text[c.offset + c.prefix.size()]));
      cursor = c.offset + c.prefix.size() + 1;  // windows are disjoint
    }
    EXPECT_EQ(next, cursor);
  }
  EXPECT_LE(cursor, 400u);
  EXPECT_GT(cursor, 380u);  // used up but for less than one window
  // Same seed, same challenges.
  std::vector<Challenge> a = (*src)->Cut(0, 3, 5, 12, 7, &next);
  std::vector<Challenge> b = (*src)->Cut(0, 3, 5, 12, 7, &next);
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_EQ(a[i].prefix, b[i].prefix);
  EXPECT_GT(StepsLeft(400, 0, 4, 5, 12), 10.0);
  EXPECT_EQ(StepsLeft(400, 400, 4, 5, 12), 0.0);
}

TEST(HoldoutTest, FingerprintFollowsContentAndBadSourcesAreErrors) {
  testing::TempDir tmp;
  ASSERT_TRUE(WriteFileAtomic(tmp.Sub("x.txt"), "hello world", 0644).ok());
  auto a = HoldoutSource::Open({tmp.Sub("x.txt")});
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE(WriteFileAtomic(tmp.Sub("x.txt"), "hello there", 0644).ok());
  auto b = HoldoutSource::Open({tmp.Sub("x.txt")});
  ASSERT_TRUE(b.ok());
  EXPECT_NE((*a)->fingerprint(), (*b)->fingerprint());
  EXPECT_FALSE(HoldoutSource::Open({}).ok());
  EXPECT_FALSE(HoldoutSource::Open({tmp.Sub("missing.txt")}).ok());
  ASSERT_TRUE(WriteFileAtomic(tmp.Sub("tiny.txt"), "x", 0644).ok());
  EXPECT_FALSE(HoldoutSource::Open({tmp.Sub("tiny.txt")}).ok());
  // A directory is its regular files in name order.
  std::filesystem::create_directories(tmp.Sub("dir"));
  ASSERT_TRUE(WriteFileAtomic(tmp.Sub("dir/2.txt"), "BB", 0644).ok());
  ASSERT_TRUE(WriteFileAtomic(tmp.Sub("dir/1.txt"), "AA", 0644).ok());
  auto d = HoldoutSource::Open({tmp.Sub("dir")});
  ASSERT_TRUE(d.ok()) << d.status();
  uint64_t next = 0;
  std::vector<Challenge> c = (*d)->Cut(0, 1, 3, 3, 1, &next);
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].prefix, (std::vector<uint32_t>{'A', 'A', 'B'}));
  EXPECT_EQ(c[0].target, static_cast<uint32_t>('B'));
}

// A command's stream: read as needed, consumed text forgotten, a command
// that ends or stalls reported (and started again no sooner than a minute).
TEST(HoldoutTest, CommandStreamIsReadAsNeededAndItsEndIsReported) {
  // 00000000\n00000001\n...: every byte's value follows from its offset.
  absl::StatusOr<std::unique_ptr<HoldoutSource>> src = HoldoutSource::OpenCommand(
      "i=0; while :; do printf '%08d\\n' $i; i=$((i+1)); done", std::chrono::seconds(20),
      std::chrono::seconds(20));
  ASSERT_TRUE(src.ok()) << src.status();
  EXPECT_TRUE((*src)->endless());
  auto expected = [](uint64_t offset) {
    return offset % 9 == 8 ? '\n' : absl::StrFormat("%08d", offset / 9)[offset % 9];
  };
  uint64_t cursor = 0, next = 0;
  for (int step = 0; step < 50; ++step) {
    std::vector<Challenge> cs = (*src)->Cut(cursor, 4, 5, 12, 100 + step, &next);
    ASSERT_EQ(cs.size(), 4u) << (*src)->problem();
    for (const Challenge& c : cs) {
      EXPECT_EQ(c.offset, cursor);
      for (size_t k = 0; k < c.prefix.size(); ++k) {
        ASSERT_EQ(c.prefix[k], static_cast<uint8_t>(expected(c.offset + k))) << c.offset + k;
      }
      EXPECT_EQ(c.target, static_cast<uint8_t>(expected(c.offset + c.prefix.size())));
      cursor = c.offset + c.prefix.size() + 1;
    }
    EXPECT_EQ(next, cursor);
  }
  // Read as needed: a step's worth beyond the cursor (and a pipe's), not the
  // endless rest.
  EXPECT_LT((*src)->size(), cursor + 4 * 13 + 8192);

  // A command that ends: its text is used, then the end is reported.
  auto ends = HoldoutSource::OpenCommand("printf abcdefghijklmnopqrstuvwxyz0123",
                                         std::chrono::seconds(20), std::chrono::seconds(20));
  ASSERT_TRUE(ends.ok());
  std::vector<Challenge> a = (*ends)->Cut(0, 4, 5, 5, 1, &next);
  EXPECT_EQ(a.size(), 4u);
  std::vector<Challenge> b = (*ends)->Cut(next, 4, 5, 5, 1, &next);
  ASSERT_EQ(b.size(), 1u);
  EXPECT_EQ(b[0].prefix, (std::vector<uint32_t>{'y', 'z', '0', '1', '2'}));
  EXPECT_NE((*ends)->problem().find("ended (exit status 0)"), std::string::npos) << (*ends)->problem();
  EXPECT_TRUE((*ends)->Cut(next, 4, 5, 5, 1, &next).empty());  // not restarted within a minute

  // A command that stalls: the wait is bounded, and it is stopped.
  auto stalls = HoldoutSource::OpenCommand("sleep 60", std::chrono::milliseconds(300),
                                           std::chrono::milliseconds(300));
  ASSERT_TRUE(stalls.ok());
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_TRUE((*stalls)->Cut(0, 2, 5, 5, 1, &next).empty());
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(30));
  EXPECT_NE((*stalls)->problem().find("gave no text"), std::string::npos) << (*stalls)->problem();
  EXPECT_FALSE(HoldoutSource::OpenCommand("").ok());
}

TEST(PublicWindowsTest, FindsEveryWindowOfTheTextsAndNoOther) {
  testing::TempDir tmp;
  const std::string verse = "And the LORD spake unto Moses, saying, Speak unto the children of Israel";
  std::filesystem::create_directories(tmp.Sub("dir/deeper"));
  ASSERT_TRUE(WriteFileAtomic(tmp.Sub("dir/deeper/kjv.txt"), verse, 0644).ok());
  ASSERT_TRUE(WriteFileAtomic(tmp.Sub("words"), "short\nwords\n", 0644).ok());
  std::vector<std::string> missing;
  absl::StatusOr<PublicWindows> w =
      PublicWindows::Load({tmp.Sub("dir"), tmp.Sub("words"), tmp.Sub("no-such")}, &missing);
  ASSERT_TRUE(w.ok()) << w.status();
  EXPECT_EQ(missing, std::vector<std::string>{tmp.Sub("no-such")});
  EXPECT_EQ(w->files(), 2u);
  EXPECT_EQ(w->windows(), verse.size() - kPublicWindow + 1);
  for (size_t i = 0; i + kPublicWindow <= verse.size(); ++i) {
    EXPECT_TRUE(w->Contains(verse.substr(i, kPublicWindow))) << i;
  }
  std::string changed = verse.substr(3, kPublicWindow);
  changed[31] = 'x';
  EXPECT_FALSE(w->Contains(changed));
  EXPECT_FALSE(w->Contains(verse.substr(0, 31)));  // not a window
  // Text that quotes 32 bytes of it, somewhere inside.
  const std::string fresh = "Then came a fresh line, new here: ";
  EXPECT_FALSE(w->FirstShared(fresh).has_value());
  EXPECT_EQ(w->FirstShared(fresh + verse.substr(10, 32) + "...").value_or(0), fresh.size());
  EXPECT_FALSE(w->FirstShared(fresh + verse.substr(10, 31) + "...").has_value());
  EXPECT_FALSE(PublicWindows::Load({tmp.Sub("dir")}, nullptr, 10).ok());  // over the byte cap
}

TEST(PayableScoreTest, ZeroWhileZeroedOrAwaitingAVerifiedCompletion) {
  // ema, zeroed_until_epoch, completion_verified, epoch, require_verified
  EXPECT_EQ(PayableScore(0.4, 0, false, 3, false), 0.4);
  EXPECT_EQ(PayableScore(0.4, 0, false, 3, true), 0.0);  // never verified
  EXPECT_EQ(PayableScore(0.4, 0, true, 3, true), 0.4);
  EXPECT_EQ(PayableScore(0.4, 5, true, 4, true), 0.0);   // zeroed until epoch 5
  EXPECT_EQ(PayableScore(0.4, 5, true, 4, false), 0.0);
  EXPECT_EQ(PayableScore(0.4, 5, true, 5, true), 0.4);   // the zeroing is over
}

TEST(StateTest, RoundTripsAndRefusesCorruption) {
  testing::TempDir tmp;
  const std::string path = tmp.Sub("validator.state");
  EXPECT_TRUE(absl::IsNotFound(LoadState(path).status()));
  ValidatorState s;
  s.hotkey.fill(7);
  s.netuid = 3;
  s.step = 42;
  s.holdout_cursor = 1234;
  s.holdout_fingerprint = "fp";
  s.scores.push_back(MinerScore{1, PublicKey{}, 0.5, 10, 1.25, 9, true});
  s.commits.push_back(PendingCommit{4, {1, 2}, {65535, 100}, "salt", 0});
  s.last_weights_block = 99;
  ASSERT_TRUE(SaveState(path, s).ok());
  absl::StatusOr<ValidatorState> back = LoadState(path);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->step, 42u);
  EXPECT_EQ(back->holdout_cursor, 1234u);
  ASSERT_EQ(back->scores.size(), 1u);
  EXPECT_DOUBLE_EQ(back->scores[0].ema, 0.5);
  EXPECT_EQ(back->scores[0].zeroed_until_epoch, 9u);
  EXPECT_TRUE(back->scores[0].completion_verified);
  ASSERT_EQ(back->commits.size(), 1u);
  EXPECT_EQ(back->commits[0].salt, "salt");
  EXPECT_TRUE(back->predict_races.empty());
  EXPECT_EQ(back->record_step, 0u);

  // The duplicate rule's race history and the step's pending record.
  PublicKey lo{}, hi{};
  lo.fill(1);
  hi.fill(2);
  s.predict_races.push_back(PairRaces{lo, hi, 5, 1});
  s.generate_races.push_back(PairRaces{lo, hi, 0, 3});
  s.record_step = 42;
  s.record = "{\"record\": {}}";
  ASSERT_TRUE(SaveState(path, s).ok());
  back = LoadState(path);
  ASSERT_TRUE(back.ok()) << back.status();
  ASSERT_EQ(back->predict_races.size(), 1u);
  EXPECT_EQ(back->predict_races[0].lower, lo);
  EXPECT_EQ(back->predict_races[0].higher, hi);
  EXPECT_EQ(back->predict_races[0].lower_first, 5u);
  EXPECT_EQ(back->predict_races[0].higher_first, 1u);
  ASSERT_EQ(back->generate_races.size(), 1u);
  EXPECT_EQ(back->generate_races[0].higher_first, 3u);
  EXPECT_EQ(back->record_step, 42u);
  EXPECT_EQ(back->record, s.record);
  ASSERT_TRUE(WriteFileAtomic(path, "garbage", 0600).ok());
  EXPECT_TRUE(absl::IsDataLoss(LoadState(path).status()));
}

TEST(SpotCheckTest, GapOfFullAndTopKForms) {
  std::vector<float> truth(4, 0.25f);
  protocol::TokenDistribution full;
  full.probs = {0.25f, 0.25f, 0.2f, 0.3f};
  EXPECT_NEAR(DistributionGap(full, truth), 0.05, 1e-6);
  protocol::TokenDistribution topk;
  topk.tokens = {3, 0};
  topk.probs = {0.25f, 0.25f};
  topk.rest = 0.5f;
  EXPECT_NEAR(DistributionGap(topk, truth), 0.0, 1e-7);
  topk.tokens = {9, 0};
  EXPECT_TRUE(std::isinf(DistributionGap(topk, truth)));
  full.probs.pop_back();
  EXPECT_TRUE(std::isinf(DistributionGap(full, truth)));
  full.probs = {NAN, 0.25f, 0.25f, 0.25f};
  EXPECT_TRUE(std::isinf(DistributionGap(full, truth)));
  topk.tokens = {3, 0};
  topk.rest = 0.3f;  // the other two hold 0.5, not 0.3
  EXPECT_NEAR(DistributionGap(topk, truth), 0.1, 1e-6);
}

TEST(SpotCheckTest, SmallErrorsOnEveryTokenAddUp) {
  // A near-uniform model over 256 tokens, and an answer off by 0.002 on
  // every token: no single probability is 0.02 away, the distribution is.
  std::vector<float> truth(256, 1.0f / 256);
  protocol::TokenDistribution claimed;
  for (size_t i = 0; i < truth.size(); ++i) claimed.probs.push_back(truth[i] + (i % 2 ? 0.002f : -0.002f));
  EXPECT_NEAR(DistributionGap(claimed, truth), 0.256, 1e-4);
  // Float noise of an honest recomputation stays far below the tolerance.
  for (size_t i = 0; i < truth.size(); ++i) claimed.probs[i] = truth[i] * (1 + (i % 2 ? 1e-5f : -1e-5f));
  EXPECT_LT(DistributionGap(claimed, truth), 1e-4);
}

TEST(ScoreRecordTest, SignedRecordsVerifyAndTamperingIsCaught) {
  absl::StatusOr<SigningKey> key = SigningKey::FromSeed(Blake2b256("record-test"));
  ASSERT_TRUE(key.ok());
  nlohmann::json rec = {{"step", 3}, {"miners", {{{"uid", 1}, {"loss", 1.5}}}}};
  const std::string text = SignRecord(rec, *key);
  absl::StatusOr<nlohmann::json> back = VerifyRecord(text);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ((*back)["step"], 3);
  std::string tampered = text;
  tampered.replace(tampered.find("1.5"), 3, "0.5");
  EXPECT_TRUE(absl::IsUnauthenticated(VerifyRecord(tampered).status()));
  EXPECT_TRUE(absl::IsInvalidArgument(VerifyRecord("{not json").status()));
  EXPECT_TRUE(absl::IsInvalidArgument(VerifyRecord("{\"record\": 1}").status()));
  testing::TempDir tmp;
  ASSERT_TRUE(WriteRecord(tmp.Sub("records"), 3, text).ok());
  absl::StatusOr<std::string> file = ReadFile(tmp.Sub("records/step-0000000003.json"), 1 << 20);
  ASSERT_TRUE(file.ok()) << file.status();
  EXPECT_EQ(*file, text);
}

TEST(ApiKeysTest, ParsesAndRefusesBadFiles) {
  absl::StatusOr<std::unique_ptr<ApiKeys>> k = ApiKeys::Parse(
      "[[keys]]\nname = \"a\"\nkey = \"sk-aaaaaaaaaaaaaaaa\"\nrate_per_s = 1.0\nburst = 2\n"
      "credit_tokens = 10\nmax_tokens = 8\n"
      "[[keys]]\nname = \"b\"\nkey = \"sk-bbbbbbbbbbbbbbbb\"\n",
      "keys.toml");
  ASSERT_TRUE(k.ok()) << k.status();
  EXPECT_EQ((*k)->size(), 2u);
  const ApiKey* a = (*k)->Find("sk-aaaaaaaaaaaaaaaa");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->name, "a");
  EXPECT_EQ(a->max_tokens, 8u);
  EXPECT_EQ((*k)->Find("sk-aaaaaaaaaaaaaaa"), nullptr);  // a prefix is not the key
  EXPECT_EQ((*k)->Find(""), nullptr);
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_TRUE((*k)->Admit(*a, t0));
  EXPECT_TRUE((*k)->Admit(*a, t0));
  EXPECT_FALSE((*k)->Admit(*a, t0));  // burst of 2 spent
  EXPECT_TRUE((*k)->Admit(*a, t0 + std::chrono::seconds(1)));  // refilled at 1/s
  for (const char* bad : {"", "[[keys]]\nname = \"a\"\n", "[[keys]]\nname = \"a\"\nkey = \"short\"\n",
                          "[[keys]]\nname = \"a\"\nkey = \"sk-aaaaaaaaaaaaaaaa\"\nbogus = 1\n",
                          "[[keys]]\nname = \"a\"\nkey = \"sk-aaaaaaaaaaaaaaaa\"\nmax_tokens = 0\n",
                          "[[keys]]\nname = \"a\"\nkey = \"sk-aaaaaaaaaaaaaaaa\"\naccount = \"nope\"\n",
                          "[[keys]]\nname = \"a\"\nkey = \"sk-aaaaaaaaaaaaaaaa\"\n"
                          "[[keys]]\nname = \"a\"\nkey = \"sk-cccccccccccccccc\"\n",
                          "other = 1\n", "[[keys\n"}) {
    EXPECT_FALSE(ApiKeys::Parse(bad, "keys.toml").ok()) << bad;
  }
}

TEST(UsageLedgerTest, ChargesOnceAndSurvivesReopen) {
  testing::TempDir tmp;
  const std::string path = tmp.Sub("gateway.db");
  {
    absl::StatusOr<std::unique_ptr<UsageLedger>> l = UsageLedger::Open(path);
    ASSERT_TRUE(l.ok()) << l.status();
    ASSERT_TRUE((*l)->Record(Charge{"r1", "alice", 5, 1, "m", 1, "acct", 500, "payee1"}).ok());
    ASSERT_TRUE((*l)->Record(Charge{"r2", "alice", 3, 2, "m", 2, "", 0, ""}).ok());
    EXPECT_TRUE(absl::IsAlreadyExists((*l)->Record(Charge{"r1", "alice", 5, 1, "m", 3, "acct", 500, "payee1"})));
    EXPECT_EQ((*l)->Used("alice"), 8u);
    EXPECT_EQ((*l)->requests("alice"), 2u);
    ASSERT_TRUE((*l)->RecordDeposits({Deposit{"tx1", "acct", 2000, 7}}, 7).ok());
    ASSERT_TRUE((*l)->RecordDeposits({Deposit{"tx1", "acct", 2000, 7}}, 8).ok());  // rescanned
    EXPECT_EQ((*l)->Deposited("acct"), 2000u);
    EXPECT_EQ((*l)->Balance("acct"), 1500);
    EXPECT_EQ((*l)->scanned_height(), 8u);
    // Fee shares: planned once per charge, kept pending until resolved.
    int64_t upto = 0;
    std::vector<Forward> owed = (*l)->OwedFees(0.5, &upto);
    ASSERT_EQ(owed.size(), 1u);
    EXPECT_EQ(owed[0].payee, "payee1");
    EXPECT_EQ(owed[0].amount, 250u);
    owed[0].tx = "signed";
    owed[0].tx_hash = "h1";
    ASSERT_TRUE((*l)->AddForwards(owed, upto).ok());
    EXPECT_TRUE((*l)->OwedFees(0.5, &upto).empty());
    std::vector<Forward> pending = (*l)->PendingForwards();
    ASSERT_EQ(pending.size(), 1u);
    EXPECT_EQ(pending[0].tx, "signed");
    pending[0].state = "done";
    ASSERT_TRUE((*l)->UpdateForward(pending[0]).ok());
    EXPECT_TRUE((*l)->PendingForwards().empty());
    EXPECT_EQ((*l)->Forwarded("payee1"), 250u);
  }
  absl::StatusOr<std::unique_ptr<UsageLedger>> again = UsageLedger::Open(path);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ((*again)->Used("alice"), 8u);
  EXPECT_EQ((*again)->Balance("acct"), 1500);
  EXPECT_EQ((*again)->scanned_height(), 8u);
  EXPECT_EQ((*again)->Used("nobody"), 0u);
}

TEST(CompletionRequestTest, ValidatesEveryField) {
  absl::StatusOr<CompletionAsk> a = ParseCompletionRequest(
      R"({"prompt": "hi", "max_tokens": 5, "temperature": 0, "top_p": 0.5, "stop": "\n", "stream": true, "seed": 3})",
      false, 16);
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->prompt, "hi");
  EXPECT_EQ(a->max_tokens, 5u);
  EXPECT_TRUE(a->stream);
  EXPECT_EQ(a->stop, std::vector<std::string>{"\n"});
  absl::StatusOr<CompletionAsk> chat = ParseCompletionRequest(
      R"({"messages": [{"role": "user", "content": "hello"}]})", true, 16);
  ASSERT_TRUE(chat.ok()) << chat.status();
  EXPECT_EQ(chat->prompt, "user: hello\nassistant:");
  for (const char* bad : {"", "[]", "{", R"({"prompt": 3})", R"({"prompt": ""})", R"({"max_tokens": 2})",
                          R"({"prompt": "x", "max_tokens": 17})", R"({"prompt": "x", "max_tokens": 0})",
                          R"({"prompt": "x", "max_tokens": 1.5})", R"({"prompt": "x", "temperature": -1})",
                          R"({"prompt": "x", "top_p": 0})", R"({"prompt": "x", "seed": -1})",
                          R"({"prompt": "x", "stop": [1]})", R"({"prompt": "x", "stream": "yes"})",
                          R"({"prompt": "x", "model": 7})"}) {
    absl::StatusOr<CompletionAsk> r = ParseCompletionRequest(bad, false, 16);
    EXPECT_TRUE(absl::IsInvalidArgument(r.status())) << bad;
  }
  EXPECT_FALSE(ParseCompletionRequest(R"({"messages": [{"role": "user"}]})", true, 16).ok());
}

TEST(CompletionRequestTest, LogprobsEchoAndListsOfPrompts) {
  absl::StatusOr<CompletionAsk> a =
      ParseCompletionRequest(R"({"prompt": "abc", "max_tokens": 0, "echo": true, "logprobs": 3})", false, 16);
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->max_tokens, 0u);
  EXPECT_TRUE(a->echo);
  EXPECT_EQ(a->logprobs, 3u);
  EXPECT_FALSE(a->seed.has_value());
  a = ParseCompletionRequest(R"({"prompt": ["one", "two"], "max_tokens": 0, "logprobs": 5})", false, 16);
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->prompts, (std::vector<std::string>{"one", "two"}));
  EXPECT_EQ(a->prompt, "one");
  a = ParseCompletionRequest(R"({"prompt": "x", "max_tokens": 4, "logprobs": 0, "seed": 9})", false, 16);
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->logprobs, 0u);
  EXPECT_EQ(a->seed, 9u);
  absl::StatusOr<CompletionAsk> chat = ParseCompletionRequest(
      R"({"messages": [{"role": "user", "content": "hi"}], "logprobs": true, "top_logprobs": 2})", true, 16);
  ASSERT_TRUE(chat.ok()) << chat.status();
  EXPECT_EQ(chat->logprobs, 2u);
  for (const char* bad : {
           R"({"prompt": "x", "logprobs": 21})",                       // over the limit
           R"({"prompt": "x", "logprobs": -1})",
           R"({"prompt": "x", "logprobs": true})",                     // completions: an integer
           R"({"prompt": "x", "echo": 1})",
           R"({"prompt": ["a", "b"], "max_tokens": 2, "logprobs": 1})",  // lists: max_tokens 0 only
           R"({"prompt": [], "max_tokens": 0, "logprobs": 1})",
           R"({"prompt": ["a", 3], "max_tokens": 0, "logprobs": 1})",
           R"({"prompt": ["a", ""], "max_tokens": 0, "logprobs": 1})",
           R"({"prompt": "x", "max_tokens": 0, "logprobs": 0})",       // nothing to answer
           R"({"prompt": "x", "max_tokens": 0, "echo": true})",        // max_tokens 0 needs logprobs
           R"({"prompt": "x", "logprobs": 1, "stream": true})"}) {
    EXPECT_TRUE(absl::IsInvalidArgument(ParseCompletionRequest(bad, false, 16).status())) << bad;
  }
  std::string many = R"({"max_tokens": 0, "logprobs": 1, "prompt": [)";
  for (int i = 0; i < 65; ++i) absl::StrAppend(&many, i ? "," : "", "\"p\"");
  many += "]}";
  EXPECT_TRUE(absl::IsInvalidArgument(ParseCompletionRequest(many, false, 16).status()));
  for (const char* bad : {R"({"messages": [{"role": "user", "content": "hi"}], "top_logprobs": 2})",
                          R"({"messages": [{"role": "user", "content": "hi"}], "logprobs": 2})",
                          R"({"messages": [{"role": "user", "content": "hi"}], "logprobs": true, "top_logprobs": 30})"}) {
    EXPECT_TRUE(absl::IsInvalidArgument(ParseCompletionRequest(bad, true, 16).status())) << bad;
  }
}

TEST(GatewayLogprobsTest, PrefixesChunksAndDistributions) {
  const std::vector<uint32_t> t = ByteTokens("abcd");
  EXPECT_EQ(t, (std::vector<uint32_t>{'a', 'b', 'c', 'd'}));
  const auto echo = PrefixesOf(t, 1, t.size());  // after "a", "ab", "abc"
  ASSERT_EQ(echo.size(), 3u);
  EXPECT_EQ(echo[2], (std::vector<uint32_t>{'a', 'b', 'c'}));
  std::vector<std::vector<uint32_t>> many(130, std::vector<uint32_t>{1});
  const auto chunks = PredictChunks(many);
  ASSERT_EQ(chunks.size(), 3u);
  EXPECT_EQ(chunks[0].prefixes.size(), 64u);
  EXPECT_EQ(chunks[2].prefixes.size(), 2u);
  EXPECT_EQ(chunks[0].top_k, 0u);

  // One full distribution (p('b') = 0.5, the rest spread) and one top-k.
  protocol::PredictReply full;
  full.vocab_size = kChallengeVocab;
  full.distributions.emplace_back().probs.assign(256, 0.5f / 255);
  full.distributions[0].probs['b'] = 0.5f;
  protocol::TokenDistribution topk;
  topk.tokens = {'c', 'x'};
  topk.probs = {0.75f, 0.25f};
  full.distributions.push_back(topk);
  protocol::PredictRequest asked;
  asked.prefixes = {{'a'}, {'a', 'b'}};
  absl::StatusOr<std::vector<std::vector<float>>> d = CollectDistributions({asked}, {full});
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_FLOAT_EQ((*d)[0]['b'], 0.5f);
  EXPECT_FLOAT_EQ((*d)[1]['c'], 0.75f);
  const auto top = TopLogprobs((*d)[1], 2);
  ASSERT_EQ(top.size(), 2u);
  EXPECT_EQ(top[0].first, "c");
  EXPECT_NEAR(top[0].second, std::log(0.75), 1e-6);
  EXPECT_EQ(top[1].first, "x");
  EXPECT_EQ(LogProb(0.0), std::log(1e-30));  // a zero stays a number

  // Refused: a missing reply, the wrong count, another vocabulary, a NaN.
  EXPECT_FALSE(CollectDistributions({asked}, {}).ok());
  protocol::PredictReply one = full;
  one.distributions.pop_back();
  EXPECT_FALSE(CollectDistributions({asked}, {one}).ok());
  protocol::PredictReply other = full;
  other.vocab_size = 512;
  EXPECT_FALSE(CollectDistributions({asked}, {other}).ok());
  protocol::PredictReply nan = full;
  nan.distributions[0].probs[3] = std::nanf("");
  EXPECT_FALSE(CollectDistributions({asked}, {nan}).ok());

  // OpenAI's forms: the prompt's first token has no log-probability.
  std::vector<TokenLogprob> toks(2);
  toks[0].token = "a";
  toks[1].token = "b";
  toks[1].logprob = -0.5;
  toks[1].top = std::vector<std::pair<std::string, double>>{{"b", -0.5}};
  const nlohmann::json c = CompletionLogprobsJson(toks, 0);
  EXPECT_EQ(c["tokens"], nlohmann::json::array({"a", "b"}));
  EXPECT_TRUE(c["token_logprobs"][0].is_null());
  EXPECT_EQ(c["token_logprobs"][1], -0.5);
  EXPECT_TRUE(c["top_logprobs"][0].is_null());
  EXPECT_EQ(c["top_logprobs"][1]["b"], -0.5);
  EXPECT_EQ(c["text_offset"], nlohmann::json::array({0, 1}));
  const nlohmann::json chat = ChatLogprobsJson(toks);
  EXPECT_EQ(chat["content"][1]["token"], "b");
  EXPECT_EQ(chat["content"][1]["bytes"], nlohmann::json::array({98}));
  EXPECT_EQ(chat["content"][1]["top_logprobs"][0]["logprob"], -0.5);
  // A byte that is not text by itself: OpenAI's "bytes:" form, distinct per byte.
  EXPECT_EQ(ShownToken("\xe2"), "bytes:\\xe2");
  EXPECT_NE(ShownToken("\xe2"), ShownToken("\xe3"));
  EXPECT_EQ(ShownToken("a b"), "a b");
}

TEST(ReceiptTest, MalformedReceiptsAreRefused) {
  EXPECT_TRUE(absl::IsInvalidArgument(VerifyReceipt(nlohmann::json::object()).status()));
  EXPECT_FALSE(VerifyReceipt({{"hotkey", "x"}, {"model", ""}, {"envelope", "zz"}}).ok());
}

}  // namespace
}  // namespace agora::validator
