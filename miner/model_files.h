// A model's files as a model package (protocol/model_package.h) and back:
// the miner packs the model it serves, so validators can fetch it
// (ModelFetchRequest) and re-run it; a validator unpacks a fetched package
// into a directory LoadModel() can open. Also the tokenizer's hash, which
// register_model records beside the model's. Torch-free.
//
// Thread-safe: free functions.
#ifndef AGORA_MINER_MODEL_FILES_H_
#define AGORA_MINER_MODEL_FILES_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/crypto.h"
#include "miner/model.h"
#include "protocol/model_package.h"

namespace agora::miner {

// Largest package a miner packs (and a validator's max_model_bytes ceiling).
inline constexpr uint64_t kMaxPackBytes = 8ull << 30;

// The package of `spec`'s model: "agora-gpt" with config.json and weights.pt
// from the checkpoint directory, or "torchscript" with the exported file as
// model.pt and its context; plus vocab.txt when `vocab_file` is set.
absl::StatusOr<protocol::ModelPackage> PackModel(const ModelSpec& spec,
                                                 const std::string& vocab_file);
// Writes `package`'s files into `dir` (created if missing), each atomically,
// and returns the spec that loads them. InvalidArgument for an unknown
// format or a missing required file.
absl::StatusOr<ModelSpec> UnpackModel(const protocol::ModelPackage& package,
                                      const std::string& dir);
// BLAKE2b-256 of the vocabulary file's bytes, or of "agora-byte-tokenizer-v1"
// for the byte-level tokenizer (no file).
absl::StatusOr<Hash256> TokenizerHash(const std::string& vocab_file);
// The same hash of the tokenizer a package carries (its vocab.txt, else the
// byte tokenizer's): what a validator compares with the registered one.
Hash256 PackageTokenizerHash(const protocol::ModelPackage& package);

}  // namespace agora::miner

#endif  // AGORA_MINER_MODEL_FILES_H_
