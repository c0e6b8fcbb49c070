// bench_scoring: validator scoring throughput.
//
// 1. Predict: ScorePredict on M miners x N challenges (full distributions
//    over V tokens), in scored tokens/s (M * N per call), host-side shape
//    checks and dense [M, N, V] building included; next to two raw LibTorch
//    baselines on the same already-built tensor: "raw checked", the fewest
//    ops computing the same scores (well-formedness of every distribution,
//    then the floored log-loss), and "raw gather" (gather + log + mean, which
//    skips the checks and so reads only M*N of the M*N*V probabilities: the
//    floor of any implementation); ratios are raw time / ScorePredict time.
//    "fused ref": the CPU reference of our CUDA kernels (one pass per
//    distribution, plain loops, one thread) on the same tensor.
// 2. Completions: GptBackend::TokenLogprobs on B rows of T tokens, in tokens/s,
//    next to the raw forward of the same [B, T] batch.
// 3. The token log-prob op alone on random [B, T, V] logits: LibTorch's
//    log_softmax + gather next to the CPU reference of our CUDA kernel.
//
// Usage: bench_scoring [--vocab 256] [--challenges 32] [--reps 200]
//                      [--layers 2 --dim 128 --heads 4 --context 128]
// Every figure is the median of 7 timed repetitions (each `reps` calls for
// predict, one call for completions) after a warm-up. Nothing is asserted.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "absl/strings/numbers.h"
#include "miner/gpt.h"
#include "protocol/task_messages.h"
#include "scoring/kernel_dispatch.h"
#include "scoring/predict_loss.h"
#include "scoring/predict_scoring.h"

namespace {

using namespace agora;
using Clock = std::chrono::steady_clock;

struct Args {
  uint32_t vocab = 256;
  size_t challenges = 32;
  int reps = 200;
  int64_t layers = 2, dim = 128, heads = 4, context = 128;
};

Args Parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string f = argv[i];
    auto next = [&]() -> const char* { return i + 1 < argc ? argv[++i] : "0"; };
    if (f == "--vocab") absl::SimpleAtoi(next(), &a.vocab);
    else if (f == "--challenges") absl::SimpleAtoi(next(), &a.challenges);
    else if (f == "--reps") absl::SimpleAtoi(next(), &a.reps);
    else if (f == "--layers") absl::SimpleAtoi(next(), &a.layers);
    else if (f == "--dim") absl::SimpleAtoi(next(), &a.dim);
    else if (f == "--heads") absl::SimpleAtoi(next(), &a.heads);
    else if (f == "--context") absl::SimpleAtoi(next(), &a.context);
    else { std::fprintf(stderr, "unknown flag %s\n", f.c_str()); std::exit(2); }
  }
  return a;
}

template <typename F>
double MedianSeconds(F&& f) {
  f();  // warm up
  std::vector<double> t;
  for (int r = 0; r < 7; ++r) {
    const auto t0 = Clock::now();
    f();
    t.push_back(std::chrono::duration<double>(Clock::now() - t0).count());
  }
  std::sort(t.begin(), t.end());
  return t[3];
}

volatile double g_sink = 0;

