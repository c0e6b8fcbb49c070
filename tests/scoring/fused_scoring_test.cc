// Tests of Agora's own scoring kernels (scoring/kernel_dispatch.h): their
// CPU reference, which runs the kernels' per-element math
// (scoring/fused_math.h), against the LibTorch path on hand-computed and
// random cases (NaN, infinities, negatives, bad sums, absent miners), and
// the CUDA kernels against the CPU when a device exists (skipped otherwise).
// Part of scoring_test: few cases, since each is a torch process.
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "scoring/kernel_dispatch.h"
#include "scoring/predict_loss.h"
#include "scoring/predict_scoring.h"
#include "tests/test_seed.h"

namespace agora::scoring {
namespace {

constexpr double kTol = 1e-3, kFloor = 1e-9;
constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
constexpr float kInf = std::numeric_limits<float>::infinity();

// Both results describe every miner the same way; `sum_rel` bounds the
// relative difference of reported sums (float32 cascade vs float64 sums).
void ExpectSame(const PredictLossResult& a, const PredictLossResult& b, double loss_abs,
                double sum_rel) {
  ASSERT_EQ(a.loss.size(0), b.loss.size(0));
  for (int64_t j = 0; j < a.loss.size(0); ++j) {
    const int64_t index = a.bad_index[j].item<int64_t>();
    ASSERT_EQ(index, b.bad_index[j].item<int64_t>()) << "miner " << j;
    if (index >= 0) {
      ASSERT_EQ(a.bad_kind[j].item<int32_t>(), b.bad_kind[j].item<int32_t>()) << "miner " << j;
      if (a.bad_kind[j].item<int32_t>() == static_cast<int32_t>(BadKind::kSum)) {
        const double s = a.bad_sum[j].item<double>();
        EXPECT_NEAR(s, b.bad_sum[j].item<double>(), sum_rel * std::max(1.0, std::fabs(s)));
      }
    }
    EXPECT_NEAR(a.loss[j].item<double>(), b.loss[j].item<double>(), loss_abs) << "miner " << j;
  }
}

// The LibTorch formula of TokenLogprobs, without its dispatch to our kernels.
torch::Tensor TorchLogprobs(const torch::Tensor& logits, const torch::Tensor& ids) {
  const int64_t t = logits.size(1);
  return torch::log_softmax(logits.slice(1, 0, t - 1), -1, torch::kFloat)
      .gather(2, ids.slice(1, 1, t).unsqueeze(2))
      .squeeze(2);
}

void ExpectSameLogprobs(const torch::Tensor& a, const torch::Tensor& b, double rel) {
  ASSERT_EQ(a.sizes(), b.sizes());
  const torch::Tensor x = a.contiguous(), y = b.contiguous();
  for (int64_t i = 0; i < x.numel(); ++i) {
    const double p = x.data_ptr<float>()[i], q = y.data_ptr<float>()[i];
    if (std::isnan(q)) {
      EXPECT_TRUE(std::isnan(p)) << "position " << i;
      continue;
    }
    EXPECT_NEAR(p, q, rel * std::max(1.0, std::fabs(q))) << "position " << i;
  }
}

// A random [m, n, v] predict batch: softmax rows, some broken on purpose.
struct Batch {
  torch::Tensor probs, targets, present;
};

Batch RandomBatch(std::mt19937_64& rng, int64_t m, int64_t n, int64_t v) {
  Batch b;
  b.probs = torch::softmax(torch::randn({m, n, v}) * 2, -1).contiguous();
  b.targets = torch::randint(0, v, {n}, torch::kLong);
  b.present = torch::rand({m}).gt(0.15);
  float* p = b.probs.data_ptr<float>();
  std::uniform_int_distribution<int64_t> pos(0, v - 1);
  for (int64_t r = 0; r < m * n; ++r) {
    float* row = p + r * v;
    switch (rng() % 12) {  // several faults may hit one row over these draws
      case 0: row[pos(rng)] = kNaN; break;
      case 1: row[pos(rng)] = kInf; break;
      case 2: row[pos(rng)] = -kInf; break;
      case 3: row[pos(rng)] = -0.01f; break;
      case 4: for (int64_t i = 0; i < v; ++i) row[i] *= 0.9f; break;
      case 5: for (int64_t i = 0; i < v; ++i) row[i] *= 1.0005f; break;  // within tolerance
      case 6: row[b.targets[r % n].item<int64_t>()] = 0; break;          // the floor
      case 7: row[pos(rng)] = kNaN; row[pos(rng)] = -1; break;           // NaN wins
      default: break;
    }
  }
  return b;
}

TEST(FusedReferenceTest, PredictChecksMatchLibTorchOnHandAndRandomCases) {
  torch::manual_seed(static_cast<uint64_t>(testing::TestSeed()));
  std::mt19937_64 rng(testing::TestSeed());
  // Hand-computed, V = 4, N = 2, targets {1, 3}; one miner per case.
  const std::vector<std::vector<float>> rows = {
      {0.25f, 0.25f, 0.25f, 0.25f}, {0.25f, 0.25f, 0.25f, 0.25f},  // 0: loss log 4
      {0.25f, 0.5f, 0.25f, 0.0f},   {0.0f, 0.0f, 0.5f, 0.5f},      // 1: loss log 2 (both halves)
      {0.5f, 0.5f, 0.0f, 0.0f},     {1.0f, 0.0f, 0.0f, 0.0f},      // 2: floor on row 1
      {0.25f, 0.25f, 0.25f, 0.25f}, {kNaN, 0.5f, -1.0f, 0.5f},     // 3: row 1, NaN before negative
      {0.5f, 0.5f, 0.0f, kInf},     {0.25f, 0.25f, 0.25f, 0.25f},  // 4: row 0, infinite
      {0.6f, 0.6f, -0.2f, 0.0f},    {0.25f, 0.25f, 0.25f, 0.25f},  // 5: row 0, negative
      {0.25f, 0.25f, 0.25f, 0.25f}, {0.3f, 0.3f, 0.3f, 0.0f},      // 6: row 1, sums to 0.9
      {kNaN, kNaN, kNaN, kNaN},     {kNaN, kNaN, kNaN, kNaN},      // 7: absent: nothing reported
  };
  const int64_t m = 8, n = 2, v = 4;
  torch::Tensor probs = torch::empty({m, n, v});
  for (int64_t r = 0; r < m * n; ++r) {
    for (int64_t i = 0; i < v; ++i) probs[r / n][r % n][i] = rows[r][i];
  }
  const torch::Tensor targets = torch::tensor({1, 3}, torch::kLong);
  torch::Tensor present = torch::ones({m}, torch::kBool);
  present[7] = false;
  const PredictLossResult ref = PredictLossReference(probs, targets, present, kTol, kFloor);
  const std::vector<int64_t> want_index = {-1, -1, -1, 1, 0, 0, 1, -1};
  const std::vector<BadKind> want_kind = {BadKind::kNone, BadKind::kNone, BadKind::kNone,
                                          BadKind::kNaN,  BadKind::kInfinite, BadKind::kNegative,
                                          BadKind::kSum,  BadKind::kNone};
  for (int64_t j = 0; j < m; ++j) {
    EXPECT_EQ(ref.bad_index[j].item<int64_t>(), want_index[j]) << "miner " << j;
    if (want_index[j] >= 0) {
      EXPECT_EQ(ref.bad_kind[j].item<int32_t>(), static_cast<int32_t>(want_kind[j])) << j;
    }
  }
  EXPECT_DOUBLE_EQ(ref.loss[0].item<double>(), std::log(4.0));
  EXPECT_DOUBLE_EQ(ref.loss[1].item<double>(), std::log(2.0));
  EXPECT_DOUBLE_EQ(ref.loss[2].item<double>(), (std::log(2.0) - std::log(kFloor)) / 2);
  EXPECT_NEAR(ref.bad_sum[6].item<double>(), 0.9, 1e-6);
  for (int64_t j = 3; j < m; ++j) EXPECT_EQ(ref.loss[j].item<double>(), 0.0) << "miner " << j;
  ExpectSame(ref, PredictLoss(probs, targets, present, kTol, kFloor), 1e-12, 1e-6);

  // Random shapes with every kind of fault, against LibTorch.
  for (int round = 0; round < 40; ++round) {
    const int64_t rm = 1 + int64_t(rng() % 6), rn = 1 + int64_t(rng() % 8),
                  rv = 2 + int64_t(rng() % 300);
    const Batch b = RandomBatch(rng, rm, rn, rv);
    SCOPED_TRACE(::testing::Message() << "round " << round << " [" << rm << ", " << rn << ", " << rv << "]");
    ExpectSame(PredictLossReference(b.probs, b.targets, b.present, kTol, kFloor),
               PredictLoss(b.probs, b.targets, b.present, kTol, kFloor), 1e-12, 1e-6);
  }
}

TEST(FusedReferenceTest, TokenLogprobsMatchLibTorch) {
  torch::manual_seed(static_cast<uint64_t>(testing::TestSeed()) + 1);
  // Hand-computed: logits {0, log 3} -> log-probs {log 1/4, log 3/4}; a
  // spread row whose softmax underflows in float stays finite (-400).
  torch::Tensor logits = torch::zeros({1, 3, 2});
  logits[0][0][1] = std::log(3.0f);
  logits[0][1][0] = 200.0f;
  logits[0][1][1] = -200.0f;
  const torch::Tensor ids = torch::tensor({{0, 1, 1}}, torch::kLong);
  absl::StatusOr<torch::Tensor> got = TokenLogprobsReference(logits, ids);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_NEAR((*got)[0][0].item<double>(), std::log(0.75), 1e-6);
  EXPECT_NEAR((*got)[0][1].item<double>(), -400.0, 1e-3);
  ExpectSameLogprobs(*got, TorchLogprobs(logits, ids), 1e-5);

  // Random, with -inf logits (masked tokens) and a NaN row.
  for (int round = 0; round < 20; ++round) {
    const int64_t b = 1 + round % 4, t = 2 + round % 7, v = 2 + (round * 37) % 400;
    torch::Tensor x = (torch::randn({b, t, v}) * (1 + round % 5)).contiguous();
    const torch::Tensor id = torch::randint(0, v, {b, t}, torch::kLong);
    if (round % 3 == 0) x[0][0][0] = -kInf;
    if (round % 5 == 1) x[b - 1][0][v - 1] = kNaN;
    SCOPED_TRACE(::testing::Message() << "round " << round);
    absl::StatusOr<torch::Tensor> r = TokenLogprobsReference(x, id);
    ASSERT_TRUE(r.ok()) << r.status();
    ExpectSameLogprobs(*r, TorchLogprobs(x, id), 1e-5);
  }
  // Ids out of range are refused, as LibTorch's gather refuses them.
  EXPECT_FALSE(TokenLogprobsReference(logits, torch::tensor({{0, 2, 1}}, torch::kLong)).ok());
}

TEST(OwnCudaKernelsTest, AgreeWithTheCpuPath) {
  if (OwnCudaDevices() == 0) {
    GTEST_SKIP() << (OwnCudaKernelsCompiled()
                         ? "our CUDA kernels are built but no CUDA device is usable"
                         : "built without our CUDA kernels (no nvcc)")
                 << ": CUDA/CPU agreement not checked";
  }
  torch::manual_seed(static_cast<uint64_t>(testing::TestSeed()) + 2);
  std::mt19937_64 rng(testing::TestSeed() + 2);
  for (int round = 0; round < 20; ++round) {
    // Up to V = 4096, beyond one block's 256 threads, to exercise the strides.
    const int64_t m = 1 + int64_t(rng() % 16), n = 1 + int64_t(rng() % 32),
                  v = 2 + int64_t(rng() % 4096);
    const Batch b = RandomBatch(rng, m, n, v);
    SCOPED_TRACE(::testing::Message() << "round " << round << " [" << m << ", " << n << ", " << v << "]");
    absl::StatusOr<PredictLossResult> gpu =
        PredictLossOwnCuda(b.probs, b.targets, b.present, kTol, kFloor);
    ASSERT_TRUE(gpu.ok()) << gpu.status();
    ExpectSame(*gpu, PredictLoss(b.probs, b.targets, b.present, kTol, kFloor), kCudaTolerance, 1e-6);
    ExpectSame(*gpu, PredictLossReference(b.probs, b.targets, b.present, kTol, kFloor), 1e-9, 1e-9);

    const int64_t bt = 1 + round % 5, t = 2 + round % 9;
    torch::Tensor x = (torch::randn({bt, t, v}) * 4).contiguous();
    if (round % 4 == 0) x[0][0][0] = -kInf;
    const torch::Tensor id = torch::randint(0, v, {bt, t}, torch::kLong);
    absl::StatusOr<torch::Tensor> lp = TokenLogprobsOwnCuda(x, id);
    ASSERT_TRUE(lp.ok()) << lp.status();
    ExpectSameLogprobs(*lp, TorchLogprobs(x, id), kCudaTolerance);
  }
  if (!torch::cuda::is_available()) {
    EXPECT_EQ(ScoringDevice(PredictScoringOptions{}), "cuda-kernels");
  }
}

}  // namespace
}  // namespace agora::scoring
