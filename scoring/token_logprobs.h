// Teacher-forced per-token log-probabilities of a batch: the tensor function
// behind ModelBackend::TokenLogprobs (miner/model.h), plus the request checks
// and result slicing the LibTorch backends share.
//
// Includes LibTorch. Thread-safety: pure functions.
#ifndef AGORA_SCORING_TOKEN_LOGPROBS_H_
#define AGORA_SCORING_TOKEN_LOGPROBS_H_

#include <cstddef>
#include <cstdint>
#include <vector>

#include <torch/torch.h>

#include "absl/status/status.h"

namespace agora::scoring {

// logits [B, T, V] (any float type, any device), ids [B, T] int64 on the same
// device -> [B, T-1] float32 with out[b, t-1] = log_softmax(logits[b, t-1])[ids[b, t]]:
// the log-probability of each token given the ones before it. Computed with
// log_softmax (max-subtracted), so tiny probabilities stay finite.
// CPU tensors run on Agora's own CUDA kernels (scoring/kernel_dispatch.h)
// when they were built and a device exists; result on the CPU either way.
torch::Tensor TokenLogprobs(const torch::Tensor& logits, const torch::Tensor& ids);

// The argument checks of ModelBackend::TokenLogprobs: InvalidArgument naming
// the row for an empty batch, rows.size() != from.size(), an empty row or
// one longer than `context`, from[i] < 1 or > its row's size, or a token id
// >= `vocab`.
absl::Status CheckTokenLogprobsRequest(const std::vector<std::vector<uint32_t>>& rows,
                                       const std::vector<size_t>& from, uint32_t vocab,
                                       uint32_t context);

// token_logprobs [B, T-1] (any device) -> per row i, the entries for tokens
// [from[i], rows[i].size()), i.e. columns [from[i] - 1, rows[i].size() - 1).
std::vector<std::vector<float>> SliceTokenLogprobs(const torch::Tensor& token_logprobs,
                                                   const std::vector<std::vector<uint32_t>>& rows,
                                                   const std::vector<size_t>& from);

}  // namespace agora::scoring

#endif  // AGORA_SCORING_TOKEN_LOGPROBS_H_
