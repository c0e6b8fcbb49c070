#include "miner/train.h"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <cmath>
#include <ostream>
#include <random>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/file_util.h"
#include "miner/gpt.h"

namespace agora::miner {
namespace {

constexpr size_t kMaxCorpusBytes = 1ull << 30;

absl::Status Bad(absl::string_view field, absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat("train: ", field, ": ", why));
}

std::string BaseName(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

std::string Clock(double seconds) {
  const int64_t s = static_cast<int64_t>(std::max(0.0, seconds));
  return absl::StrFormat("%d:%02d:%02d", s / 3600, (s / 60) % 60, s % 60);
}

// Windows of `len` + 1 bytes at `offsets` -> (inputs, targets), each [B, len].
std::pair<torch::Tensor, torch::Tensor> Windows(const std::string& text,
                                                const std::vector<size_t>& offsets, int64_t len,
                                                torch::Device device) {
  const int64_t b = static_cast<int64_t>(offsets.size());
  std::vector<int64_t> buf(static_cast<size_t>(b * (len + 1)));
  for (int64_t i = 0; i < b; ++i) {
    for (int64_t j = 0; j <= len; ++j) {
      buf[i * (len + 1) + j] = static_cast<unsigned char>(text[offsets[i] + j]);
    }
  }
  torch::Tensor all = torch::from_blob(buf.data(), {b, len + 1}, torch::kLong).clone().to(device);
  return {all.slice(1, 0, len), all.slice(1, 1, len + 1)};
}

double HoldoutLoss(Gpt& model, const std::string& holdout, int64_t context, int64_t windows,
                   torch::Device device) {
  if (holdout.size() < 2 || windows <= 0) return 0;
  const int64_t len = std::min<int64_t>(context, static_cast<int64_t>(holdout.size()) - 1);
  const int64_t room = static_cast<int64_t>(holdout.size()) - len - 1;  // last valid offset
  const int64_t n = std::max<int64_t>(1, std::min<int64_t>(windows, room / std::max<int64_t>(1, len) + 1));
  std::vector<size_t> offsets;
  for (int64_t i = 0; i < n; ++i) offsets.push_back(static_cast<size_t>(n == 1 ? 0 : room * i / (n - 1)));
  torch::NoGradGuard no_grad;
  model->eval();
  auto [x, y] = Windows(holdout, offsets, len, device);
  torch::Tensor logits = model->forward(x);
  const double loss = torch::nn::functional::cross_entropy(
                          logits.reshape({-1, logits.size(-1)}), y.reshape({-1}))
                          .item<double>();
  model->train();
  return loss;
}

}  // namespace

absl::StatusOr<TrainResult> Train(const TrainOptions& o) {
  if (o.corpus_path.empty()) return Bad("corpus", "missing");
  if (o.out_dir.empty()) return Bad("out", "missing");
  if (o.steps < 1 || o.steps > 100'000'000) return Bad("steps", "must be in [1, 1e8]");
  if (o.batch < 1 || o.batch > 4096) return Bad("batch", "must be in [1, 4096]");
  if (!(o.lr > 0 && o.lr < 10)) return Bad("lr", "must be in (0, 10)");
  if (!(o.holdout_fraction >= 0 && o.holdout_fraction <= 0.5)) {
    return Bad("holdout-fraction", "must be in [0, 0.5]");
  }
  if (o.checkpoint_every < 0) return Bad("checkpoint-every", "must be >= 0");
  GptConfig config;
  config.vocab = 256;
  config.context = o.context;
  config.layers = o.layers;
  config.dim = o.dim;
  config.heads = o.heads;
  config.tied_head = o.tied_head;
  absl::Status s = config.Validate();
  if (!s.ok()) return s;

  absl::StatusOr<std::string> corpus = ReadFile(o.corpus_path, kMaxCorpusBytes);
  if (!corpus.ok()) return corpus.status();
  // Split at a line boundary: the tail is held out.
  size_t cut = corpus->size() - static_cast<size_t>(o.holdout_fraction * corpus->size());
  if (cut < corpus->size()) {
    const size_t nl = corpus->find('\n', cut);
    cut = nl == std::string::npos ? corpus->size() : nl + 1;
  }
  const std::string train_text = corpus->substr(0, cut);
  const std::string holdout = corpus->substr(cut);
  if (static_cast<int64_t>(train_text.size()) < 2 * (o.context + 1)) {
    return Bad("corpus", absl::StrCat("training part has ", train_text.size(),
                                      " bytes; need at least two windows of context+1"));
  }
  s = MakeDirs(o.out_dir, 0755);
  if (!s.ok()) return s;
  if (!o.holdout_out.empty()) {
    std::error_code ec;
    const std::filesystem::path out = std::filesystem::weakly_canonical(o.out_dir, ec);
    const std::filesystem::path held = std::filesystem::weakly_canonical(o.holdout_out, ec);
    for (std::filesystem::path p = held.parent_path(); !ec && !p.empty(); p = p.parent_path()) {
      if (p == out) return Bad("holdout-out", "is inside the checkpoint directory, which miners serve");
      if (p == p.parent_path()) break;
    }
    s = WriteFileAtomic(o.holdout_out, holdout, 0644);
    if (!s.ok()) return s;
  }

  SetUpTorchProcess();
  const torch::Device device = ServingDevice(o.force_cpu);
  torch::manual_seed(o.seed);
  Gpt model(config);
  model->to(device);
  model->train();
  torch::optim::AdamW opt(model->parameters(),
                          torch::optim::AdamWOptions(o.lr).weight_decay(0.01));
  std::mt19937_64 rng(o.seed);
  const size_t span = train_text.size() - static_cast<size_t>(o.context) - 1;  // last offset

  TrainResult result;
  result.train_bytes = static_cast<int64_t>(train_text.size());
  result.holdout_bytes = static_cast<int64_t>(holdout.size());
  TrainFacts facts;
  facts.seed = o.seed;
  facts.corpus = BaseName(o.corpus_path);
  const int64_t warmup = std::max<int64_t>(1, o.steps / 20);
  const int64_t tail_from = o.steps - std::max<int64_t>(1, o.steps / 10);
  double tail_sum = 0;
  int64_t tail_n = 0;
  const auto start = std::chrono::steady_clock::now();
  auto last_print = start - std::chrono::seconds(1);
  for (int64_t step = 0; step < o.steps; ++step) {
    std::vector<size_t> offsets(static_cast<size_t>(o.batch));
    for (size_t& off : offsets) off = static_cast<size_t>(rng() % (span + 1));
    auto [x, y] = Windows(train_text, offsets, o.context, device);
    const double lr = o.lr * std::min(1.0, double(step + 1) / double(warmup));
    for (auto& group : opt.param_groups()) {
      static_cast<torch::optim::AdamWOptions&>(group.options()).lr(lr);
    }
    opt.zero_grad();
    torch::Tensor logits = model->forward(x);
    torch::Tensor loss = torch::nn::functional::cross_entropy(
        logits.reshape({-1, config.vocab}), y.reshape({-1}));
    loss.backward();
    torch::nn::utils::clip_grad_norm_(model->parameters(), 1.0);
    opt.step();
    const double l = loss.item<double>();
    if (!std::isfinite(l)) {
      return absl::InternalError(absl::StrCat("train: loss is ", l, " at step ", step + 1,
                                              "; try a lower --lr"));
    }
    if (step == 0) result.first_loss = l;
    if (step >= tail_from) {
      tail_sum += l;
      ++tail_n;
    }
    const auto now = std::chrono::steady_clock::now();
    const double elapsed = std::chrono::duration<double>(now - start).count();
    const double tps = double((step + 1) * o.batch * o.context) / std::max(elapsed, 1e-9);
    result.tokens_per_s = tps;
    if (o.progress != nullptr &&
        (now - last_print > std::chrono::milliseconds(250) || step + 1 == o.steps)) {
      last_print = now;
      constexpr int kWidth = 30;
      const int filled = static_cast<int>(kWidth * (step + 1) / o.steps);
      const double eta = elapsed / double(step + 1) * double(o.steps - step - 1);
      *o.progress << absl::StrFormat("\r[%s%s] step %d/%d loss %.4f %.1fk tok/s ETA %s ",
                                     std::string(filled, '='), std::string(kWidth - filled, ' '),
                                     step + 1, o.steps, l, tps / 1000.0, Clock(eta))
                  << std::flush;
    }
    if (o.checkpoint_every > 0 && (step + 1) % o.checkpoint_every == 0 && step + 1 < o.steps) {
      facts.steps = static_cast<uint64_t>(step + 1);
      facts.train_loss = l;
      absl::StatusOr<Hash256> h = SaveCheckpoint(model, facts, o.out_dir);
      if (!h.ok()) return h.status();
    }
  }
  if (o.progress != nullptr) *o.progress << "\n";
  result.train_loss = tail_sum / double(std::max<int64_t>(1, tail_n));
  result.holdout_loss = HoldoutLoss(model, holdout, o.context, o.eval_windows, device);
  facts.steps = static_cast<uint64_t>(o.steps);
  facts.train_loss = result.train_loss;
  facts.holdout_loss = result.holdout_loss;
  model->eval();
  absl::StatusOr<Hash256> h = SaveCheckpoint(model, facts, o.out_dir);
  if (!h.ok()) return h.status();
  result.content_hash = *h;
  return result;
}

}  // namespace agora::miner
