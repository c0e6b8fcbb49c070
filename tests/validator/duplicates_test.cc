// The duplicate rule (validator/duplicates.h): what counts as the same
// answer, which of several identical answers keeps its score, and the
// history of who answered first that keeps the clock's noise from deciding.
#include "validator/duplicates.h"

#include <cmath>
#include <optional>
#include <utility>
#include <vector>

#include "gtest/gtest.h"
#include "tests/common/temp_dir.h"
#include "validator/state.h"

namespace agora::validator {
namespace {

using protocol::GenerateReply;
using protocol::PredictReply;
using protocol::TokenDistribution;

// A full-form answer over 256 tokens: distribution i is a smooth bump at 10 * i + shift.
PredictReply Answer(double shift, size_t n = 4) {
  PredictReply r;
  r.vocab_size = 256;
  for (size_t i = 0; i < n; ++i) {
    TokenDistribution d;
    d.probs.resize(256);
    double sum = 0;
    for (size_t t = 0; t < 256; ++t) sum += (d.probs[t] = float(std::exp(-std::fabs(double(t) - 10.0 * i - shift) / 8)));
    for (float& p : d.probs) p = float(p / sum);
    r.distributions.push_back(std::move(d));
  }
  return r;
}

// `r` scaled by (1 + eps) per probability: what a relay's rounding does.
PredictReply Nudged(PredictReply r, double eps) {
  for (auto& d : r.distributions) {
    for (float& p : d.probs) p = float(p * (1 + eps));
  }
  return r;
}

TEST(DuplicatesTest, SamePredictAnswerComparesTheDistributionsOnly) {
  const PredictReply a = Answer(0);
  PredictReply relayed = Nudged(a, 2e-6);
  relayed.model_hash.fill(7);  // what else the reply says does not matter
  relayed.compute_us = 12345;
  EXPECT_TRUE(SamePredictAnswer(a, a));
  EXPECT_TRUE(SamePredictAnswer(a, relayed));
  EXPECT_TRUE(SamePredictAnswer(relayed, a));
  EXPECT_FALSE(SamePredictAnswer(a, Answer(0.5))) << "another model: 0.031 apart";
  EXPECT_TRUE(SamePredictAnswer(a, Nudged(a, 1e-3))) << "a re-tempered relay: 5e-4 apart";
  EXPECT_FALSE(SamePredictAnswer(a, Nudged(a, 0.05))) << "0.025 apart";
  PredictReply one_token = a;
  one_token.distributions[3].probs[40] += 0.05f;
  EXPECT_FALSE(SamePredictAnswer(a, one_token)) << "a difference in any distribution counts";
  PredictReply negligible = a;
  negligible.distributions[3].probs[200] *= 3;
  EXPECT_TRUE(SamePredictAnswer(a, negligible));
  EXPECT_FALSE(SamePredictAnswer(a, Answer(0, 3))) << "another number of distributions";
  PredictReply vocab = a;
  vocab.vocab_size = 257;
  EXPECT_FALSE(SamePredictAnswer(a, vocab));
  PredictReply nan = a;
  nan.distributions[0].probs[0] = NAN;
  EXPECT_FALSE(SamePredictAnswer(nan, nan)) << "malformed answers are never the same";
  EXPECT_FALSE(SamePredictAnswer(PredictReply{}, PredictReply{})) << "empty answers say nothing";
  // The tolerance is the validator's re-run tolerance.
  EXPECT_TRUE(SamePredictAnswer(a, Answer(0.5), {.distribution = 0.05}));
  EXPECT_FALSE(SamePredictAnswer(a, Nudged(a, 1e-3), {.distribution = 1e-4}));
}

TEST(DuplicatesTest, AnswersARerunCannotTellApartAreTheSame) {
  // Two barely trained models: every probability within 1% of 1/256. A
  // re-run at the tolerance cannot tell them apart (total variation 0.006),
  // so they are the same answer; at a tighter tolerance they differ.
  PredictReply a = Answer(0), b = Answer(0);
  for (PredictReply* r : {&a, &b}) {
    for (auto& d : r->distributions) {
      for (size_t t = 0; t < 256; ++t) {
        d.probs[t] = float((1.0 + (r == &a ? 0.01 : -0.01) * std::sin(double(t))) / 256);
      }
    }
  }
  EXPECT_TRUE(SamePredictAnswer(a, b));
  EXPECT_FALSE(SamePredictAnswer(a, b, {.distribution = 0.005}));
}

TEST(DuplicatesTest, AnAnswerOfADerivedModelIsTheSameWithinTheMeanDistance) {
  // A nudged copy of a model beyond the re-run tolerance: one distribution
  // 0.1 away in total variation, the others 0.04, mean 0.055.
  const PredictReply a = Answer(0), far = Answer(100);
  PredictReply b = a;
  const double w[] = {0.1, 0.04, 0.04, 0.04};
  for (size_t i = 0; i < b.distributions.size(); ++i) {
    for (size_t t = 0; t < 256; ++t) {
      b.distributions[i].probs[t] = float((1 - w[i]) * a.distributions[i].probs[t] +
                                          w[i] * far.distributions[i].probs[t]);
    }
  }
  EXPECT_FALSE(SamePredictAnswer(a, b));                     // beyond the re-run tolerance
  EXPECT_TRUE(SamePredictAnswer(a, b, {.derived = 0.08}));   // but a derived model's
  EXPECT_TRUE(SamePredictAnswer(b, a, {.derived = 0.08}));
  EXPECT_FALSE(SamePredictAnswer(a, b, {.derived = 0.05}));  // a model of its own
  EXPECT_FALSE(SamePredictAnswer(a, far, {.derived = 0.08}));
}

TEST(DuplicatesTest, TopKFormsCompareAsTheDistributionsTheyDescribe) {
  PredictReply full;
  full.vocab_size = 8;
  full.distributions.push_back(TokenDistribution{{}, {0.5f, 0.2f, 0.05f, 0.05f, 0.05f, 0.05f, 0.05f, 0.05f}, 0});
  PredictReply topk = full;
  topk.distributions[0] = TokenDistribution{{0, 1}, {0.5f, 0.2f}, 0.3f};
  EXPECT_TRUE(SamePredictAnswer(full, topk));
  EXPECT_TRUE(SamePredictAnswer(topk, full));
  PredictReply reordered = full;
  reordered.distributions[0] = TokenDistribution{{1, 0, 2}, {0.2f, 0.5f, 0.05f}, 0.25f};
  EXPECT_TRUE(SamePredictAnswer(topk, reordered));
  PredictReply other = full;
  other.distributions[0] = TokenDistribution{{0, 1}, {0.5f, 0.3f}, 0.2f};
  EXPECT_FALSE(SamePredictAnswer(topk, other));
  PredictReply other_rest = full;
  other_rest.distributions[0] = TokenDistribution{{0, 1}, {0.5f, 0.2f}, 0.2f};
  EXPECT_FALSE(SamePredictAnswer(topk, other_rest));
  PredictReply bad = full;
  bad.distributions[0] = TokenDistribution{{0, 9}, {0.5f, 0.2f}, 0.3f};
  EXPECT_FALSE(SamePredictAnswer(bad, bad));
  bad.distributions[0] = TokenDistribution{{0, 0}, {0.5f, 0.2f}, 0.3f};
  EXPECT_FALSE(SamePredictAnswer(bad, bad));
}

PublicKey Key(uint8_t k) {
  PublicKey p{};
  p.fill(k);
  return p;
}

using Dups = std::vector<std::optional<size_t>>;

TEST(DuplicatesTest, WithoutHistoryTheFastestOfIdenticalAnswersLeads) {
  const PredictReply a = Answer(0), relayed = Nudged(a, 1e-6), b = Answer(3);
  const DuplicateHistory none;
  std::vector<Response<PredictReply>> r = {
      {&relayed, 9, Key(9), 12.0, true},  // a copycat, slower than its source
      {&a, 4, Key(4), 10.0, true},        // the source
      {&b, 2, Key(2), 30.0, true},        // another model
      {nullptr, 1, Key(1), 1.0, true},    // no valid answer: takes no part
      {&a, 7, Key(7), 11.0, true},        // the same checkpoint served again, slower
  };
  const DuplicateResult d = FindDuplicates(r, none);
  EXPECT_EQ(d.duplicate_of, (Dups{1, std::nullopt, std::nullopt, std::nullopt, 1}));
  ASSERT_EQ(d.races.size(), 3u) << "each pair of identical answers, first first";
  EXPECT_EQ(d.races[0].first, Key(4));
  EXPECT_EQ(d.races[0].second, Key(7));
  EXPECT_EQ(d.races[1].first, Key(4));
  EXPECT_EQ(d.races[1].second, Key(9));
  EXPECT_EQ(d.races[2].first, Key(7));
  EXPECT_EQ(d.races[2].second, Key(9));

  // The order of the input does not matter; latency ties go to the lower uid.
  std::vector<Response<PredictReply>> tie = {{&a, 8, Key(8), 10.0, true}, {&relayed, 3, Key(3), 10.0, true}};
  EXPECT_EQ(FindDuplicates(tie, none).duplicate_of, (Dups{1, std::nullopt}));
  std::swap(tie[0], tie[1]);
  EXPECT_EQ(FindDuplicates(tie, none).duplicate_of, (Dups{std::nullopt, 0}));
  std::vector<Response<PredictReply>> nan = {{&a, 1, Key(1), NAN, true}, {&a, 2, Key(2), 50.0, true}};
  EXPECT_EQ(FindDuplicates(nan, none).duplicate_of, (Dups{1, std::nullopt}))
      << "an unmeasured latency counts as the slowest";
}

TEST(DuplicatesTest, WhoAnswersFirstInMostRacesLeadsNotTheClocksNoise) {
  // A copycat batched with its source answers within a millisecond of it;
  // the validator's clock puts it first now and then (here one step in five,
  // the very first among them). Only that first step, with no history yet,
  // goes to the copycat.
  const PredictReply a = Answer(0), relayed = Nudged(a, 1e-6);
  DuplicateHistory history;
  int copycat_led = 0, copycat_led_without_history = 0;
  for (int step = 0; step < 200; ++step) {
    const bool noise = step % 5 == 0;
    std::vector<Response<PredictReply>> r = {{&a, 1, Key(1), noise ? 20.5 : 20.0, true},
                                             {&relayed, 2, Key(2), noise ? 20.0 : 20.5, true}};
    const DuplicateResult d = FindDuplicates(r, history);
    history.Add(d.races);
    copycat_led += d.duplicate_of[0].has_value() ? 1 : 0;
    EXPECT_NE(d.duplicate_of[0].has_value(), d.duplicate_of[1].has_value()) << step;
    copycat_led_without_history += FindDuplicates(r, DuplicateHistory()).duplicate_of[0] ? 1 : 0;
  }
  EXPECT_EQ(copycat_led, 1);
  EXPECT_EQ(copycat_led_without_history, 40);

  // A miner that really is first more often takes the lead, once its races
  // outnumber the other's.
  DuplicateHistory h;
  h.Add({{Key(1), Key(2)}, {Key(1), Key(2)}});
  std::vector<Response<PredictReply>> r = {{&a, 1, Key(1), 30.0, true}, {&a, 2, Key(2), 10.0, true}};
  EXPECT_EQ(FindDuplicates(r, h).duplicate_of, (Dups{std::nullopt, 0})) << "2 races to 1";
  h.Add({{Key(2), Key(1)}});
  EXPECT_EQ(FindDuplicates(r, h).duplicate_of, (Dups{1, std::nullopt})) << "2 to 2: this step decides";
}

TEST(DuplicatesTest, HistoryCountsAreBoundedAndRecentRacesWeighMore) {
  DuplicateHistory h(/*max_pairs=*/2);
  EXPECT_EQ(h.TimesFirst(Key(1), Key(2)), 0u);
  h.Add({{Key(1), Key(2)}, {Key(2), Key(1)}, {Key(1), Key(2)}, {Key(5), Key(5)}});
  EXPECT_EQ(h.TimesFirst(Key(1), Key(2)), 2u);
  EXPECT_EQ(h.TimesFirst(Key(2), Key(1)), 1u);
  h.Add({{Key(3), Key(4)}, {Key(6), Key(7)}});
  EXPECT_EQ(h.pairs(), 2u) << "a third pair is not remembered";
  EXPECT_EQ(h.TimesFirst(Key(6), Key(7)), 0u);
  EXPECT_EQ(h.TimesFirst(Key(3), Key(4)), 1u);
  for (uint32_t i = 0; i < DuplicateHistory::kMaxCount; ++i) h.Add({{Key(2), Key(1)}});
  EXPECT_LT(h.TimesFirst(Key(1), Key(2)) + h.TimesFirst(Key(2), Key(1)), DuplicateHistory::kMaxCount);
  EXPECT_GT(h.TimesFirst(Key(2), Key(1)), 4 * h.TimesFirst(Key(1), Key(2)));
}

TEST(DuplicatesTest, HistorySurvivesARestartThroughTheValidatorState) {
  // Twenty steps in which the source beats its copycat on the clock, then
  // a restart: the history goes through validator.state (Export, SaveState,
  // LoadState, Restore) as the validator's Save and Init do.
  const PredictReply a = Answer(0), relayed = Nudged(a, 1e-6);
  DuplicateHistory before;
  const std::vector<Response<PredictReply>> usual = {{&a, 1, Key(1), 20.0, true},
                                                     {&relayed, 2, Key(2), 20.5, true}};
  for (int step = 0; step < 20; ++step) before.Add(FindDuplicates(usual, before).races);
  before.Add({{Key(3), Key(4)}});
  agora::testing::TempDir tmp;
  const std::string path = tmp.Sub("validator.state");
  ValidatorState state;
  state.predict_races = before.Export();
  ASSERT_TRUE(SaveState(path, state).ok());
  absl::StatusOr<ValidatorState> loaded = LoadState(path);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  DuplicateHistory after;
  after.Restore(loaded->predict_races);
  EXPECT_EQ(after.pairs(), 2u);
  EXPECT_EQ(after.TimesFirst(Key(1), Key(2)), before.TimesFirst(Key(1), Key(2)));
  EXPECT_EQ(after.TimesFirst(Key(2), Key(1)), 0u);
  EXPECT_EQ(after.TimesFirst(Key(3), Key(4)), 1u);

  // The first contested step after the restart: the clock's noise puts the
  // copycat first. With the restored history the source still leads; a
  // validator that forgot it would hand the copycat that step.
  const std::vector<Response<PredictReply>> noisy = {{&a, 1, Key(1), 20.5, true},
                                                     {&relayed, 2, Key(2), 20.0, true}};
  EXPECT_EQ(FindDuplicates(noisy, after).duplicate_of, (Dups{std::nullopt, 0}));
  EXPECT_EQ(FindDuplicates(noisy, DuplicateHistory()).duplicate_of, (Dups{1, std::nullopt}));
}

TEST(DuplicatesTest, RestoreDropsWhatExportCouldNotHaveWritten) {
  DuplicateHistory h(/*max_pairs=*/2);
  h.Restore({{Key(2), Key(1), 9, 0},                            // not ordered
             {Key(1), Key(2), DuplicateHistory::kMaxCount, 0},  // over the bound
             {Key(1), Key(3), 2, 1},
             {Key(1), Key(3), 0, 7},                            // listed twice: the first stays
             {Key(4), Key(5), 1, 1},
             {Key(6), Key(7), 1, 1}});                          // beyond max_pairs
  EXPECT_EQ(h.pairs(), 2u);
  EXPECT_EQ(h.TimesFirst(Key(1), Key(2)), 0u);
  EXPECT_EQ(h.TimesFirst(Key(2), Key(1)), 0u);
  EXPECT_EQ(h.TimesFirst(Key(1), Key(3)), 2u);
  EXPECT_EQ(h.TimesFirst(Key(3), Key(1)), 1u);
  EXPECT_EQ(h.TimesFirst(Key(4), Key(5)), 1u);
  EXPECT_EQ(h.TimesFirst(Key(6), Key(7)), 0u);
  const std::vector<PairRaces> out = h.Export();
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].lower, Key(1));
  EXPECT_EQ(out[0].higher, Key(3));
  h.Restore({});
  EXPECT_EQ(h.pairs(), 0u) << "Restore replaces";
}

