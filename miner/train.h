// Training Agora's GPT (miner/gpt.h) on a plain text corpus, byte-level:
// what `agora-train` runs (miner/train_main.cc is a thin shell over Train()).
//
// The corpus is split once: the last `holdout_fraction` of its lines is the
// held-out text, never trained on; its loss is reported, and it is written to
// `holdout_out` when set, never into the checkpoint directory (miners serve
// that directory: held-out text there would be public). Training samples windows of context+1 bytes from
// the rest with a seeded generator, so the same corpus, options and seed give
// the same weights and content hash on the same machine and thread count.
// Checkpoints go to <out> every checkpoint_every steps and at the end.
//
// Thread-compatible: one Train() per process at a time (it sets torch's
// global seed).
#ifndef AGORA_MINER_TRAIN_H_
#define AGORA_MINER_TRAIN_H_

#include <cstdint>
#include <iosfwd>
#include <string>

#include "absl/status/statusor.h"
#include "common/crypto.h"

namespace agora::miner {

struct TrainOptions {
  std::string corpus_path;
  std::string out_dir;
  int64_t layers = 2;
  int64_t dim = 128;
  int64_t heads = 4;
  int64_t context = 128;
  bool tied_head = true;
  int64_t steps = 1000;
  int64_t batch = 16;
  double lr = 3e-3;
  uint64_t seed = 1;
  double holdout_fraction = 0.05;  // [0, 0.5]
  std::string holdout_out;         // where the held-out text goes; empty: nowhere
  int64_t checkpoint_every = 0;    // 0: only at the end
  int64_t eval_windows = 64;       // held-out windows for the final loss
  bool force_cpu = false;
  std::ostream* progress = nullptr;  // progress bar (stderr in agora-train); null: quiet
};

struct TrainResult {
  Hash256 content_hash{};
  double first_loss = 0;    // loss of the first step
  double train_loss = 0;    // mean loss of the last 10% of steps
  double holdout_loss = 0;  // on held-out windows (0 if the held-out text is too short)
  double tokens_per_s = 0;
  int64_t train_bytes = 0;
  int64_t holdout_bytes = 0;
};

// InvalidArgument for bad options or a corpus shorter than two windows;
// file errors for the corpus and the output directory.
absl::StatusOr<TrainResult> Train(const TrainOptions& options);

}  // namespace agora::miner

#endif  // AGORA_MINER_TRAIN_H_