void BenchPredict(const Args& a, size_t miners) {
  std::mt19937_64 rng(1);
  std::uniform_real_distribution<double> u01(0.0, 1.0);
  scoring::PredictStep step;
  step.vocab_size = a.vocab;
  for (size_t n = 0; n < a.challenges; ++n) step.targets.push_back(static_cast<uint32_t>(rng() % a.vocab));
  std::vector<protocol::PredictReply> replies(miners);
  for (protocol::PredictReply& r : replies) {
    r.vocab_size = a.vocab;
    for (size_t n = 0; n < a.challenges; ++n) {
      std::vector<double> w(a.vocab);
      double sum = 0;
      for (double& x : w) sum += (x = -std::log(1.0 - u01(rng)));
      protocol::TokenDistribution d;
      for (double x : w) d.probs.push_back(static_cast<float>(x / sum));
      r.distributions.push_back(std::move(d));
    }
    step.answers.push_back(&r);
  }
  scoring::PredictScoringOptions opt;
  opt.use_cuda = false;
  const double tokens = double(miners) * double(a.challenges) * a.reps;
  const double t_score = MedianSeconds([&] {
    for (int i = 0; i < a.reps; ++i) g_sink = g_sink + scoring::ScorePredict(step, opt)[0].loss;
  });
  // Raw: the loss alone on the already-built dense tensor.
  const scoring::DenseStep dense = scoring::BuildDense(step);
  const int64_t m = static_cast<int64_t>(miners), n = static_cast<int64_t>(a.challenges);
  const double t_raw = MedianSeconds([&] {
    torch::NoGradGuard no_grad;
    for (int i = 0; i < a.reps; ++i) {
      torch::Tensor idx = dense.targets.view({1, n, 1}).expand({m, n, 1});
      torch::Tensor loss = dense.probs.gather(2, idx).squeeze(2).log().neg().mean(1);
      g_sink = g_sink + loss[0].item<double>();
    }
  });
  // Raw with the checks: the fewest LibTorch ops that compute the same
  // scores on the built tensor (is every distribution of a miner well formed:
  // min >= 0 and a sum within tolerance, NaN failing both; then the floored
  // log-loss of the well-formed ones). What ScorePredict costs beyond this is
  // its own: shape checks of the replies, building the tensor, the reasons.
  const double t_raw_checked = MedianSeconds([&] {
    torch::NoGradGuard no_grad;
    for (int i = 0; i < a.reps; ++i) {
      torch::Tensor fine =
          dense.probs.amin(-1).ge(0)
              .logical_and((dense.probs.sum(-1).to(torch::kDouble) - 1.0).abs().le(opt.sum_tolerance))
              .all(1);
      torch::Tensor idx = dense.targets.view({1, n, 1}).expand({m, n, 1});
      torch::Tensor loss = dense.probs.gather(2, idx).squeeze(2).to(torch::kDouble)
                               .clamp_min(opt.probability_floor).log().neg().mean(1);
      loss = torch::where(fine, loss, torch::zeros_like(loss));
      g_sink = g_sink + loss[0].item<double>();
    }
  });
  // Middle: the batched checks + loss (PredictLoss) on the built tensor.
  const double t_loss = MedianSeconds([&] {
    for (int i = 0; i < a.reps; ++i) {
      scoring::PredictLossResult r = scoring::PredictLoss(dense.probs, dense.targets, dense.present,
                                                          opt.sum_tolerance, opt.probability_floor);
      g_sink = g_sink + r.loss[0].item<double>();
    }
  });
  const double t_fused = MedianSeconds([&] {
    for (int i = 0; i < a.reps; ++i) {
      scoring::PredictLossResult r = scoring::PredictLossReference(
          dense.probs, dense.targets, dense.present, opt.sum_tolerance, opt.probability_floor);
      g_sink = g_sink + r.loss[0].item<double>();
    }
  });
  const double t_build = MedianSeconds([&] {
    for (int i = 0; i < a.reps; ++i) g_sink = g_sink + double(scoring::BuildDense(step).probs.numel());
  });
  std::printf("%6zu %6zu %6u %14.0f %14.0f %14.0f %14.0f %7.0f%% %14.0f %7.0f%% %10.1f %10.1f\n",
              miners, a.challenges, a.vocab, tokens / t_score, tokens / t_loss, tokens / t_fused,
              tokens / t_raw_checked, 100.0 * t_raw_checked / t_score, tokens / t_raw,
              100.0 * t_raw / t_score, 1e6 * t_score / a.reps, 1e6 * t_build / a.reps);
  std::fflush(stdout);
}

void BenchTokenLogprobs(const Args& a, miner::ModelBackend& model, miner::GptImpl& raw, size_t batch,
                        size_t len) {
  std::vector<std::vector<uint32_t>> rows(batch, std::vector<uint32_t>(len));
  for (size_t i = 0; i < batch; ++i)
    for (size_t j = 0; j < len; ++j) rows[i][j] = static_cast<uint32_t>((i * 31 + j * 7) % a.vocab);
  const std::vector<size_t> from(batch, 1);
  const double t_lp = MedianSeconds([&] {
    auto r = model.TokenLogprobs(rows, from);
    if (!r.ok()) std::abort();
    g_sink = g_sink + (*r)[0][0];
  });
  std::vector<int64_t> ids(batch * len);
  for (size_t i = 0; i < batch; ++i)
    for (size_t j = 0; j < len; ++j) ids[i * len + j] = rows[i][j];
  const torch::Tensor t_ids =
      torch::from_blob(ids.data(), {int64_t(batch), int64_t(len)}, torch::kLong).clone();
  const double t_raw = MedianSeconds([&] {
    torch::InferenceMode guard;
    torch::Tensor logits = raw.forward(t_ids);
    g_sink = g_sink + logits[0][0][0].item<double>();
  });
  const double tokens = double(batch) * double(len - 1);
  std::printf("%6zu %6zu %16.0f %16.0f %7.0f%%\n", batch, len, tokens / t_lp, tokens / t_raw,
              100.0 * t_raw / t_lp);
  std::fflush(stdout);
}

