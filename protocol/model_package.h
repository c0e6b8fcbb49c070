// The model package: what a miner hands a validator so it can re-run the
// miner's model (docs/PROTOCOL.md "Model fetch"). One canonical msgpack map
// holding the model's format and its files; its size in bytes is what the
// miner registers on chain (register_model's size_bytes) and what the
// validator's ModelFetchRequest pieces add up to. The package carries no
// hash of its own: the validator unpacks it, loads the model and compares
// the model's content hash (over its config and weights, miner/model.h) with
// the registered one, so a package is verified by what it computes to.
//
// Thread-safe: pure functions.
#ifndef AGORA_PROTOCOL_MODEL_PACKAGE_H_
#define AGORA_PROTOCOL_MODEL_PACKAGE_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "common/msgpack.h"

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace agora::protocol {

inline constexpr size_t kMaxPackageFiles = 8;
inline constexpr size_t kMaxPackageFileName = 64;

struct PackageFile {
  std::string name;  // a plain file name: [A-Za-z0-9._-], not starting with '.'
  std::string data;  // its bytes
  MSGPACK_DEFINE_MAP(name, data)
};

struct ModelPackage {
  std::string format;  // as registered: "agora-gpt" (config.json, weights.pt) or
                       // "torchscript" (model.pt); optional "vocab.txt" (miner/tokenizer.h)
  uint32_t context = 0;  // torchscript: the context it attends to; 0 for agora-gpt
  std::vector<PackageFile> files;  // unique names
  MSGPACK_DEFINE_MAP(format, context, files)
};

// The canonical encoding (its size is the registered size_bytes).
std::string EncodeModelPackage(const ModelPackage& package);
// InvalidArgument for anything EncodeModelPackage would not produce, an
// empty or over-long format, more than kMaxPackageFiles files, a bad or
// repeated file name.
absl::StatusOr<ModelPackage> DecodeModelPackage(absl::string_view bytes);
// The file named `name`, or nullptr.
const PackageFile* FindPackageFile(const ModelPackage& package, absl::string_view name);

}  // namespace agora::protocol

#endif  // AGORA_PROTOCOL_MODEL_PACKAGE_H_
