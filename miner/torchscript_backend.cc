#include "miner/torchscript_backend.h"

#include <sstream>
#include <utility>
#include <vector>

#include <torch/script.h>
#include <torch/torch.h>

#include "absl/strings/str_cat.h"
#include "common/file_util.h"
#include "miner/gpt.h"
#include "miner/torch_batch.h"
#include "scoring/token_logprobs.h"

namespace agora::miner {
namespace {

constexpr size_t kMaxModelBytes = 8ull << 30;

class TorchScriptBackend : public ModelBackend {
 public:
  TorchScriptBackend(torch::jit::Module module, Hash256 hash, uint32_t vocab, uint32_t context,
                     torch::Device device, std::string path)
      : module_(std::move(module)), hash_(hash), vocab_(vocab), context_(context),
        device_(device), path_(std::move(path)) {}

  absl::StatusOr<Logits> NextTokenLogits(
      const std::vector<std::vector<uint32_t>>& rows) override {
    absl::StatusOr<PaddedBatch> batch = PadRows(rows, vocab_, context_, device_);
    if (!batch.ok()) return batch.status();
    return Run(*batch, [&](const torch::Tensor& logits) -> absl::StatusOr<Logits> {
      torch::Tensor idx = torch::arange(logits.size(0), batch->last.options());
      return ToLogits(logits.index({idx, batch->last}));
    });
  }
  absl::StatusOr<std::vector<std::vector<float>>> TokenLogprobs(
      const std::vector<std::vector<uint32_t>>& rows, const std::vector<size_t>& from) override {
    // Long rows are refused, not cut (a cut changes the log-probabilities).
    absl::Status s = scoring::CheckTokenLogprobsRequest(rows, from, vocab_, context_);
    if (!s.ok()) return s;
    absl::StatusOr<PaddedBatch> batch = PadRows(rows, vocab_, context_, device_);
    if (!batch.ok()) return batch.status();
    return Run(*batch, [&](const torch::Tensor& logits) -> absl::StatusOr<std::vector<std::vector<float>>> {
      return scoring::SliceTokenLogprobs(scoring::TokenLogprobs(logits, batch->ids), rows, from);
    });
  }
  uint32_t vocab_size() const override { return vocab_; }
  uint32_t max_context() const override { return context_; }
  const Hash256& content_hash() const override { return hash_; }
  std::string device() const override { return device_.is_cuda() ? "cuda" : "cpu"; }
  std::string Describe() const override {
    return absl::StrCat("torchscript ", path_, " vocab=", vocab_, " context=", context_, " on ",
                        device(), " hash=", ToHex(hash_));
  }

 private:
  // One forward of the export on `batch`, its output checked to be
  // [B, T, V], handed to `then`; LibTorch exceptions become Internal.
  template <typename Then>
  auto Run(const PaddedBatch& batch, Then then) -> decltype(then(torch::Tensor())) {
    try {
      torch::InferenceMode guard;
      torch::Tensor logits = module_.forward({batch.ids}).toTensor();
      if (logits.dim() != 3 || logits.size(0) != batch.ids.size(0) ||
          logits.size(1) != batch.ids.size(1) || logits.size(2) != static_cast<int64_t>(vocab_)) {
        return absl::InternalError("torchscript forward: unexpected output shape");
      }
      return then(logits);
    } catch (const std::exception& e) {
      return absl::InternalError(absl::StrCat("torchscript forward: ", e.what()));
    }
  }

  torch::jit::Module module_;
  Hash256 hash_;
  uint32_t vocab_;
  uint32_t context_;
  torch::Device device_;
  std::string path_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<ModelBackend>> LoadTorchScript(const std::string& path,
                                                              uint32_t context, bool force_cpu) {
  if (context == 0 || context > 1'000'000) {
    return absl::InvalidArgumentError("torchscript_context: must be in [1, 1000000]");
  }
  absl::StatusOr<std::string> bytes = ReadFile(path, kMaxModelBytes);
  if (!bytes.ok()) return bytes.status();
  SetUpTorchProcess();
  const torch::Device device = ServingDevice(force_cpu);
  try {
    std::istringstream in(*bytes);
    torch::jit::Module module = torch::jit::load(in, device);
    module.eval();
    torch::InferenceMode guard;
    torch::Tensor probe = torch::zeros({1, 1}, torch::TensorOptions().dtype(torch::kLong).device(device));
    torch::Tensor out = module.forward({probe}).toTensor();
    if (out.dim() != 3 || out.size(0) != 1 || out.size(1) != 1 || out.size(2) < 2 ||
        out.size(2) > (1 << 24)) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ": forward([1,1] ids) must return [1,1,V] logits"));
    }
    const uint32_t vocab = static_cast<uint32_t>(out.size(2));
    return std::unique_ptr<ModelBackend>(std::make_unique<TorchScriptBackend>(
        std::move(module), Blake2b256(*bytes), vocab, context, device, path));
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": not a usable TorchScript model: ", e.what()));
  }
}

absl::StatusOr<std::unique_ptr<ModelBackend>> LoadModel(const ModelSpec& spec) {
  if (spec.checkpoint_dir.empty() == spec.torchscript_path.empty()) {
    return absl::InvalidArgumentError(
        "model: set exactly one of checkpoint (agora-train output) and torchscript");
  }
  if (!spec.torchscript_path.empty()) {
    return LoadTorchScript(spec.torchscript_path, spec.torchscript_context, spec.force_cpu);
  }
  SetUpTorchProcess();
  absl::StatusOr<LoadedGpt> loaded = LoadCheckpoint(spec.checkpoint_dir);
  if (!loaded.ok()) return loaded.status();
  return MakeGptBackend(std::move(*loaded), ServingDevice(spec.force_cpu));
}

}  // namespace agora::miner
