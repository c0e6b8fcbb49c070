// agora-train: trains Agora's GPT on a text corpus (miner/train.h) and prints
// the final losses and the content hash. A thin shell over miner::Train().
#include <iostream>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "cli/cli.h"
#include "common/crypto.h"
#include "miner/train.h"

namespace {

using agora::cli::ParsedFlags;

template <typename T>
absl::Status IntFlag(const ParsedFlags& f, const char* name, T* out) {
  if (!f.Has(name)) return absl::OkStatus();
  if (!absl::SimpleAtoi(f.Get(name), out)) {
    return agora::cli::UsageError(absl::StrCat("--", name, " must be an integer"));
  }
  return absl::OkStatus();
}

absl::Status DoubleFlag(const ParsedFlags& f, const char* name, double* out) {
  if (!f.Has(name)) return absl::OkStatus();
  if (!absl::SimpleAtod(f.Get(name), out)) {
    return agora::cli::UsageError(absl::StrCat("--", name, " must be a number"));
  }
  return absl::OkStatus();
}

absl::Status RunTrain(const ParsedFlags& f, agora::cli::Context& ctx) {
  agora::miner::TrainOptions o;
  o.corpus_path = f.Get("corpus");
  o.out_dir = f.Get("out");
  for (absl::Status s : {IntFlag(f, "layers", &o.layers), IntFlag(f, "dim", &o.dim),
                         IntFlag(f, "heads", &o.heads), IntFlag(f, "context", &o.context),
                         IntFlag(f, "steps", &o.steps), IntFlag(f, "batch", &o.batch),
                         IntFlag(f, "seed", &o.seed),
                         IntFlag(f, "checkpoint-every", &o.checkpoint_every),
                         DoubleFlag(f, "lr", &o.lr),
                         DoubleFlag(f, "holdout-fraction", &o.holdout_fraction)}) {
    if (!s.ok()) return s;
  }
  o.holdout_out = f.Get("holdout-out");
  o.tied_head = !f.Has("untied");
  o.force_cpu = f.Has("cpu");
  if (!f.Has("quiet")) o.progress = &ctx.err;
  absl::StatusOr<agora::miner::TrainResult> r = agora::miner::Train(o);
  if (!r.ok()) return r.status();
  ctx.out << absl::StrFormat(
      "trained %d steps on %d bytes (%d held out)\n"
      "loss: first %.4f, final train %.4f, held-out %.4f (nats/byte)\n"
      "throughput: %.0f tokens/s\n"
      "checkpoint: %s\ncontent hash: %s\n",
      o.steps, r->train_bytes, r->holdout_bytes, r->first_loss, r->train_loss, r->holdout_loss,
      r->tokens_per_s, o.out_dir, agora::ToHex(r->content_hash));
  return absl::OkStatus();
}

}  // namespace

int main(int argc, char** argv) {
  const agora::miner::TrainOptions d;
  agora::cli::Command cmd{
      "agora-train",
      "train a small GPT on a text corpus",
      "Trains Agora's byte-level GPT decoder on a plain text file and writes a\n"
      "checkpoint directory (config.json, weights.pt) that agora-miner serves.\n"
      "The last --holdout-fraction of the corpus lines is kept out of training\n"
      "and its loss reported; --holdout-out writes it to a file outside the\n"
      "checkpoint. Same corpus, flags and seed: same content hash.",
      {
          {"corpus", "FILE", "plain text to train on", /*required=*/true},
          {"out", "DIR", "checkpoint directory", /*required=*/true},
          {"layers", "N", absl::StrCat("decoder blocks (default ", d.layers, ")")},
          {"dim", "N", absl::StrCat("model width (default ", d.dim, ")")},
          {"heads", "N", absl::StrCat("attention heads (default ", d.heads, ")")},
          {"context", "N", absl::StrCat("context length in bytes (default ", d.context, ")")},
          {"steps", "N", absl::StrCat("optimizer steps (default ", d.steps, ")")},
          {"batch", "N", absl::StrCat("windows per step (default ", d.batch, ")")},
          {"lr", "X", absl::StrCat("AdamW learning rate (default ", d.lr, ")")},
          {"seed", "N", absl::StrCat("seed for init and sampling (default ", d.seed, ")")},
          {"holdout-fraction", "F",
           absl::StrCat("tail of the corpus kept out (default ", d.holdout_fraction, ")")},
          {"holdout-out", "FILE", "write the held-out text here (not inside --out)"},
          {"checkpoint-every", "N", "also save every N steps (default: only at the end)"},
          {"untied", "", "give the output head its own weights"},
          {"cpu", "", "train on the CPU even if CUDA is available"},
          {"quiet", "", "no progress bar"},
      },
      &RunTrain,
      {}};
  std::vector<std::string> args(argv + 1, argv + argc);
  return agora::cli::Run(cmd, args, std::cout, std::cerr);
}
