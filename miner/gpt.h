// Agora's own small GPT-style decoder, written with the LibTorch C++ API:
// token + learned position embeddings, N pre-LayerNorm blocks (causal
// multi-head self-attention, GELU MLP), a final LayerNorm and a head tied to
// the token embedding (or its own, untied). No dropout, so training is
// reproducible from its seed.
//
// A checkpoint is a directory (docs/MINER.md "Checkpoints"):
//   config.json   GptConfig plus training facts (steps, losses), and the hash
//   weights.pt    torch::save of the named parameters
// The content hash is BLAKE2b-256 over the canonical config text and every
// parameter's name, shape and float32 bytes, so it names the model exactly and
// survives a save/load round trip.
//
// Includes LibTorch: only miner/*.cc torch files and the torch test include it.
// Thread-safety: a Gpt is not thread-safe; GptBackend serves it from one thread.
#ifndef AGORA_MINER_GPT_H_
#define AGORA_MINER_GPT_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/crypto.h"
#include "miner/model.h"

namespace agora::miner {

struct GptConfig {
  int64_t vocab = 256;   // byte-level by default
  int64_t context = 128; // positions
  int64_t layers = 2;
  int64_t dim = 128;
  int64_t heads = 4;
  int64_t mlp_mult = 4;
  bool tied_head = true;
  // InvalidArgument naming the field when out of range (dim % heads != 0, ...).
  absl::Status Validate() const;
  // Canonical JSON text (fixed key order), part of the content hash.
  std::string ToJson() const;
};

// Where one incremental step's new tokens sit (GptImpl::HiddenStep). A store
// holds, per layer, keys and values of shape [slots, context, heads,
// head_dim]. Row r of the step adds n_r tokens at positions start_r ..
// start_r + n_r - 1 of its slot: a generation under way adds one, a new
// prompt all of its tokens. The step's new tokens are packed into one [T, D]
// batch for every matrix product (no padding). For attention they are taken
// in groups of consecutive rows (the rows adding one token, then the rows
// adding several), each group laid out as R rows of N = max(n_r) tokens and
// each row reading its own slot, so a long prompt pads only its own group.
struct KvAttendGroup {
  int64_t first = 0;        // its first token in the packed batch
  int64_t tokens = 0;       // how many packed tokens it has
  int64_t rows = 0;         // R
  int64_t width = 0;        // N
  int64_t span = 0;         // positions read back: max over its rows of start + n
  torch::Tensor slots;      // [R] int64: each row's slot
  torch::Tensor masked;     // [R, 1, N, span] bool: true where a query may not look
  torch::Tensor padded;     // [tokens] int64: each token's place r * N + j; undefined
                            // when tokens == R * N (the packed order is the layout)
};
struct KvStepIndex {
  torch::Tensor positions;  // [T] int64: each new token's position
  torch::Tensor dst_slot;   // [T] int64: its key and value go to this slot,
                            // at its position
  std::vector<KvAttendGroup> groups;
  torch::Tensor last;       // [rows of the step] int64: each row's last token, in [0, T)
};

class BlockImpl : public torch::nn::Module {
 public:
  explicit BlockImpl(const GptConfig& c);
  torch::Tensor forward(const torch::Tensor& x);  // [B,T,D] -> [B,T,D]
  // The same for new tokens only: writes their keys and values into the
  // store (k, v: [S, context, H, hd]) and attends over each row's stored
  // positions. x [T,D] (packed, see KvStepIndex) -> [T,D].
  torch::Tensor Step(const torch::Tensor& x, torch::Tensor& k, torch::Tensor& v,
                     const KvStepIndex& idx);

 private:
  // Attention output y (x's shape) -> the block's output: projection,
  // residual, MLP.
  torch::Tensor Finish(const torch::Tensor& x, const torch::Tensor& y);

