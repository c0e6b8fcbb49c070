// Agora's own CUDA kernels for the hot scoring ops (built only when nvcc is
// found: AGORA_HAVE_CUDA). Plain C++ in front of the .cu, so callers need
// neither CUDA headers nor torch; the per-element math is
// scoring/fused_math.h, shared with the CPU reference
// (scoring/fused_reference.h) that documents the outputs.
//
// Every function copies its host inputs to the device and its results back:
// Debian's LibTorch has no CUDA, so tensors live in host memory.
//
// Thread-safety: safe from any thread (each call owns its device buffers).
#ifndef AGORA_SCORING_CUDA_SCORING_KERNELS_H_
#define AGORA_SCORING_CUDA_SCORING_KERNELS_H_

#include <cstdint>
#include <string>

namespace agora::scoring::cuda {

// CUDA devices usable by this process; any runtime error (no driver, no
// device, stub libcuda) counts as 0.
int DeviceCount();

// Validity checks fused with the loss term of every distribution of a dense
// [m, n, v] float32 probability tensor: writes kind[m * n] (fused::k*),
// sum[m * n] and loss_term[m * n] like fused::PredictChecksCpu. Every target
// must be < v. Returns "" or the CUDA error.
std::string PredictChecks(const float* probs, int64_t m, int64_t n, int64_t v,
                          const int64_t* targets, double sum_tolerance, double probability_floor,
                          int32_t* kind, double* sum, double* loss_term);

// Teacher-forced token log-probabilities of [b, t, v] float32 logits and
// [b, t] ids: out[b * (t - 1)] like fused::TokenLogprobsCpu. Every id must be
// in [0, v). Returns "" or the CUDA error.
std::string TokenLogprobs(const float* logits, const int64_t* ids, int64_t b, int64_t t, int64_t v,
                          float* out);

}  // namespace agora::scoring::cuda

#endif  // AGORA_SCORING_CUDA_SCORING_KERNELS_H_
