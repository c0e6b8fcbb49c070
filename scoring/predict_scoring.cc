#include "scoring/predict_scoring.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <optional>

#include "absl/strings/str_cat.h"
#include "scoring/kernel_dispatch.h"
#include "scoring/predict_host.h"
#include "scoring/predict_loss.h"

namespace agora::scoring {
namespace {

std::string Reason(BadKind kind, int64_t index, double sum) {
  const std::string d = absl::StrCat("distribution ", index, ": ");
  switch (kind) {
    case BadKind::kNaN: return d + "NaN";
    case BadKind::kInfinite: return d + "infinite probability";
    case BadKind::kNegative: return d + "negative probability";
    case BadKind::kSum: {
      char buf[32];
      std::snprintf(buf, sizeof buf, "%.6g", sum);
      return absl::StrCat(d, "sums to ", buf);
    }
    case BadKind::kNone: break;
  }
  return d + "malformed";
}

// Where the batched checks and losses run: LibTorch on its own device when
// that is CUDA (a CUDA-enabled LibTorch); else our CUDA kernels when built
// and a device exists; else LibTorch on the CPU. A failing kernel call
// falls back to the CPU: same results, only slower.
PredictLossResult RunPredictLoss(const DenseStep& dense, const PredictScoringOptions& options) {
  const torch::Device device = ScoringTorchDevice(options);
  if (!device.is_cuda() && options.use_cuda && OwnCudaDevices() > 0) {
    absl::StatusOr<PredictLossResult> r =
        PredictLossOwnCuda(dense.probs, dense.targets, dense.present, options.sum_tolerance,
                           options.probability_floor);
    if (r.ok()) return *std::move(r);
    std::fprintf(stderr, "scoring: %s; using the CPU\n", r.status().ToString().c_str());
  }
  return PredictLoss(dense.probs.to(device), dense.targets.to(device), dense.present.to(device),
                     options.sum_tolerance, options.probability_floor);
}

std::vector<PredictScore> AllInvalid(size_t m, const std::string& reason) {
  std::vector<PredictScore> out(m);
  for (PredictScore& s : out) s.reason = reason;
  return out;
}

}  // namespace

std::vector<PredictScore> ScorePredict(const PredictStep& step,
                                       const PredictScoringOptions& options) {
  const size_t m = step.answers.size();
  // The validator's own inputs: a bad step scores nobody.
  if (step.vocab_size < 2) return AllInvalid(m, "validator error: vocab_size < 2");
  if (step.targets.empty()) return AllInvalid(m, "validator error: no challenges");
  for (size_t i = 0; i < step.targets.size(); ++i) {
    if (step.targets[i] >= step.vocab_size) {
      return AllInvalid(m, absl::StrCat("validator error: target ", i, " is ", step.targets[i],
                                        " >= vocab_size ", step.vocab_size));
    }
  }
  std::vector<PredictScore> out(m);
  if (m == 0) return out;

  // Shape errors are found on the host; the rest only if someone passed.
  std::vector<std::string> shape = CheckShapes(step);
  const bool any = std::any_of(shape.begin(), shape.end(), [](const std::string& r) { return r.empty(); });
  if (!any) {
    for (size_t j = 0; j < m; ++j) out[j].reason = std::move(shape[j]);
    return out;
  }
  auto set_valid = [&](PredictScore& s, double loss) {
    s.valid = true;
    s.loss = loss;
    s.score = PredictScoreOfLoss(loss, step.vocab_size);
  };
  // On the CPU, a step with nothing malformed (the usual one) is scored in
  // one pass over the replies; the tensor path below names the problems.
  if (ScoringDevice(options) == "cpu") {
    if (std::optional<std::vector<double>> losses = WellFormedLosses(
            step, shape, options.sum_tolerance, options.probability_floor)) {
      for (size_t j = 0; j < m; ++j) {
        if (shape[j].empty()) {
          set_valid(out[j], (*losses)[j]);
        } else {
          out[j].reason = std::move(shape[j]);
        }
      }
      return out;
    }
  }

  const DenseStep dense = BuildDense(step, std::move(shape));
  const PredictLossResult r = RunPredictLoss(dense, options);
  const int64_t* bad_index = r.bad_index.data_ptr<int64_t>();
  const int32_t* bad_kind = r.bad_kind.data_ptr<int32_t>();
  const double* bad_sum = r.bad_sum.data_ptr<double>();
  const double* loss = r.loss.data_ptr<double>();
  for (size_t j = 0; j < m; ++j) {
    PredictScore& s = out[j];
    if (!dense.reasons[j].empty()) {
      s.reason = dense.reasons[j];
    } else if (bad_index[j] >= 0) {
      s.reason = Reason(static_cast<BadKind>(bad_kind[j]), bad_index[j], bad_sum[j]);
    } else {
      set_valid(s, loss[j]);
    }
  }
  return out;
}

std::string ScoringDevice(const PredictScoringOptions& options) {
  if (ScoringTorchDevice(options).is_cuda()) return "cuda";
  return options.use_cuda && OwnCudaDevices() > 0 ? "cuda-kernels" : "cpu";
}

}  // namespace agora::scoring
