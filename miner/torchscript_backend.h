// A TorchScript causal LM exported from PyTorch (docs/MINER.md "TorchScript"):
// forward(ids: int64 [B, T]) -> logits [B, T, V]. The content hash is the
// BLAKE2b-256 of the exported file. The vocabulary size is learned by one
// forward pass at load time. Torch-free header; the .cc includes LibTorch.
#ifndef AGORA_MINER_TORCHSCRIPT_BACKEND_H_
#define AGORA_MINER_TORCHSCRIPT_BACKEND_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "miner/model.h"

namespace agora::miner {

// Loads `path` onto CUDA when available (unless `force_cpu`). NotFound for a
// missing file; InvalidArgument if it does not load or its forward does not
// map [1, 1] int64 ids to [1, 1, V] logits.
absl::StatusOr<std::unique_ptr<ModelBackend>> LoadTorchScript(const std::string& path,
                                                              uint32_t context, bool force_cpu);

}  // namespace agora::miner

#endif  // AGORA_MINER_TORCHSCRIPT_BACKEND_H_
