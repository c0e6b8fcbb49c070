// The model behind a miner: one interface for every backend (Agora's own GPT,
// miner/gpt.h; TorchScript exports, miner/torchscript_backend.h), so the
// batcher and the task handlers never see LibTorch. This header is torch-free
// on purpose (docs/ARCHITECTURE.md "Heavy libraries stay in their corner").
//
// Thread-safety: a ModelBackend is not thread-safe; the batcher
// (miner/batcher.h) calls it from its one worker thread.
#ifndef AGORA_MINER_MODEL_H_
#define AGORA_MINER_MODEL_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "common/crypto.h"

namespace agora::miner {

// Next-token logits of a batch: `rows` x `vocab`, row-major.
struct Logits {
  size_t rows = 0;
  size_t vocab = 0;
  std::vector<float> data;
  absl::Span<const float> Row(size_t i) const { return {data.data() + i * vocab, vocab}; }
};

class ModelBackend {
 public:
  virtual ~ModelBackend() = default;

  // The logits of the token that follows each row. Rows may differ in length;
  // the backend right-pads them into one [B, T] forward pass and reads each
  // row's logits at its own last real token (with a causal model, right
  // padding never reaches a real position, so no other mask is needed). A row
  // longer than max_context() is cut to its last max_context() tokens.
  // InvalidArgument for an empty batch, an empty row or a token id >=
  // vocab_size(); Internal if the model fails.
  virtual absl::StatusOr<Logits> NextTokenLogits(
      const std::vector<std::vector<uint32_t>>& rows) = 0;

  // NextTokenLogits for rows that continue earlier ones: sequences[i] != 0
  // names the generation row i belongs to (0: none). A generation asks for
  // its prompt, then for the prompt plus one token, and so on; a backend
  // with a key/value cache (Agora's GPT) keeps what it computed for each
  // sequence's last row and computes only the tokens a row adds, so a step
  // of a batched generation costs one token per row instead of the whole
  // row. It checks that a row really extends what it cached (anything else
  // is computed afresh), so results always equal NextTokenLogits(rows)
  // within float tolerance. The default forgets nothing because it keeps
  // nothing: it calls NextTokenLogits. Requires sequences.size() == rows.size().
  virtual absl::StatusOr<Logits> DecodeStep(const std::vector<std::vector<uint32_t>>& rows,
                                            const std::vector<uint64_t>& sequences) {
    (void)sequences;
    return NextTokenLogits(rows);
  }
  // The sequence is finished: whatever DecodeStep kept for it may go.
  virtual void EndSequence(uint64_t sequence) { (void)sequence; }

  // Teacher forcing: for each row, log p(row[t] | row[<t]) for every t in
  // [from[i], row.size()), natural log, temperature 1, all rows in one
  // batched forward pass (scoring/token_logprobs.h). Used by validators to
  // judge completions and to recompute a miner's claimed log-probabilities.
  // Result i has row[i].size() - from[i] entries. InvalidArgument for an
  // empty batch, rows.size() != from.size(), a row longer than
  // max_context(), from[i] < 1 or > row size, or a token id >= vocab_size()
  // (callers cut long rows at the front first).
  virtual absl::StatusOr<std::vector<std::vector<float>>> TokenLogprobs(
      const std::vector<std::vector<uint32_t>>& rows, const std::vector<size_t>& from) = 0;

  // Teacher forcing with whole distributions: for each row, the next-token
  // logits at every position t in [from[i], row.size()), i.e. what the model
  // gives after row[<t] (cut to its last max_context() tokens, as a
  // generation sees it); result i has row.size() - from[i] rows. Used by
  // validators to check every sampled token of a completion
  // (docs/PROTOCOL.md "Sampling"). The default asks NextTokenLogits for all
  // those prefixes in one batch; a backend may do it in one pass per row.
  // InvalidArgument for an empty batch, rows.size() != from.size(), or
  // from[i] < 1 or > its row's size.
  virtual absl::StatusOr<std::vector<Logits>> PositionLogits(
      const std::vector<std::vector<uint32_t>>& rows, const std::vector<size_t>& from) {
    if (rows.empty() || rows.size() != from.size()) {
      return absl::InvalidArgumentError("PositionLogits: bad batch");
    }
    std::vector<std::vector<uint32_t>> prefixes;
    for (size_t i = 0; i < rows.size(); ++i) {
      if (from[i] < 1 || from[i] > rows[i].size()) {
        return absl::InvalidArgumentError("PositionLogits: from out of range");
      }
      for (size_t t = from[i]; t < rows[i].size(); ++t) {
        const size_t begin = t > max_context() ? t - max_context() : 0;
        prefixes.emplace_back(rows[i].begin() + begin, rows[i].begin() + t);
      }
    }
    std::vector<Logits> out(rows.size());
    if (prefixes.empty()) return out;
    absl::StatusOr<Logits> all = NextTokenLogits(prefixes);
    if (!all.ok()) return all.status();
    size_t next = 0;
    for (size_t i = 0; i < rows.size(); ++i) {
      out[i].rows = rows[i].size() - from[i];
      out[i].vocab = all->vocab;
      out[i].data.assign(all->data.begin() + next * all->vocab,
                         all->data.begin() + (next + out[i].rows) * all->vocab);
      next += out[i].rows;
    }
    return out;
  }

  virtual uint32_t vocab_size() const = 0;
  // Longest context the model attends to, in tokens.
  virtual uint32_t max_context() const = 0;
  // The model's identity: BLAKE2b-256 over its config and weights (GPT) or
  // over the exported file (TorchScript). Part of every answer.
  virtual const Hash256& content_hash() const = 0;
  // "cpu" or "cuda".
  virtual std::string device() const = 0;
  // One line for logs: kind, size, device.
  virtual std::string Describe() const = 0;
};

// Where a miner's model comes from: exactly one of the two paths is set.
struct ModelSpec {
  std::string checkpoint_dir;    // written by agora-train (miner/gpt.h)
  std::string torchscript_path;  // a TorchScript causal LM: forward(ids [B,T]) -> [B,T,V]
  uint32_t torchscript_context = 256;  // TorchScript models do not say their context
  bool force_cpu = false;        // use the CPU even when CUDA is available
};

// Loads the model named by `spec` on CUDA when available (else the CPU) and
// sets LibTorch's thread count to the machine's cores. InvalidArgument for a
// bad spec, NotFound / DataLoss for missing or corrupt files.
// Defined in the torch library (agora_miner_model).
absl::StatusOr<std::unique_ptr<ModelBackend>> LoadModel(const ModelSpec& spec);

// The perturbed-copy adversary's checkpoint (miner/adversary.h): the GPT
// checkpoint at `from` with every weight nudged (gpt.h PerturbWeights),
// written to `to`, once: a `to` that already holds a checkpoint is kept, so
// a restart serves the same copy. Returns the copy's content hash.
// Defined in the torch library.
absl::StatusOr<Hash256> WritePerturbedCopy(const std::string& from, double scale, uint64_t seed,
                                           const std::string& to);

}  // namespace agora::miner

#endif  // AGORA_MINER_MODEL_H_
