#include "scoring/token_logprobs.h"

#include <cstdio>

#include "absl/strings/str_cat.h"
#include "scoring/kernel_dispatch.h"

namespace agora::scoring {

torch::Tensor TokenLogprobs(const torch::Tensor& logits, const torch::Tensor& ids) {
  TORCH_CHECK(logits.dim() == 3, "TokenLogprobs: logits must be [B, T, V]");
  TORCH_CHECK(ids.dim() == 2 && ids.size(0) == logits.size(0) && ids.size(1) == logits.size(1),
              "TokenLogprobs: ids must be [B, T] matching logits");
  const int64_t t = logits.size(1);
  if (t < 2) return torch::empty({logits.size(0), 0}, logits.options().dtype(torch::kFloat));
  // Debian's LibTorch has no CUDA: our own kernels take the CPU tensors when a
  // device exists. Any failure (bad ids included) leaves it to LibTorch.
  if (!logits.is_cuda() && OwnCudaDevices() > 0) {
    absl::StatusOr<torch::Tensor> own = TokenLogprobsOwnCuda(logits, ids);
    if (own.ok()) return *std::move(own);
    if (!absl::IsInvalidArgument(own.status())) {
      std::fprintf(stderr, "scoring: %s; using the CPU\n", own.status().ToString().c_str());
    }
  }
  // Position t-1 predicts token t.
  const torch::Tensor lp = torch::log_softmax(logits.slice(1, 0, t - 1), -1, torch::kFloat);
  return lp.gather(2, ids.slice(1, 1, t).to(torch::kLong).unsqueeze(2)).squeeze(2);
}

absl::Status CheckTokenLogprobsRequest(const std::vector<std::vector<uint32_t>>& rows,
                                       const std::vector<size_t>& from, uint32_t vocab,
                                       uint32_t context) {
  if (rows.empty()) return absl::InvalidArgumentError("token logprobs: no rows");
  if (rows.size() != from.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("token logprobs: ", rows.size(), " rows but ", from.size(), " starts"));
  }
  for (size_t i = 0; i < rows.size(); ++i) {
    const std::vector<uint32_t>& row = rows[i];
    if (row.empty()) return absl::InvalidArgumentError(absl::StrCat("rows[", i, "]: empty"));
    if (row.size() > context) {
      return absl::InvalidArgumentError(
          absl::StrCat("rows[", i, "]: ", row.size(), " tokens > context ", context));
    }
    if (from[i] < 1 || from[i] > row.size()) {
      return absl::InvalidArgumentError(
          absl::StrCat("from[", i, "]: ", from[i], " not in [1, ", row.size(), "]"));
    }
    for (size_t j = 0; j < row.size(); ++j) {
      if (row[j] >= vocab) {
        return absl::InvalidArgumentError(
            absl::StrCat("rows[", i, "][", j, "]: token ", row[j], " >= vocab ", vocab));
      }
    }
  }
  return absl::OkStatus();
}

std::vector<std::vector<float>> SliceTokenLogprobs(const torch::Tensor& token_logprobs,
                                                   const std::vector<std::vector<uint32_t>>& rows,
                                                   const std::vector<size_t>& from) {
  const torch::Tensor host = token_logprobs.detach().to(torch::kCPU, torch::kFloat).contiguous();
  const int64_t cols = host.dim() == 2 ? host.size(1) : 0;
  const float* data = host.data_ptr<float>();
  std::vector<std::vector<float>> out(rows.size());
  for (size_t i = 0; i < rows.size(); ++i) {
    const float* row = data + static_cast<int64_t>(i) * cols;
    out[i].assign(row + (from[i] - 1), row + (rows[i].size() - 1));
  }
  return out;
}

}  // namespace agora::scoring
