#include "scoring/kernel_dispatch.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "scoring/fused_reference.h"
#if defined(AGORA_SCORING_CUDA)
#include "scoring/cuda/scoring_kernels.h"
#endif

namespace agora::scoring {
namespace {

// Host copies in the layouts the kernels take.
struct PredictInputs {
  torch::Tensor probs, targets, present;
  int64_t m = 0, n = 0, v = 0;
};

PredictInputs HostPredictInputs(const torch::Tensor& probs, const torch::Tensor& targets,
                                const torch::Tensor& present) {
  PredictInputs in;
  in.probs = probs.to(torch::kCPU, torch::kFloat).contiguous();
  in.targets = targets.to(torch::kCPU, torch::kLong).contiguous();
  in.present = present.to(torch::kCPU, torch::kBool).contiguous();
  in.m = probs.size(0);
  in.n = probs.size(1);
  in.v = probs.size(2);
  return in;
}

// Per-distribution outputs -> PredictLossResult (bad_sum is 0 where no
// distribution is malformed; PredictLoss leaves an unused value there).
PredictLossResult Combine(const PredictInputs& in, const std::vector<int32_t>& kind,
                          const std::vector<double>& sum, const std::vector<double>& loss_term) {
  const std::vector<fused::MinerVerdict> v = fused::CombineMiners(
      kind.data(), sum.data(), loss_term.data(), in.present.data_ptr<bool>(), in.m, in.n);
  PredictLossResult r;
  r.bad_index = torch::empty({in.m}, torch::kLong);
  r.bad_kind = torch::empty({in.m}, torch::kInt);
  r.bad_sum = torch::empty({in.m}, torch::kDouble);
  r.loss = torch::empty({in.m}, torch::kDouble);
  for (int64_t j = 0; j < in.m; ++j) {
    r.bad_index.data_ptr<int64_t>()[j] = v[j].bad_index;
    r.bad_kind.data_ptr<int32_t>()[j] = v[j].bad_kind;
    r.bad_sum.data_ptr<double>()[j] = v[j].bad_sum;
    r.loss.data_ptr<double>()[j] = v[j].loss;
  }
  return r;
}

struct LogprobInputs {
  torch::Tensor logits, ids;
  int64_t b = 0, t = 0, v = 0;
};

absl::StatusOr<LogprobInputs> HostLogprobInputs(const torch::Tensor& logits,
                                                const torch::Tensor& ids) {
  if (logits.dim() != 3 || ids.dim() != 2 || ids.size(0) != logits.size(0) ||
      ids.size(1) != logits.size(1)) {
    return absl::InvalidArgumentError("token logprobs: logits must be [B, T, V], ids [B, T]");
  }
  LogprobInputs in;
  in.logits = logits.detach().to(torch::kCPU, torch::kFloat).contiguous();
  in.ids = ids.to(torch::kCPU, torch::kLong).contiguous();
  in.b = logits.size(0);
  in.t = logits.size(1);
  in.v = logits.size(2);
  const int64_t* id = in.ids.data_ptr<int64_t>();
  for (int64_t i = 0; i < in.ids.numel(); ++i) {
    if (id[i] < 0 || id[i] >= in.v) {
      return absl::InvalidArgumentError(
          absl::StrCat("token logprobs: id ", id[i], " not in [0, ", in.v, ")"));
    }
  }
  return in;
}

torch::Tensor LogprobOutput(const LogprobInputs& in) {
  return torch::empty({in.b, in.t < 2 ? 0 : in.t - 1}, torch::kFloat);
}

}  // namespace

bool OwnCudaKernelsCompiled() {
#if defined(AGORA_SCORING_CUDA)
  return true;
#else
  return false;
#endif
}

int OwnCudaDevices() {
#if defined(AGORA_SCORING_CUDA)
  static const int devices = cuda::DeviceCount();
  return devices;
#else
  return 0;
#endif
}

absl::StatusOr<PredictLossResult> PredictLossOwnCuda(const torch::Tensor& probs,
                                                     const torch::Tensor& targets,
                                                     const torch::Tensor& present,
                                                     double sum_tolerance,
                                                     double probability_floor) {
  if (OwnCudaDevices() == 0) return absl::UnavailableError("no CUDA kernels or no CUDA device");
#if defined(AGORA_SCORING_CUDA)
  torch::NoGradGuard no_grad;
  const PredictInputs in = HostPredictInputs(probs, targets, present);
  const size_t rows = static_cast<size_t>(in.m * in.n);
  std::vector<int32_t> kind(rows);
  std::vector<double> sum(rows), loss_term(rows);
  const std::string error = cuda::PredictChecks(
      in.probs.data_ptr<float>(), in.m, in.n, in.v, in.targets.data_ptr<int64_t>(), sum_tolerance,
      probability_floor, kind.data(), sum.data(), loss_term.data());
  if (!error.empty()) return absl::InternalError(absl::StrCat("CUDA predict scoring: ", error));
  return Combine(in, kind, sum, loss_term);
#else
  return absl::UnavailableError("built without CUDA kernels");
#endif
}

PredictLossResult PredictLossReference(const torch::Tensor& probs, const torch::Tensor& targets,
                                       const torch::Tensor& present, double sum_tolerance,
                                       double probability_floor) {
  torch::NoGradGuard no_grad;
  const PredictInputs in = HostPredictInputs(probs, targets, present);
  const size_t rows = static_cast<size_t>(in.m * in.n);
  std::vector<int32_t> kind(rows);
  std::vector<double> sum(rows), loss_term(rows);
  fused::PredictChecksCpu(in.probs.data_ptr<float>(), in.m, in.n, in.v,
                          in.targets.data_ptr<int64_t>(), sum_tolerance, probability_floor,
                          kind.data(), sum.data(), loss_term.data());
  return Combine(in, kind, sum, loss_term);
}

absl::StatusOr<torch::Tensor> TokenLogprobsOwnCuda(const torch::Tensor& logits,
                                                   const torch::Tensor& ids) {
  if (OwnCudaDevices() == 0) return absl::UnavailableError("no CUDA kernels or no CUDA device");
#if defined(AGORA_SCORING_CUDA)
  torch::NoGradGuard no_grad;
  absl::StatusOr<LogprobInputs> in = HostLogprobInputs(logits, ids);
  if (!in.ok()) return in.status();
  torch::Tensor out = LogprobOutput(*in);
  const std::string error =
      cuda::TokenLogprobs(in->logits.data_ptr<float>(), in->ids.data_ptr<int64_t>(), in->b, in->t,
                          in->v, out.data_ptr<float>());
  if (!error.empty()) return absl::InternalError(absl::StrCat("CUDA token logprobs: ", error));
  return out;
#else
  return absl::UnavailableError("built without CUDA kernels");
#endif
}

absl::StatusOr<torch::Tensor> TokenLogprobsReference(const torch::Tensor& logits,
                                                     const torch::Tensor& ids) {
  torch::NoGradGuard no_grad;
  absl::StatusOr<LogprobInputs> in = HostLogprobInputs(logits, ids);
  if (!in.ok()) return in.status();
  torch::Tensor out = LogprobOutput(*in);
  fused::TokenLogprobsCpu(in->logits.data_ptr<float>(), in->ids.data_ptr<int64_t>(), in->b, in->t,
                          in->v, out.data_ptr<float>());
  return out;
}

}  // namespace agora::scoring
