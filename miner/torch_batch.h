// Helpers shared by the LibTorch backends: turning ragged rows of token ids
// into one right-padded [B, T] batch, and logits back into plain vectors.
// Includes LibTorch. Thread-safe: pure functions.
#ifndef AGORA_MINER_TORCH_BATCH_H_
#define AGORA_MINER_TORCH_BATCH_H_

#include <cstdint>
#include <vector>

#include <torch/torch.h>

#include "absl/status/statusor.h"
#include "miner/model.h"

namespace agora::miner {

struct PaddedBatch {
  torch::Tensor ids;   // [B, T] int64 on the target device, right-padded with 0
  torch::Tensor last;  // [B] int64: index of each row's last real token
};

// Validates rows (non-empty batch and rows, ids < vocab) and pads them. Rows
// longer than `context` keep their last `context` tokens. InvalidArgument
// naming the row otherwise.
absl::StatusOr<PaddedBatch> PadRows(const std::vector<std::vector<uint32_t>>& rows,
                                    uint32_t vocab, uint32_t context, torch::Device device);

// [B, V] logits (any device, any float type) -> Logits on the host.
Logits ToLogits(const torch::Tensor& logits);

}  // namespace agora::miner

#endif  // AGORA_MINER_TORCH_BATCH_H_