TEST(DuplicatesTest, AMinerCaughtLyingNeverLeads) {
  // A liar serving an honest miner's weights answers first; it failed its
  // spot check this step, so the honest miner keeps its score, and the race
  // is not counted.
  const PredictReply honest = Answer(0), liar = Nudged(honest, 1e-7);
  std::vector<Response<PredictReply>> r = {{&liar, 2, Key(2), 5.0, false}, {&honest, 6, Key(6), 9.0, true}};
  DuplicateResult d = FindDuplicates(r, DuplicateHistory());
  EXPECT_EQ(d.duplicate_of, (Dups{1, std::nullopt}));
  EXPECT_TRUE(d.races.empty());
  // Two such liars alone: neither leads, so neither is the other's duplicate
  // (both are zeroed by their spot checks anyway).
  r[1].may_lead = false;
  EXPECT_EQ(FindDuplicates(r, DuplicateHistory()).duplicate_of, (Dups{std::nullopt, std::nullopt}));
}

TEST(DuplicatesTest, CompletionsAreTheSameWithTheSameTokensAndLogprobs) {
  GenerateReply a;
  a.tokens = {104, 101, 108, 108, 111};
  a.logprobs = {-1.5f, -0.2f, -0.9f, -0.1f, -2.0f};
  GenerateReply relayed = a;
  relayed.logprobs[2] += 0.01f;  // a perturbed relay, or a copy with nudged weights
  relayed.model_hash.fill(3);
  relayed.total_us = 999;
  EXPECT_TRUE(SameCompletion(a, relayed));
  GenerateReply other_model = a;  // the same seed sampled the same tokens
  other_model.logprobs[4] = -2.3f;
  EXPECT_FALSE(SameCompletion(a, other_model));
  EXPECT_TRUE(SameCompletion(a, other_model, {.logprob = 0.5}));
  GenerateReply other_tokens = a;
  other_tokens.tokens[0] = 105;
  EXPECT_FALSE(SameCompletion(a, other_tokens));
  GenerateReply nan = a;
  nan.logprobs[0] = NAN;
  EXPECT_FALSE(SameCompletion(nan, nan));
  GenerateReply short_logprobs = a;
  short_logprobs.logprobs.pop_back();
  EXPECT_FALSE(SameCompletion(short_logprobs, short_logprobs));
  EXPECT_FALSE(SameCompletion(GenerateReply{}, GenerateReply{}));

  std::vector<Response<GenerateReply>> r = {{&relayed, 5, Key(5), 80.0, true},
                                            {&a, 3, Key(3), 40.0, true},
                                            {&other_model, 4, Key(4), 60.0, true}};
  EXPECT_EQ(FindDuplicates(r, DuplicateHistory()).duplicate_of, (Dups{1, std::nullopt, std::nullopt}));
}