  int64_t heads_;
  torch::nn::LayerNorm ln1_{nullptr}, ln2_{nullptr};
  torch::nn::Linear qkv_{nullptr}, proj_{nullptr}, fc_{nullptr}, out_{nullptr};
};
TORCH_MODULE(Block);

class GptImpl : public torch::nn::Module {
 public:
  explicit GptImpl(const GptConfig& c);
  // ids [B,T] (int64, T <= context) -> logits [B,T,V].
  torch::Tensor forward(const torch::Tensor& ids);
  // ids [B,T] -> final hidden states [B,T,D] (after the last LayerNorm).
  torch::Tensor Hidden(const torch::Tensor& ids);
  // Incremental Hidden: ids [T] are the step's new tokens, packed and placed
  // by `idx`; keys[l], values[l] are layer l's store. -> hidden [T,D].
  torch::Tensor HiddenStep(const torch::Tensor& ids, std::vector<torch::Tensor>& keys,
                           std::vector<torch::Tensor>& values, const KvStepIndex& idx);
  // hidden [..., D] -> logits [..., V].
  torch::Tensor Head(const torch::Tensor& hidden);
  const GptConfig& config() const { return config_; }

 private:
  GptConfig config_;
  torch::nn::Embedding tok_{nullptr}, pos_{nullptr};
  torch::nn::ModuleList blocks_;
  torch::nn::LayerNorm ln_f_{nullptr};
  torch::nn::Linear head_{nullptr};
};
TORCH_MODULE(Gpt);

// Facts about how a checkpoint was made, kept in config.json (not hashed).
struct TrainFacts {
  uint64_t steps = 0;
  uint64_t seed = 0;
  double train_loss = 0;
  double holdout_loss = 0;
  std::string corpus;  // file name only
};

// BLAKE2b-256 over config and weights (see above).
Hash256 GptContentHash(Gpt& model);

// Writes `dir`/config.json and `dir`/weights.pt atomically (creating `dir`).
// Returns the content hash.
absl::StatusOr<Hash256> SaveCheckpoint(Gpt& model, const TrainFacts& facts,
                                       const std::string& dir);

struct LoadedGpt {
  Gpt model{nullptr};
  Hash256 hash{};
  TrainFacts facts;
};
// A model of this shape with fresh weights drawn from torch's generator
// seeded with `seed`, and its content hash: for benchmarks and tests, which
// need a model of a given size, not a trained one.
LoadedGpt FreshGpt(const GptConfig& config, uint64_t seed);
// Adds to every weight tensor Gaussian noise of `scale` times the tensor's
// own standard deviation, drawn from torch's generator seeded with `seed`,
// and returns the new content hash. What a model thief does to register
// another's model under a hash of its own (the perturbed-copy adversary,
// miner/adversary.h).
Hash256 PerturbWeights(Gpt& model, double scale, uint64_t seed);
// Loads a checkpoint onto the CPU. NotFound for missing files, InvalidArgument
// for a bad config, DataLoss if the weights do not match the config or the
// recomputed hash differs from the one recorded.
absl::StatusOr<LoadedGpt> LoadCheckpoint(const std::string& dir);

// The device a miner serves on: CUDA when available (and not `force_cpu`).
torch::Device ServingDevice(bool force_cpu);
// Readies a process for LibTorch, once: intra-op threads to the machine's
// cores, or to $AGORA_TORCH_THREADS when set (toolchain.md P3), and malloc
// keeping freed memory for the next tensors (common/malloc_tuning.h).
void SetUpTorchProcess();

// Serves a Gpt through ModelBackend. Takes ownership; moves it to `device`.
// DecodeStep keeps generations' keys and values in a cache of at most
// `kv_cache_bytes` (miner/kv_slots.h; more only while one step's rows need it).
inline constexpr size_t kDefaultKvCacheBytes = size_t{256} << 20;
std::unique_ptr<ModelBackend> MakeGptBackend(LoadedGpt loaded, torch::Device device,
                                             size_t kv_cache_bytes = kDefaultKvCacheBytes);

}  // namespace agora::miner

#endif  // AGORA_MINER_GPT_H_
