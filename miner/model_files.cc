#include "miner/model_files.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "chain/state.h"
#include "common/file_util.h"

namespace agora::miner {
namespace {

constexpr char kVocabFile[] = "vocab.txt";
constexpr char kTorchScriptFile[] = "model.pt";
constexpr size_t kMaxVocabBytes = 64u << 20;

// A model without a vocabulary file reads bytes.
Hash256 ByteTokenizerHash() { return Blake2b256(absl::string_view("agora-byte-tokenizer-v1")); }

absl::Status AddFile(protocol::ModelPackage& package, const std::string& name,
                     const std::string& path, uint64_t max_bytes) {
  absl::StatusOr<std::string> data = ReadFile(path, max_bytes);
  if (!data.ok()) return data.status();
  package.files.push_back(protocol::PackageFile{name, std::move(*data)});
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<protocol::ModelPackage> PackModel(const ModelSpec& spec,
                                                 const std::string& vocab_file) {
  protocol::ModelPackage p;
  absl::Status s;
  if (!spec.checkpoint_dir.empty()) {
    p.format = chain::kModelFormatAgoraGpt;
    s = AddFile(p, "config.json", spec.checkpoint_dir + "/config.json", 1u << 20);
    if (s.ok()) s = AddFile(p, "weights.pt", spec.checkpoint_dir + "/weights.pt", kMaxPackBytes);
  } else if (!spec.torchscript_path.empty()) {
    p.format = chain::kModelFormatTorchScript;
    p.context = spec.torchscript_context;
    s = AddFile(p, kTorchScriptFile, spec.torchscript_path, kMaxPackBytes);
  } else {
    return absl::InvalidArgumentError("model: no checkpoint or TorchScript file to pack");
  }
  if (s.ok() && !vocab_file.empty()) s = AddFile(p, kVocabFile, vocab_file, kMaxVocabBytes);
  if (!s.ok()) return s;
  return p;
}

absl::StatusOr<ModelSpec> UnpackModel(const protocol::ModelPackage& package,
                                      const std::string& dir) {
  ModelSpec spec;
  std::vector<std::string> required;
  if (package.format == chain::kModelFormatAgoraGpt) {
    required = {"config.json", "weights.pt"};
    spec.checkpoint_dir = dir;
  } else if (package.format == chain::kModelFormatTorchScript) {
    if (package.context == 0) return absl::InvalidArgumentError("torchscript package: context 0");
    required = {kTorchScriptFile};
    spec.torchscript_path = dir + "/" + kTorchScriptFile;
    spec.torchscript_context = package.context;
  } else {
    return absl::InvalidArgumentError(absl::StrCat("package format '", package.format,
                                                   "' is not one this build loads"));
  }
  for (const std::string& name : required) {
    if (protocol::FindPackageFile(package, name) == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat(package.format, " package without ", name));
    }
  }
  absl::Status s = MakeDirs(dir);
  if (!s.ok()) return s;
  for (const protocol::PackageFile& f : package.files) {
    s = WriteFileAtomic(dir + "/" + f.name, f.data, 0644);
    if (!s.ok()) return s;
  }
  return spec;
}

absl::StatusOr<Hash256> TokenizerHash(const std::string& vocab_file) {
  if (vocab_file.empty()) return ByteTokenizerHash();
  absl::StatusOr<std::string> data = ReadFile(vocab_file, kMaxVocabBytes);
  if (!data.ok()) return data.status();
  return Blake2b256(*data);
}

Hash256 PackageTokenizerHash(const protocol::ModelPackage& package) {
  for (const protocol::PackageFile& f : package.files) {
    if (f.name == kVocabFile) return Blake2b256(f.data);
  }
  return ByteTokenizerHash();
}

}  // namespace agora::miner