TEST(DuplicatesTest, TheEarliestRegisteredModelLeadsWhateverTheClock) {
  // A copy of a model (nudged weights, its own hash) served on a faster
  // machine answers first every time; the original was registered first.
  const PredictReply original = Answer(0), copy = Nudged(original, 1e-3);
  DuplicateHistory history;
  for (int step = 0; step < 20; ++step) {
    std::vector<Response<PredictReply>> r = {{&original, 3, Key(3), 30.0, true, /*registered=*/12},
                                             {&copy, 11, Key(11), 5.0, true, /*registered=*/40}};
    const DuplicateResult d = FindDuplicates(r, history);
    history.Add(d.races);
    EXPECT_EQ(d.duplicate_of, (Dups{std::nullopt, 0})) << step;
  }
  // Registered in the same block: the races decide, as without registrations.
  std::vector<Response<PredictReply>> same_block = {{&original, 3, Key(3), 30.0, true, 12},
                                                    {&copy, 11, Key(11), 5.0, true, 12}};
  EXPECT_EQ(FindDuplicates(same_block, history).duplicate_of, (Dups{1, std::nullopt}));
  // A registration not known counts as the latest.
  std::vector<Response<PredictReply>> unknown = {{&original, 3, Key(3), 30.0, true, 0},
                                                 {&copy, 11, Key(11), 5.0, true, 40}};
  EXPECT_EQ(FindDuplicates(unknown, DuplicateHistory()).duplicate_of, (Dups{1, std::nullopt}));
}

}  // namespace
}  // namespace agora::validator