// LibTorch's log_softmax + gather (TokenLogprobs' formula) next to the CPU
// reference of our kernel, on the same random logits; `reps` calls each.
void BenchLogprobOp(const Args& a, int64_t b, int64_t t) {
  torch::manual_seed(2);
  const torch::Tensor logits = torch::randn({b, t, int64_t(a.vocab)}) * 3;
  const torch::Tensor ids = torch::randint(0, a.vocab, {b, t}, torch::kLong);
  const int reps = std::max(1, a.reps / 10);
  const double t_torch = MedianSeconds([&] {
    torch::NoGradGuard no_grad;
    for (int i = 0; i < reps; ++i) {
      torch::Tensor lp = torch::log_softmax(logits.slice(1, 0, t - 1), -1, torch::kFloat)
                             .gather(2, ids.slice(1, 1, t).unsqueeze(2));
      g_sink = g_sink + lp[0][0][0].item<double>();
    }
  });
  const double t_ref = MedianSeconds([&] {
    for (int i = 0; i < reps; ++i) g_sink = g_sink + (*scoring::TokenLogprobsReference(logits, ids))[0][0].item<double>();
  });
  const double tokens = double(b) * double(t - 1) * reps;
  std::printf("%6lld %6lld %6u %16.0f %16.0f\n", static_cast<long long>(b),
              static_cast<long long>(t), a.vocab, tokens / t_torch, tokens / t_ref);
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  const Args a = Parse(argc, argv);
  miner::SetUpTorchProcess();
  scoring::PredictScoringOptions cpu;
  cpu.use_cuda = false;
  std::printf("torch threads: %d, OPENBLAS_CORETYPE=%s, scoring device: %s\n\n",
              torch::get_num_threads(),
              std::getenv("OPENBLAS_CORETYPE") ? std::getenv("OPENBLAS_CORETYPE") : "(unset)",
              scoring::ScoringDevice(cpu).c_str());
  std::printf("predict (%d calls per repetition; ratios = raw time / ScorePredict time)\n", a.reps);
  std::printf("%6s %6s %6s %14s %14s %14s %14s %8s %14s %8s %10s %10s\n", "M", "N", "V",
              "score tok/s", "PredictLoss", "fused ref", "raw checked", "ratio", "raw gather",
              "ratio", "us/call", "build us");
  for (size_t m : {16, 32}) BenchPredict(a, m);

  miner::GptConfig c;
  c.vocab = a.vocab;
  c.layers = a.layers;
  c.dim = a.dim;
  c.heads = a.heads;
  c.context = a.context;
  miner::LoadedGpt g = miner::FreshGpt(c, 1);
  miner::Gpt raw = g.model;  // shares the parameters
  raw->eval();
  auto model = miner::MakeGptBackend(std::move(g), torch::kCPU);
  std::printf("\ncompletions: %s\n", model->Describe().c_str());
  std::printf("(TokenLogprobs of B rows x T tokens; ratio = raw forward time / TokenLogprobs time)\n");
  std::printf("%6s %6s %16s %16s %8s\n", "B", "T", "logprob tok/s", "raw fwd tok/s", "ratio");
  for (auto [b, t] : {std::pair<size_t, size_t>{8, 64}, {16, 128}}) {
    if (t > size_t(c.context)) t = size_t(c.context);
    BenchTokenLogprobs(a, *model, *raw, b, t);
  }
  std::printf("\ntoken log-prob op (%d calls per repetition)\n", std::max(1, a.reps / 10));
  std::printf("%6s %6s %6s %16s %16s\n", "B", "T", "V", "torch tok/s", "fused ref tok/s");
  for (auto [b, t] : {std::pair<int64_t, int64_t>{8, 64}, {16, 128}}) BenchLogprobOp(a, b, t);
  return 0;
}
