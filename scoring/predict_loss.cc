#include "scoring/predict_loss.h"

#include <algorithm>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "scoring/predict_host.h"

namespace agora::scoring {

void Densify(const protocol::PredictReply& reply, uint32_t vocab_size, size_t challenges,
             float* out) {
  const size_t v = vocab_size;
  for (size_t i = 0; i < challenges; ++i) {
    const protocol::TokenDistribution& d = reply.distributions[i];
    float* row = out + i * v;
    if (d.tokens.empty()) {  // full form; `rest` is 0 by the protocol and ignored
      std::memcpy(row, d.probs.data(), v * sizeof(float));
      continue;
    }
    DensifyTopK(d, vocab_size, row);
  }
}

DenseStep BuildDense(const PredictStep& step) { return BuildDense(step, CheckShapes(step)); }

DenseStep BuildDense(const PredictStep& step, std::vector<std::string> shape_reasons) {
  const int64_t m = static_cast<int64_t>(step.answers.size());
  const int64_t n = static_cast<int64_t>(step.targets.size());
  const int64_t v = step.vocab_size;
  DenseStep out;
  out.reasons = std::move(shape_reasons);
  out.probs = torch::empty({m, n, v}, torch::kFloat);  // each miner's block is written below
  out.present = torch::zeros({m}, torch::kBool);
  out.targets = torch::empty({n}, torch::kLong);
  int64_t* targets = out.targets.data_ptr<int64_t>();
  for (int64_t i = 0; i < n; ++i) targets[i] = step.targets[i];
  float* probs = out.probs.data_ptr<float>();
  bool* present = out.present.data_ptr<bool>();
  for (int64_t j = 0; j < m; ++j) {
    if (!out.reasons[j].empty()) {
      std::fill(probs + j * n * v, probs + (j + 1) * n * v, 0.0f);  // absent: zeros
      continue;
    }
    present[j] = true;
    Densify(*step.answers[j], step.vocab_size, step.targets.size(), probs + j * n * v);
  }
  return out;
}

namespace {

// Log-loss per miner [M], float64: mean -log(max(p[m, n, targets[n]], floor)).
torch::Tensor LogLoss(const torch::Tensor& probs, const torch::Tensor& targets,
                      double probability_floor) {
  const int64_t m = probs.size(0), n = probs.size(1);
  const torch::Tensor idx = targets.view({1, n, 1}).expand({m, n, 1});
  const torch::Tensor p = probs.gather(2, idx).squeeze(2).to(torch::kDouble);
  return p.clamp_min(probability_floor).log().neg().mean(1);
}

}  // namespace

PredictLossResult PredictLoss(const torch::Tensor& probs, const torch::Tensor& targets,
                              const torch::Tensor& present, double sum_tolerance,
                              double probability_floor) {
  torch::NoGradGuard no_grad;
  const int64_t m = probs.size(0);
  // Two reductions over V tell whether a distribution is well formed: amin
  // propagates NaN and shows -inf and negatives; the sum (float32, cascade
  // summation: error far below any sensible sum_tolerance; compared in
  // float64) shows +inf, NaN and a bad total. NaN compares false, so
  // `fine` is false for every malformed distribution and true otherwise.
  // (amin, not isnan().any(-1): with LibTorch 1.13 on the CPU a bool any()
  // over the last dim is ~25x slower; bench/scoring_bench.cc.)
  const torch::Tensor min = probs.amin(-1);                    // [M, N]
  const torch::Tensor sums = probs.sum(-1).to(torch::kDouble);  // [M, N]
  const torch::Tensor fine = min.ge(0).logical_and((sums - 1.0).abs().le(sum_tolerance));
  const torch::Tensor loss = LogLoss(probs, targets, probability_floor);
  const torch::Tensor absent = present.logical_not();
  PredictLossResult r;
  if (fine.logical_or(absent.unsqueeze(1)).all().item<bool>()) {
    // The usual step: nothing malformed, so no reason to classify.
    r.bad_index = torch::full({m}, -1, torch::kLong);
    r.bad_kind = torch::zeros({m}, torch::kInt);
    r.bad_sum = torch::zeros({m}, torch::kDouble);
    r.loss = torch::where(present, loss, torch::zeros_like(loss)).to(torch::kCPU);
    return r;
  }
  // Some distribution is malformed: its first problem, in BadKind order.
  const torch::Tensor max = probs.amax(-1);
  const torch::Tensor nan = max.isnan();
  const torch::Tensor inf = max.isinf().logical_or(min.isinf());
  const torch::Tensor neg = min.lt(0);
  const torch::Tensor bad_sum = fine.logical_not();  // what NaN, inf and negatives leave
  const torch::Tensor none = torch::zeros({}, probs.options().dtype(torch::kInt));
  auto code = [&](BadKind k) {
    return torch::full({}, static_cast<int32_t>(k), probs.options().dtype(torch::kInt));
  };
  torch::Tensor kind = torch::where(
      nan, code(BadKind::kNaN),
      torch::where(inf, code(BadKind::kInfinite),
                   torch::where(neg, code(BadKind::kNegative),
                                torch::where(bad_sum, code(BadKind::kSum), none))));
  kind = kind * present.unsqueeze(1).to(torch::kInt);  // absent miners: nothing to report
  // First malformed distribution per miner (argmax returns the first maximum).
  const torch::Tensor is_bad = kind.gt(0);
  const torch::Tensor any_bad = is_bad.any(1);
  const torch::Tensor first = is_bad.to(torch::kInt).argmax(1);  // [M]
  const torch::Tensor first_col = first.unsqueeze(1);
  const torch::Tensor bad_index = torch::where(any_bad, first, torch::full_like(first, -1));
  const torch::Tensor bad_kind = kind.gather(1, first_col).squeeze(1);
  const torch::Tensor first_sum = sums.gather(1, first_col).squeeze(1);
  const torch::Tensor valid = present.logical_and(any_bad.logical_not());
  // One transfer back: stack into [4, M] float64 (ints are exact in float64).
  const torch::Tensor host =
      torch::stack({bad_index.to(torch::kDouble), bad_kind.to(torch::kDouble), first_sum,
                    torch::where(valid, loss, torch::zeros_like(loss))})
          .to(torch::kCPU);
  r.bad_index = host[0].to(torch::kLong);
  r.bad_kind = host[1].to(torch::kInt);
  r.bad_sum = host[2].clone();
  r.loss = host[3].clone();
  return r;
}

torch::Device ScoringTorchDevice(const PredictScoringOptions& options) {
  return options.use_cuda && torch::cuda::is_available() ? torch::Device(torch::kCUDA)
                                                         : torch::Device(torch::kCPU);
}

}  // namespace agora::scoring
