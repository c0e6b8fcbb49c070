// Tests of scoring/: predict log-loss (hand-computed values, top-k vs full
// form, malformed answers and their reasons, invariants, CPU vs CUDA),
// completion scores and spot checks, and teacher-forced token log-probs (the
// tensor function and GptBackend::TokenLogprobs). Few cases on purpose: each
// is a torch process under ctest.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>
#include <memory>
#include <numeric>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include <unistd.h>

#include <gtest/gtest.h>
#include <torch/script.h>
#include <torch/torch.h>

#include "miner/gpt.h"
#include "miner/model.h"
#include "miner/torchscript_backend.h"
#include "protocol/task_messages.h"
#include "scoring/completion_scoring.h"
#include "scoring/predict_host.h"
#include "scoring/predict_loss.h"
#include "scoring/predict_scoring.h"
#include "scoring/token_logprobs.h"
#include "tests/test_seed.h"

namespace agora::scoring {
namespace {

using protocol::PredictReply;
using protocol::TokenDistribution;

TokenDistribution Full(std::vector<float> probs) {
  TokenDistribution d;
  d.probs = std::move(probs);
  return d;
}

TokenDistribution TopK(std::vector<uint32_t> tokens, std::vector<float> probs, float rest) {
  TokenDistribution d;
  d.tokens = std::move(tokens);
  d.probs = std::move(probs);
  d.rest = rest;
  return d;
}

PredictReply Reply(uint32_t vocab, std::vector<TokenDistribution> dists) {
  PredictReply r;
  r.vocab_size = vocab;
  r.distributions = std::move(dists);
  return r;
}

std::vector<float> Uniform(uint32_t vocab) { return std::vector<float>(vocab, 1.0f / float(vocab)); }

// p on `token`, the rest spread evenly.
std::vector<float> Peaked(uint32_t vocab, uint32_t token, double p) {
  std::vector<float> v(vocab, static_cast<float>((1.0 - p) / double(vocab - 1)));
  v[token] = static_cast<float>(p);
  return v;
}

PredictStep Step(uint32_t vocab, std::vector<uint32_t> targets,
                 const std::vector<const PredictReply*>& answers) {
  PredictStep s;
  s.vocab_size = vocab;
  s.targets = std::move(targets);
  s.answers = answers;
  return s;
}

PredictScoringOptions Cpu() {
  PredictScoringOptions o;
  o.use_cuda = false;
  return o;
}

TEST(PredictScoringTest, HandComputedLossesTopKFormAndFloor) {
  miner::SetUpTorchProcess();
  constexpr uint32_t kV = 256;
  const std::vector<uint32_t> targets = {3, 200, 0, 255};
  // Uniform: loss log(256), score 0.
  const PredictReply uniform = Reply(kV, std::vector<TokenDistribution>(4, Full(Uniform(kV))));
  // p = 0.5 on every target: loss exactly log 2.
  std::vector<TokenDistribution> half;
  for (uint32_t t : targets) half.push_back(Full(Peaked(kV, t, 0.5)));
  const PredictReply halves = Reply(kV, half);
  std::vector<PredictScore> s = ScorePredict(Step(kV, targets, {&uniform, &halves}), Cpu());
  ASSERT_EQ(s.size(), 2u);
  ASSERT_TRUE(s[0].valid) << s[0].reason;
  EXPECT_TRUE(s[0].reason.empty());
  EXPECT_NEAR(s[0].loss, std::log(256.0), 1e-12);
  EXPECT_NEAR(s[0].score, 0.0, 1e-12);
  ASSERT_TRUE(s[1].valid) << s[1].reason;
  EXPECT_DOUBLE_EQ(s[1].loss, std::log(2.0));
  EXPECT_DOUBLE_EQ(s[1].score, 1.0 - std::log(2.0) / std::log(256.0));
  EXPECT_EQ(ScoringDevice(Cpu()), "cpu");

  // Top-k with `rest` spread over the unlisted tokens == the same full
  // distribution, whether the target is listed (3, 200) or not (0, 255).
  std::vector<TokenDistribution> topk, full;
  for (uint32_t t : targets) {
    const uint32_t a = t == 3 ? 3 : 7, b = t == 200 ? 200 : 9;
    topk.push_back(TopK({a, b, 100}, {0.3f, 0.2f, 0.1f}, 0.4f));
    std::vector<float> f(kV, static_cast<float>(0.4 / 253.0));
    f[a] = 0.3f;
    f[b] = 0.2f;
    f[100] = 0.1f;
    full.push_back(Full(f));
  }
  const PredictReply topk_reply = Reply(kV, topk), full_reply = Reply(kV, full);
  s = ScorePredict(Step(kV, targets, {&topk_reply, &full_reply}), Cpu());
  ASSERT_TRUE(s[0].valid) << s[0].reason;
  ASSERT_TRUE(s[1].valid) << s[1].reason;
  EXPECT_EQ(s[0].loss, s[1].loss);
  const double expect =
      -(std::log(double(0.3f)) + std::log(double(0.2f)) + 2 * std::log(double(float(0.4 / 253.0)))) / 4;
  EXPECT_NEAR(s[0].loss, expect, 1e-9);

  // p = 0 on the target costs -log(floor), not infinity.
  std::vector<float> zero(kV, 1.0f / 255.0f);
  zero[5] = 0.0f;
  const PredictReply zero_reply = Reply(kV, {Full(zero)});
  s = ScorePredict(Step(kV, {5}, {&zero_reply}), Cpu());
  ASSERT_TRUE(s[0].valid) << s[0].reason;
  EXPECT_NEAR(s[0].loss, -std::log(1e-9), 1e-9);
  EXPECT_EQ(s[0].score, 0.0);
  PredictScoringOptions floor2 = Cpu();
  floor2.probability_floor = 1e-2;
  s = ScorePredict(Step(kV, {5}, {&zero_reply}), floor2);
  EXPECT_NEAR(s[0].loss, -std::log(1e-2), 1e-9);
  EXPECT_NEAR(s[0].score, 1.0 - std::log(1e2) / std::log(256.0), 1e-9);
}

TEST(PredictScoringTest, MalformedAnswersScoreZeroWithTheirReasonAndSpareOthers) {
  miner::SetUpTorchProcess();
  constexpr uint32_t kV = 16;
  const std::vector<uint32_t> targets = {1, 2, 3};
  auto full3 = [&](std::vector<float> a, std::vector<float> b, std::vector<float> c) {
    return Reply(kV, {Full(std::move(a)), Full(std::move(b)), Full(std::move(c))});
  };
  const std::vector<float> u = Uniform(kV);
  std::vector<float> nan = u, neg = u, short_ = u, inf = u, sum09(kV, 0.9f / kV);
  nan[4] = std::numeric_limits<float>::quiet_NaN();
  neg[0] = -0.1f;
  neg[1] += 0.1f;
  short_.pop_back();
  inf[7] = std::numeric_limits<float>::infinity();

  const PredictReply good = full3(u, u, u);
  const PredictReply good2 = full3(Peaked(kV, 1, 0.9), Peaked(kV, 2, 0.6), Peaked(kV, 0, 0.5));
  const PredictReply r_nan = full3(u, nan, u);
  const PredictReply r_neg = full3(u, u, neg);
  const PredictReply r_sum = full3(sum09, u, u);
  const PredictReply r_count = Reply(kV, {Full(u), Full(u)});
  const PredictReply r_len = full3(u, u, short_);
  PredictReply r_vocab = good;
  r_vocab.vocab_size = 32;
  const PredictReply r_range =
      Reply(kV, {TopK({16}, {0.5f}, 0.5f), Full(u), Full(u)});
  const PredictReply r_dup =
      Reply(kV, {Full(u), TopK({3, 4, 3}, {0.2f, 0.2f, 0.2f}, 0.4f), Full(u)});
  const PredictReply r_inf = full3(inf, u, u);
  const PredictReply r_pairs = Reply(kV, {Full(u), Full(u), TopK({1, 2}, {0.5f}, 0.5f)});
  const PredictReply r_big_k =
      Reply(kV, {Full(u), Full(u), TopK(std::vector<uint32_t>(17, 0), std::vector<float>(17, 0.0f), 0)});

  const std::vector<const PredictReply*> answers = {
      &good, &r_nan, &r_neg, &r_sum, &r_count, &r_len, &r_vocab,
      &r_range, nullptr, &r_dup, &r_inf, &good2, &r_pairs, &r_big_k};
  const std::vector<std::string> want = {
      "",
      "distribution 1: NaN",
      "distribution 2: negative probability",
      "distribution 0: sums to 0.9",
      "2 distributions, expected 3",
      "distribution 2: 15 probabilities, expected 16",
      "vocab_size 32, expected 16",
      "distribution 0: token 16 >= vocab_size 16",
      "no answer",
      "distribution 1: token 3 listed twice",
      "distribution 0: infinite probability",
      "",
      "distribution 2: 2 tokens but 1 probabilities",
      "distribution 2: 17 tokens, vocab_size 16",
  };
  const std::vector<PredictScore> s = ScorePredict(Step(kV, targets, answers), Cpu());
  ASSERT_EQ(s.size(), answers.size());
  for (size_t i = 0; i < s.size(); ++i) {
    EXPECT_EQ(s[i].reason, want[i]) << "miner " << i;
    EXPECT_EQ(s[i].valid, want[i].empty()) << "miner " << i;
    if (!want[i].empty()) {
      EXPECT_EQ(s[i].score, 0.0) << "miner " << i;
      EXPECT_EQ(s[i].loss, 0.0) << "miner " << i;
    }
  }
  // The good miners score exactly as they do alone.
  const std::vector<PredictScore> alone = ScorePredict(Step(kV, targets, {&good, &good2}), Cpu());
  EXPECT_EQ(s[0].loss, alone[0].loss);
  EXPECT_EQ(s[0].score, alone[0].score);
  EXPECT_EQ(s[11].loss, alone[1].loss);
  EXPECT_EQ(s[11].score, alone[1].score);
  EXPECT_GT(s[11].score, 0.0);

  // Only shape errors (no tensors at all) and a bad step.
  const std::vector<PredictScore> none = ScorePredict(Step(kV, targets, {nullptr, &r_count}), Cpu());
  EXPECT_EQ(none[0].reason, "no answer");
  EXPECT_EQ(none[1].reason, "2 distributions, expected 3");
  const std::vector<PredictScore> bad = ScorePredict(Step(kV, {1, 16, 3}, {&good}), Cpu());
  EXPECT_FALSE(bad[0].valid);
  EXPECT_EQ(bad[0].reason, "validator error: target 1 is 16 >= vocab_size 16");
  EXPECT_TRUE(ScorePredict(Step(kV, targets, {}), Cpu()).empty());
}

TEST(PredictScoringTest, CloserToTheTruthScoresHigherAndPermutingMinersPermutesScores) {
  miner::SetUpTorchProcess();
  constexpr uint32_t kV = 64;
  constexpr size_t kN = 24, kM = 10;
  std::mt19937_64 rng(testing::TestSeed());
  std::vector<uint32_t> targets(kN);
  for (uint32_t& t : targets) t = static_cast<uint32_t>(rng() % kV);
  // Mixtures a * truth + (1 - a) * uniform, a increasing: scores increase.
  std::vector<PredictReply> mix;
  for (double a : {0.0, 0.1, 0.3, 0.5, 0.8, 0.99}) {
    std::vector<TokenDistribution> d;
    for (uint32_t t : targets) {
      std::vector<float> p(kV, static_cast<float>((1 - a) / kV));
      p[t] += static_cast<float>(a);
      d.push_back(Full(p));
    }
    mix.push_back(Reply(kV, d));
  }
  std::vector<const PredictReply*> ptrs;
  for (const PredictReply& r : mix) ptrs.push_back(&r);
  std::vector<PredictScore> s = ScorePredict(Step(kV, targets, ptrs), Cpu());
  for (size_t i = 1; i < s.size(); ++i) {
    ASSERT_TRUE(s[i].valid) << s[i].reason;
    EXPECT_LT(s[i].loss, s[i - 1].loss) << i;
    EXPECT_GT(s[i].score, s[i - 1].score) << i;
  }

  // Random distributions (some top-k, some malformed): a permutation of the
  // miners permutes the scores exactly.
  std::vector<PredictReply> replies(kM);
  std::uniform_real_distribution<double> u01(0.0, 1.0);
  for (size_t m = 0; m < kM; ++m) {
    std::vector<TokenDistribution> d;
    for (size_t n = 0; n < kN; ++n) {
      std::vector<double> w(kV);
      double sum = 0;
      for (double& x : w) sum += (x = -std::log(1.0 - u01(rng)));
      if (m % 3 == 2) {  // top-8 form
        std::vector<uint32_t> idx(kV);
        std::iota(idx.begin(), idx.end(), 0u);
        std::shuffle(idx.begin(), idx.end(), rng);
        TokenDistribution t;
        double listed = 0;
        for (size_t k = 0; k < 8; ++k) {
          t.tokens.push_back(idx[k]);
          t.probs.push_back(static_cast<float>(w[idx[k]] / sum));
          listed += w[idx[k]] / sum;
        }
        t.rest = static_cast<float>(1 - listed);
        d.push_back(t);
      } else {
        std::vector<float> p(kV);
        for (size_t v = 0; v < kV; ++v) p[v] = static_cast<float>(w[v] / sum);
        d.push_back(Full(p));
      }
    }
    if (m == 4) d[7].probs[0] = -1.0f;
    replies[m] = Reply(kV, d);
  }
  std::vector<const PredictReply*> order;
  for (const PredictReply& r : replies) order.push_back(&r);
  order.push_back(nullptr);
  const std::vector<PredictScore> base = ScorePredict(Step(kV, targets, order), Cpu());
  EXPECT_FALSE(base[4].valid);
  EXPECT_FALSE(base[kM].valid);
  std::vector<size_t> perm(order.size());
  std::iota(perm.begin(), perm.end(), size_t{0});
  for (int round = 0; round < 3; ++round) {
    std::shuffle(perm.begin(), perm.end(), rng);
    std::vector<const PredictReply*> permuted;
    for (size_t i : perm) permuted.push_back(order[i]);
    const std::vector<PredictScore> p = ScorePredict(Step(kV, targets, permuted), Cpu());
    for (size_t i = 0; i < perm.size(); ++i) {
      EXPECT_EQ(p[i].valid, base[perm[i]].valid);
      EXPECT_EQ(p[i].reason, base[perm[i]].reason);
      EXPECT_EQ(p[i].loss, base[perm[i]].loss) << "miner " << perm[i];
      EXPECT_EQ(p[i].score, base[perm[i]].score) << "miner " << perm[i];
    }
  }
}

// The CPU's one-pass path (predict_host.h) and the tensor path agree on
// well-formed steps, full and top-k forms alike, and the one-pass path turns
// down every step with a malformed distribution (so the tensor path names it).
TEST(PredictScoringTest, OnePassPathEqualsTheTensorPathAndDefersMalformedSteps) {
  std::mt19937 rng(static_cast<uint32_t>(testing::TestSeed()));
  const uint32_t vocab = 61;  // not a multiple of the scan's lanes
  std::vector<uint32_t> targets;
  for (int i = 0; i < 9; ++i) targets.push_back(rng() % vocab);
  std::vector<PredictReply> replies;
  for (int m = 0; m < 6; ++m) {
    std::vector<TokenDistribution> dists;
    for (size_t i = 0; i < targets.size(); ++i) {
      std::vector<double> w(vocab);
      double sum = 0;
      for (double& x : w) sum += (x = std::exp(3.0 * std::uniform_real_distribution<double>(-1, 1)(rng)));
      std::vector<float> p(vocab);
      for (uint32_t t = 0; t < vocab; ++t) p[t] = static_cast<float>(w[t] / sum);
      if (m % 2 == 0) {
        dists.push_back(Full(p));
      } else {  // top-5 and the rest
        std::vector<uint32_t> ids(vocab);
        std::iota(ids.begin(), ids.end(), 0u);
        std::partial_sort(ids.begin(), ids.begin() + 5, ids.end(),
                          [&](uint32_t a, uint32_t b) { return p[a] > p[b]; });
        std::vector<uint32_t> top(ids.begin(), ids.begin() + 5);
        std::vector<float> probs;
        double listed = 0;
        for (uint32_t t : top) listed += (probs.push_back(p[t]), p[t]);
        dists.push_back(TopK(top, probs, static_cast<float>(1.0 - listed)));
      }
    }
    replies.push_back(Reply(vocab, std::move(dists)));
  }
  replies.push_back(Reply(vocab + 1, {}));  // a wrong shape: not scored by either
  std::vector<const PredictReply*> answers;
  for (const PredictReply& r : replies) answers.push_back(&r);
  const PredictStep step = Step(vocab, targets, answers);
  const PredictScoringOptions opt = Cpu();
  const DenseStep dense = BuildDense(step);
  const std::optional<std::vector<double>> fast =
      WellFormedLosses(step, dense.reasons, opt.sum_tolerance, opt.probability_floor);
  ASSERT_TRUE(fast.has_value());
  const PredictLossResult slow = PredictLoss(dense.probs, dense.targets, dense.present,
                                             opt.sum_tolerance, opt.probability_floor);
  for (size_t m = 0; m < answers.size(); ++m) {
    EXPECT_EQ(slow.bad_index[m].item<int64_t>(), -1);
    EXPECT_NEAR((*fast)[m], slow.loss[m].item<double>(), 1e-9) << "miner " << m;
  }
  EXPECT_GT((*fast)[0], 0.0);
  EXPECT_EQ((*fast)[6], 0.0);

  // Each kind of malformed distribution, in either form, sends the step back.
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  for (float bad : {nan, inf, -inf, -0.01f, 0.5f}) {
    for (bool top_k : {false, true}) {
      PredictReply broken = replies[top_k ? 1 : 0];
      TokenDistribution& d = broken.distributions[4];
      d.probs[2] = bad == 0.5f ? d.probs[2] + 0.5f : bad;  // 0.5: a sum off by 0.5
      std::vector<const PredictReply*> with = answers;
      with[top_k ? 1 : 0] = &broken;
      const PredictStep s = Step(vocab, targets, with);
      EXPECT_FALSE(WellFormedLosses(s, BuildDense(s).reasons, opt.sum_tolerance,
                                    opt.probability_floor).has_value())
          << bad << (top_k ? " top-k" : " full");
      // ...and ScorePredict still scores the others and names the problem.
      const std::vector<PredictScore> scores = ScorePredict(s, opt);
      EXPECT_FALSE(scores[top_k ? 1 : 0].valid);
      EXPECT_NE(scores[top_k ? 1 : 0].reason.find("distribution 4"), std::string::npos)
          << scores[top_k ? 1 : 0].reason;
      EXPECT_TRUE(scores[top_k ? 0 : 1].valid);
      EXPECT_NEAR(scores[2].loss, (*fast)[2], 1e-9);
    }
  }
}

TEST(PredictScoringTest, CudaAgreesWithCpu) {
  if (!torch::cuda::is_available()) {
    GTEST_SKIP() << "torch::cuda::is_available() is false (this LibTorch is CPU-only or no GPU): "
                    "CPU/CUDA agreement not checked";
  }
  constexpr uint32_t kV = 256;
  constexpr size_t kN = 32, kM = 16;
  std::mt19937_64 rng(testing::TestSeed());
  std::vector<uint32_t> targets(kN);
  for (uint32_t& t : targets) t = static_cast<uint32_t>(rng() % kV);
  std::vector<PredictReply> replies(kM);
  for (size_t m = 0; m < kM; ++m) {
    std::vector<TokenDistribution> d;
    for (size_t n = 0; n < kN; ++n) d.push_back(Full(Peaked(kV, static_cast<uint32_t>(rng() % kV), 0.02 * double(m + 1))));
    replies[m] = Reply(kV, d);
  }
  std::vector<const PredictReply*> ptrs;
  for (const PredictReply& r : replies) ptrs.push_back(&r);
  PredictScoringOptions gpu;
  gpu.use_cuda = true;
  ASSERT_EQ(ScoringDevice(gpu), "cuda");
  const std::vector<PredictScore> a = ScorePredict(Step(kV, targets, ptrs), gpu);
  const std::vector<PredictScore> b = ScorePredict(Step(kV, targets, ptrs), Cpu());
  for (size_t m = 0; m < kM; ++m) {
    EXPECT_EQ(a[m].valid, b[m].valid);
    EXPECT_NEAR(a[m].loss, b[m].loss, kCudaTolerance);
  }
}

TEST(CompletionScoringTest, ScoresTheGeometricMeanProbability) {
  EXPECT_NEAR(CompletionScore({std::log(0.5f), std::log(0.5f)}), 0.5, 1e-7);
  EXPECT_NEAR(CompletionScore({std::log(0.25f), 0.0f}), 0.5, 1e-7);  // geometric mean
  EXPECT_EQ(CompletionScore({}), 0.0);
  EXPECT_EQ(CompletionScore({-1.0f, -std::numeric_limits<float>::infinity()}), 0.0);
  EXPECT_EQ(CompletionScore({std::numeric_limits<float>::quiet_NaN()}), 0.0);
}

TEST(TokenLogprobsTest, TensorFunctionAndGptBackendAgreeWithNextTokenLogits) {
  miner::SetUpTorchProcess();
  torch::manual_seed(static_cast<uint64_t>(testing::TestSeed()));
  // The tensor function against a hand computation, including logits so
  // spread that softmax underflows to 0 in float (log_softmax stays finite).
  torch::Tensor logits = torch::randn({2, 4, 5}) * 3;
  logits[1][2][3] = -200.0f;
  logits[1][2][0] = 200.0f;
  torch::Tensor ids = torch::randint(0, 5, {2, 4}, torch::kLong);
  ids[1][3] = 3;
  const torch::Tensor got = TokenLogprobs(logits, ids);
  ASSERT_EQ(got.sizes(), (std::vector<int64_t>{2, 3}));
  for (int64_t b = 0; b < 2; ++b) {
    for (int64_t t = 1; t < 4; ++t) {
      double max = -1e300, sum = 0;
      for (int64_t v = 0; v < 5; ++v) max = std::max(max, logits[b][t - 1][v].item<double>());
      for (int64_t v = 0; v < 5; ++v) sum += std::exp(logits[b][t - 1][v].item<double>() - max);
      const double want = logits[b][t - 1][ids[b][t].item<int64_t>()].item<double>() - max - std::log(sum);
      EXPECT_NEAR(got[b][t - 1].item<double>(), want, 1e-4 * std::max(1.0, std::fabs(want)));
    }
  }
  EXPECT_TRUE(std::isfinite(got[1][2].item<float>()));
  EXPECT_NEAR(got[1][2].item<double>(), -400.0, 1e-3);
  EXPECT_EQ(TokenLogprobs(logits.slice(1, 0, 1), ids.slice(1, 0, 1)).size(1), 0);

  // GptBackend: batched == one row at a time == log_softmax of NextTokenLogits
  // on every prefix.
  miner::GptConfig c;
  c.context = 32;
  c.layers = 2;
  c.dim = 32;
  c.heads = 4;
  miner::LoadedGpt loaded;
  loaded.model = miner::Gpt(c);
  loaded.hash = miner::GptContentHash(loaded.model);
  std::unique_ptr<miner::ModelBackend> backend = miner::MakeGptBackend(std::move(loaded), torch::kCPU);
  std::mt19937_64 rng(testing::TestSeed());
  std::vector<std::vector<uint32_t>> rows;
  for (size_t len : {5, 12, 1, 32, 2}) {
    std::vector<uint32_t> row(len);
    for (uint32_t& t : row) t = static_cast<uint32_t>(rng() % 256);
    rows.push_back(row);
  }
  const std::vector<size_t> from = {1, 4, 1, 30, 2};
  absl::StatusOr<std::vector<std::vector<float>>> batched = backend->TokenLogprobs(rows, from);
  ASSERT_TRUE(batched.ok()) << batched.status();
  ASSERT_EQ(batched->size(), rows.size());
  for (size_t i = 0; i < rows.size(); ++i) {
    ASSERT_EQ((*batched)[i].size(), rows[i].size() - from[i]) << i;
    absl::StatusOr<std::vector<std::vector<float>>> one = backend->TokenLogprobs({rows[i]}, {from[i]});
    ASSERT_TRUE(one.ok()) << one.status();
    for (size_t t = from[i]; t < rows[i].size(); ++t) {
      const float b = (*batched)[i][t - from[i]];
      EXPECT_NEAR(b, (*one)[0][t - from[i]], 1e-4) << i << "," << t;
      absl::StatusOr<miner::Logits> next = backend->NextTokenLogits(
          {std::vector<uint32_t>(rows[i].begin(), rows[i].begin() + static_cast<std::ptrdiff_t>(t))});
      ASSERT_TRUE(next.ok()) << next.status();
      const torch::Tensor row = torch::tensor(std::vector<float>(next->Row(0).begin(), next->Row(0).end()));
      const float want = torch::log_softmax(row.to(torch::kDouble), 0)[rows[i][t]].item<float>();
      EXPECT_NEAR(b, want, 1e-4) << i << "," << t;
      EXPECT_LE(b, 0.0f);
    }
  }
  // Argument checks.
  auto code = [&](const std::vector<std::vector<uint32_t>>& r, const std::vector<size_t>& f) {
    return backend->TokenLogprobs(r, f).status().code();
  };
  const auto kBad = absl::StatusCode::kInvalidArgument;
  EXPECT_EQ(code({}, {}), kBad);
  EXPECT_EQ(code({rows[0]}, {1, 1}), kBad);
  EXPECT_EQ(code({std::vector<uint32_t>(33, 1)}, {1}), kBad);  // longer than context: not cut
  EXPECT_EQ(code({rows[0]}, {0}), kBad);
  EXPECT_EQ(code({rows[0]}, {6}), kBad);
  EXPECT_EQ(code({{1, 256}}, {1}), kBad);
  EXPECT_EQ(code({{}}, {1}), kBad);
  absl::StatusOr<std::vector<std::vector<float>>> empty = backend->TokenLogprobs({rows[0]}, {5});
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE((*empty)[0].empty());

  // TorchScriptBackend: a module whose next-token logits are a table row
  // indexed by the current token, so log p(ids[t]) = log_softmax(table[ids[t-1]])[ids[t]].
  torch::jit::Module m("TinyLm");
  const torch::Tensor table = torch::randn({16, 16}) * 4;
  m.register_parameter("table", table, /*is_buffer=*/false);
  m.define(R"JIT(
def forward(self, ids):
    return self.table.index_select(0, ids.reshape([-1])).reshape([ids.size(0), ids.size(1), -1])
)JIT");
  const std::string path = (std::filesystem::temp_directory_path() /
                            ("agora_scoring_test_" + std::to_string(::getpid()) + ".pt")).string();
  m.save(path);
  absl::StatusOr<std::unique_ptr<miner::ModelBackend>> ts = miner::LoadTorchScript(path, 8, true);
  std::filesystem::remove(path);
  ASSERT_TRUE(ts.ok()) << ts.status();
  const std::vector<std::vector<uint32_t>> ts_rows = {{1, 2, 3, 15}, {9, 4}, {7}};
  absl::StatusOr<std::vector<std::vector<float>>> ts_lp = (*ts)->TokenLogprobs(ts_rows, {2, 1, 1});
  ASSERT_TRUE(ts_lp.ok()) << ts_lp.status();
  const std::vector<std::vector<std::pair<uint32_t, uint32_t>>> pairs = {{{2, 3}, {3, 15}}, {{9, 4}}, {}};
  for (size_t i = 0; i < pairs.size(); ++i) {
    ASSERT_EQ((*ts_lp)[i].size(), pairs[i].size()) << i;
    for (size_t j = 0; j < pairs[i].size(); ++j) {
      const float want = torch::log_softmax(table[pairs[i][j].first].to(torch::kDouble), 0)[pairs[i][j].second].item<float>();
      EXPECT_NEAR((*ts_lp)[i][j], want, 1e-4) << i << "," << j;
    }
  }
  EXPECT_EQ((*ts)->TokenLogprobs({std::vector<uint32_t>(9, 1)}, {1}).status().code(), kBad);
}

}  // namespace
}  // namespace agora::scoring
