// Tensor-level entry points of Agora's own scoring kernels
// (scoring/cuda/scoring_kernels.h) and of their CPU reference
// (scoring/fused_reference.h), with the same inputs and outputs as
// PredictLoss and TokenLogprobs. ScorePredict and TokenLogprobs use the CUDA
// kernels when LibTorch itself has no CUDA (Debian's) but our kernels were
// compiled in and a device exists; tensors go through host memory.
//
// Includes LibTorch. Thread-safety: pure functions (the device count is
// probed once per process).
#ifndef AGORA_SCORING_KERNEL_DISPATCH_H_
#define AGORA_SCORING_KERNEL_DISPATCH_H_

#include <torch/torch.h>

#include "absl/status/statusor.h"
#include "scoring/predict_loss.h"

namespace agora::scoring {

// Whether this build holds our CUDA kernels (nvcc was found at configure time).
bool OwnCudaKernelsCompiled();

// Devices our kernels can run on: 0 when not compiled, or on any CUDA
// runtime error (no driver, no GPU). Probed once.
int OwnCudaDevices();

// PredictLoss through our CUDA kernels. Unavailable when there are none or no
// device; Internal with the CUDA error when a call fails.
absl::StatusOr<PredictLossResult> PredictLossOwnCuda(const torch::Tensor& probs,
                                                     const torch::Tensor& targets,
                                                     const torch::Tensor& present,
                                                     double sum_tolerance,
                                                     double probability_floor);

// PredictLoss through the kernels' CPU reference (plain loops, one thread).
PredictLossResult PredictLossReference(const torch::Tensor& probs, const torch::Tensor& targets,
                                       const torch::Tensor& present, double sum_tolerance,
                                       double probability_floor);

// TokenLogprobs through our CUDA kernels: Unavailable / Internal as above,
// InvalidArgument for shapes or ids TokenLogprobs would reject.
absl::StatusOr<torch::Tensor> TokenLogprobsOwnCuda(const torch::Tensor& logits,
                                                   const torch::Tensor& ids);

// TokenLogprobs through the CPU reference; InvalidArgument as above.
absl::StatusOr<torch::Tensor> TokenLogprobsReference(const torch::Tensor& logits,
                                                     const torch::Tensor& ids);

}  // namespace agora::scoring

#endif  // AGORA_SCORING_KERNEL_DISPATCH_H_
