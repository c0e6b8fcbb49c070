// The CUDA side of scoring/cuda/scoring_kernels.h: one block per
// distribution (predict) or per predicted position (token log-probs);
// threads stride over the vocabulary and merge their partial accumulators
// in shared memory. The arithmetic is scoring/fused_math.h.
#include "scoring/cuda/scoring_kernels.h"

#include <cuda_runtime.h>

#include "scoring/fused_math.h"

namespace agora::scoring::cuda {
namespace {

constexpr int kThreads = 256;  // a power of two: the tree reductions below halve it

__global__ void PredictChecksKernel(const float* probs, int64_t n, int64_t v,
                                    const int64_t* targets, double sum_tolerance,
                                    double probability_floor, int32_t* kind, double* sum,
                                    double* loss_term) {
  __shared__ fused::DistAccum part[kThreads];
  const int64_t row = blockIdx.x;  // m * n + challenge
  const float* p = probs + row * v;
  fused::DistAccum a;
  for (int64_t i = threadIdx.x; i < v; i += blockDim.x) fused::Accumulate(a, p[i]);
  part[threadIdx.x] = a;
  __syncthreads();
  for (int s = blockDim.x / 2; s > 0; s /= 2) {
    if (threadIdx.x < s) part[threadIdx.x] = fused::Merge(part[threadIdx.x], part[threadIdx.x + s]);
    __syncthreads();
  }
  if (threadIdx.x == 0) {
    kind[row] = fused::Classify(part[0], sum_tolerance);
    sum[row] = part[0].sum;
    loss_term[row] = fused::LossTerm(p[targets[row % n]], probability_floor);
  }
}

__global__ void TokenLogprobsKernel(const float* logits, const int64_t* ids, int64_t t, int64_t v,
                                    float* out) {
  __shared__ fused::LseAccum part[kThreads];
  const int64_t pos = blockIdx.x;  // b * (t - 1) + position
  const int64_t b = pos / (t - 1), j = pos % (t - 1);
  const float* x = logits + (b * t + j) * v;  // position j predicts token j + 1
  fused::LseAccum a;
  for (int64_t i = threadIdx.x; i < v; i += blockDim.x) fused::LseStep(a, x[i]);
  part[threadIdx.x] = a;
  __syncthreads();
  for (int s = blockDim.x / 2; s > 0; s /= 2) {
    if (threadIdx.x < s) part[threadIdx.x] = fused::LseMerge(part[threadIdx.x], part[threadIdx.x + s]);
    __syncthreads();
  }
  if (threadIdx.x == 0) out[pos] = fused::TokenLogprob(x[ids[b * t + j + 1]], part[0]);
}

// Device buffers freed on every return path.
class DeviceBuffers {
 public:
  ~DeviceBuffers() {
    for (int i = 0; i < count_; ++i) cudaFree(ptrs_[i]);
  }
  template <typename T>
  cudaError_t Alloc(T** p, size_t elements) {
    void* raw = nullptr;
    const cudaError_t e = cudaMalloc(&raw, elements * sizeof(T) + 1);  // +1: never 0 bytes
    if (e == cudaSuccess) ptrs_[count_++] = raw;
    *p = static_cast<T*>(raw);
    return e;
  }

 private:
  void* ptrs_[8] = {};
  int count_ = 0;
};

std::string Error(const char* what, cudaError_t e) {
  return std::string(what) + ": " + cudaGetErrorName(e) + " (" + cudaGetErrorString(e) + ")";
}

#define AGORA_CUDA_TRY(what, expr)            \
  do {                                        \
    const cudaError_t e_ = (expr);            \
    if (e_ != cudaSuccess) return Error(what, e_); \
  } while (0)

}  // namespace

int DeviceCount() {
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) {
    cudaGetLastError();  // clear the sticky error so later calls start clean
    return 0;
  }
  return n;
}

std::string PredictChecks(const float* probs, int64_t m, int64_t n, int64_t v,
                          const int64_t* targets, double sum_tolerance, double probability_floor,
                          int32_t* kind, double* sum, double* loss_term) {
  const int64_t rows = m * n;
  if (rows == 0) return "";
  if (rows > 2147483647) return "too many distributions for one launch";
  DeviceBuffers buf;
  float* d_probs;
  int64_t* d_targets;
  int32_t* d_kind;
  double *d_sum, *d_loss;
  AGORA_CUDA_TRY("cudaMalloc", buf.Alloc(&d_probs, size_t(rows * v)));
  AGORA_CUDA_TRY("cudaMalloc", buf.Alloc(&d_targets, size_t(n)));
  AGORA_CUDA_TRY("cudaMalloc", buf.Alloc(&d_kind, size_t(rows)));
  AGORA_CUDA_TRY("cudaMalloc", buf.Alloc(&d_sum, size_t(rows)));
  AGORA_CUDA_TRY("cudaMalloc", buf.Alloc(&d_loss, size_t(rows)));
  AGORA_CUDA_TRY("copy in", cudaMemcpy(d_probs, probs, size_t(rows * v) * sizeof(float),
                                       cudaMemcpyHostToDevice));
  AGORA_CUDA_TRY("copy in", cudaMemcpy(d_targets, targets, size_t(n) * sizeof(int64_t),
                                       cudaMemcpyHostToDevice));
  PredictChecksKernel<<<unsigned(rows), kThreads>>>(d_probs, n, v, d_targets, sum_tolerance,
                                                   probability_floor, d_kind, d_sum, d_loss);
  AGORA_CUDA_TRY("launch", cudaGetLastError());
  AGORA_CUDA_TRY("copy out", cudaMemcpy(kind, d_kind, size_t(rows) * sizeof(int32_t),
                                        cudaMemcpyDeviceToHost));
  AGORA_CUDA_TRY("copy out", cudaMemcpy(sum, d_sum, size_t(rows) * sizeof(double),
                                        cudaMemcpyDeviceToHost));
  AGORA_CUDA_TRY("copy out", cudaMemcpy(loss_term, d_loss, size_t(rows) * sizeof(double),
                                        cudaMemcpyDeviceToHost));
  return "";
}

std::string TokenLogprobs(const float* logits, const int64_t* ids, int64_t b, int64_t t, int64_t v,
                          float* out) {
  if (b == 0 || t < 2) return "";
  const int64_t positions = b * (t - 1);
  if (positions > 2147483647) return "too many positions for one launch";
  DeviceBuffers buf;
  float *d_logits, *d_out;
  int64_t* d_ids;
  AGORA_CUDA_TRY("cudaMalloc", buf.Alloc(&d_logits, size_t(b * t * v)));
  AGORA_CUDA_TRY("cudaMalloc", buf.Alloc(&d_ids, size_t(b * t)));
  AGORA_CUDA_TRY("cudaMalloc", buf.Alloc(&d_out, size_t(positions)));
  AGORA_CUDA_TRY("copy in", cudaMemcpy(d_logits, logits, size_t(b * t * v) * sizeof(float),
                                       cudaMemcpyHostToDevice));
  AGORA_CUDA_TRY("copy in", cudaMemcpy(d_ids, ids, size_t(b * t) * sizeof(int64_t),
                                       cudaMemcpyHostToDevice));
  TokenLogprobsKernel<<<unsigned(positions), kThreads>>>(d_logits, d_ids, t, v, d_out);
  AGORA_CUDA_TRY("launch", cudaGetLastError());
  AGORA_CUDA_TRY("copy out", cudaMemcpy(out, d_out, size_t(positions) * sizeof(float),
                                        cudaMemcpyDeviceToHost));
  return "";
}

}  // namespace agora::scoring::cuda
