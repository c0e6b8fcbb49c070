#include "miner/gpt.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <sstream>
#include <thread>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/file_util.h"
#include "common/malloc_tuning.h"
#include "miner/kv_slots.h"
#include "miner/torch_batch.h"
#include "scoring/token_logprobs.h"

namespace agora::miner {
namespace {

constexpr size_t kMaxConfigBytes = 1u << 20;
constexpr size_t kMaxWeightsBytes = 4ull << 30;

absl::Status BadConfig(absl::string_view field, absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat("gpt config: ", field, ": ", why));
}

void InitWeights(torch::nn::Module& m) {
  torch::NoGradGuard no_grad;
  for (auto& p : m.named_parameters()) {
    const std::string& name = p.key();
    if (name.size() >= 4 && name.compare(name.size() - 4, 4, "bias") == 0) {
      p.value().zero_();
    } else if (name.find("ln") != std::string::npos) {
      p.value().fill_(1.0);
    } else {
      p.value().normal_(0.0, 0.02);
    }
  }
}

// A host vector of int64 as a tensor of `shape` on `device`.
torch::Tensor OnDevice(std::vector<int64_t>& v, torch::IntArrayRef shape, torch::Device device) {
  return torch::from_blob(v.data(), shape, torch::kLong).to(device, /*non_blocking=*/false,
                                                           /*copy=*/true);
}

// Each row's window, its last `context` tokens, after checking the batch: not
// empty, no empty row, every id < vocab. InvalidArgument naming the row otherwise.
absl::StatusOr<std::vector<absl::Span<const uint32_t>>> ContextWindows(
    const std::vector<std::vector<uint32_t>>& rows, uint32_t vocab, uint32_t context) {
  if (rows.empty()) return absl::InvalidArgumentError("batch: no rows");
  std::vector<absl::Span<const uint32_t>> window(rows.size());
  for (size_t i = 0; i < rows.size(); ++i) {
    if (rows[i].empty()) return absl::InvalidArgumentError(absl::StrCat("rows[", i, "]: empty"));
    const size_t skip = rows[i].size() - std::min<size_t>(rows[i].size(), context);
    window[i] = absl::MakeConstSpan(rows[i]).subspan(skip);
    for (size_t j = 0; j < window[i].size(); ++j) {
      if (window[i][j] >= vocab) {
        return absl::InvalidArgumentError(
            absl::StrCat("rows[", i, "][", skip + j, "]: token ", window[i][j], " >= vocab ", vocab));
      }
    }
  }
  return window;
}

class GptBackend : public ModelBackend {
 public:
  GptBackend(LoadedGpt loaded, torch::Device device, size_t kv_cache_bytes)
      : model_(std::move(loaded.model)),
        hash_(loaded.hash),
        device_(device),
        slots_(kv_cache_bytes / SlotBytes(model_->config())) {
    model_->to(device_);
    model_->eval();
  }

  absl::StatusOr<Logits> NextTokenLogits(
      const std::vector<std::vector<uint32_t>>& rows) override {
    absl::StatusOr<PaddedBatch> batch = PadRows(rows, vocab_size(), max_context(), device_);
    if (!batch.ok()) return batch.status();
    try {
      torch::InferenceMode guard;
      torch::Tensor hidden = model_->Hidden(batch->ids);  // [B, T, D]
      torch::Tensor rows_idx = torch::arange(hidden.size(0), batch->last.options());
      torch::Tensor last = hidden.index({rows_idx, batch->last});  // [B, D]
      return ToLogits(model_->Head(last));
    } catch (const std::exception& e) {
      return absl::InternalError(absl::StrCat("gpt forward: ", e.what()));
    }
  }
  absl::StatusOr<Logits> DecodeStep(const std::vector<std::vector<uint32_t>>& rows,
                                    const std::vector<uint64_t>& sequences) override {
    // Each row's window: its last max_context() tokens (as NextTokenLogits).
    absl::StatusOr<std::vector<absl::Span<const uint32_t>>> windows =
        ContextWindows(rows, vocab_size(), max_context());
    if (!windows.ok()) return windows.status();
    if (sequences.size() != rows.size()) {
      return absl::InvalidArgumentError("batch: not one sequence per row");
    }
    const std::vector<absl::Span<const uint32_t>>& window = *windows;
    const KvSlots::Plan plan = slots_.Assign(window, sequences);
    try {
      torch::InferenceMode guard;
      EnsureStore(slots_.size());
      Logits out = ToLogits(model_->Head(StepRows(window, plan)));
      slots_.Commit(plan, window);
      return out;
    } catch (const std::exception& e) {
      slots_.Abort(plan);
      return absl::InternalError(absl::StrCat("gpt forward: ", e.what()));
    }
  }
  void EndSequence(uint64_t sequence) override { slots_.EndSequence(sequence); }

  absl::StatusOr<std::vector<std::vector<float>>> TokenLogprobs(
      const std::vector<std::vector<uint32_t>>& rows, const std::vector<size_t>& from) override {
    // Long rows are refused (not cut, as NextTokenLogits does): a cut would
    // change the log-probabilities the caller asked about.
    absl::Status s = scoring::CheckTokenLogprobsRequest(rows, from, vocab_size(), max_context());
    if (!s.ok()) return s;
    absl::StatusOr<PaddedBatch> batch = PadRows(rows, vocab_size(), max_context(), device_);
    if (!batch.ok()) return batch.status();
    try {
      torch::InferenceMode guard;
      torch::Tensor logits = model_->forward(batch->ids);  // [B, T, V]
      return scoring::SliceTokenLogprobs(scoring::TokenLogprobs(logits, batch->ids), rows, from);
    } catch (const std::exception& e) {
      return absl::InternalError(absl::StrCat("gpt forward: ", e.what()));
    }
  }
  // One forward pass over the rows when they fit the context (a row's
  // logits at position t-1 are those after row[<t]); rows that do not fit
  // were generated with a sliding window, which the default reproduces.
  absl::StatusOr<std::vector<Logits>> PositionLogits(
      const std::vector<std::vector<uint32_t>>& rows, const std::vector<size_t>& from) override {
    bool fits = !rows.empty() && rows.size() == from.size();
    for (size_t i = 0; fits && i < rows.size(); ++i) {
      fits = rows[i].size() <= max_context() && from[i] >= 1 && from[i] <= rows[i].size();
    }
    if (!fits) return ModelBackend::PositionLogits(rows, from);
    absl::StatusOr<PaddedBatch> batch = PadRows(rows, vocab_size(), max_context(), device_);
    if (!batch.ok()) return batch.status();
    try {
      torch::InferenceMode guard;
      torch::Tensor logits = model_->forward(batch->ids).to(torch::kCPU, torch::kFloat).contiguous();
      const int64_t vocab = logits.size(2);
      std::vector<Logits> out(rows.size());
      for (size_t i = 0; i < rows.size(); ++i) {
        const int64_t first = int64_t(from[i]) - 1, n = int64_t(rows[i].size() - from[i]);
        out[i].rows = size_t(n);
        out[i].vocab = size_t(vocab);
        const float* p = logits[int64_t(i)].data_ptr<float>() + first * vocab;
        out[i].data.assign(p, p + n * vocab);
      }
      return out;
    } catch (const std::exception& e) {
      return absl::InternalError(absl::StrCat("gpt forward: ", e.what()));
    }
  }
  uint32_t vocab_size() const override { return static_cast<uint32_t>(model_->config().vocab); }
  uint32_t max_context() const override { return static_cast<uint32_t>(model_->config().context); }
  const Hash256& content_hash() const override { return hash_; }
  std::string device() const override { return device_.is_cuda() ? "cuda" : "cpu"; }
  std::string Describe() const override {
    const GptConfig& c = model_->config();
    int64_t params = 0;
    for (const auto& p : model_->parameters()) params += p.numel();
    return absl::StrCat("gpt layers=", c.layers, " dim=", c.dim, " heads=", c.heads,
                        " context=", c.context, " vocab=", c.vocab, " params=", params, " on ",
                        device(), " hash=", ToHex(hash_));
  }

 private:
  // One slot: keys and values of every layer at every position, float32.
  static size_t SlotBytes(const GptConfig& c) {
    return static_cast<size_t>(2 * c.layers * c.context * c.dim) * sizeof(float);
  }

  // Makes room for `slots` slots, keeping what the store holds. Doubling, so
  // growth is rare; at most the cache size unless one step needs more.
  void EnsureStore(size_t slots) {
    const int64_t have = keys_.empty() ? 0 : keys_[0].size(0);
    if (static_cast<int64_t>(slots) <= have) return;
    const GptConfig& c = model_->config();
    const size_t cap = std::max<size_t>(slots, slots_.max_slots());
    const int64_t want = static_cast<int64_t>(
        std::min<size_t>(std::max<size_t>({slots, 2 * static_cast<size_t>(have), 8}), cap));
    for (size_t l = 0; l < static_cast<size_t>(c.layers); ++l) {
      for (std::vector<torch::Tensor>* store : {&keys_, &values_}) {
        torch::Tensor grown = torch::zeros({want, c.context, c.heads, c.dim / c.heads},
                                           torch::TensorOptions().device(device_));
        if (have > 0) grown.narrow(0, 0, have).copy_((*store)[l]);
        if (store->size() <= l) store->push_back(grown); else (*store)[l] = grown;
      }
    }
  }

  // One incremental pass over the step's rows: each adds its tokens from
  // plan.start on (KvStepIndex). -> the hidden state of each row's last
  // token, [rows, D].
  torch::Tensor StepRows(const std::vector<absl::Span<const uint32_t>>& window,
                         const KvSlots::Plan& plan) {
    auto adds = [&](size_t i) { return static_cast<int64_t>(window[i].size() - plan.start[i]); };
    // Attention groups: rows adding one token (generations under way), then
    // rows adding several (prompts, predict prefixes).
    std::vector<std::vector<size_t>> groups(2);
    for (size_t i = 0; i < window.size(); ++i) groups[adds(i) == 1 ? 0 : 1].push_back(i);
    std::vector<int64_t> ids, positions, dst_slot, last(window.size());
    KvStepIndex idx;
    for (const std::vector<size_t>& rows : groups) {
      if (rows.empty()) continue;
      KvAttendGroup g;
      g.first = static_cast<int64_t>(ids.size());
      g.rows = static_cast<int64_t>(rows.size());
      for (size_t i : rows) {
        g.width = std::max(g.width, adds(i));
        g.span = std::max<int64_t>(g.span, window[i].size());
      }
      std::vector<int64_t> slots, starts, padded;
      for (size_t r = 0; r < rows.size(); ++r) {
        const size_t i = rows[r];
        const int64_t start = static_cast<int64_t>(plan.start[i]);
        slots.push_back(static_cast<int64_t>(plan.slot[i]));
        starts.push_back(start);
        for (int64_t j = 0; j < adds(i); ++j) {
          ids.push_back(window[i][start + j]);
          positions.push_back(start + j);
          dst_slot.push_back(slots.back());
          padded.push_back(static_cast<int64_t>(r) * g.width + j);
        }
        last[i] = static_cast<int64_t>(ids.size()) - 1;
      }
      g.tokens = static_cast<int64_t>(ids.size()) - g.first;
      g.slots = OnDevice(slots, {g.rows}, device_);
      if (g.tokens != g.rows * g.width) g.padded = OnDevice(padded, {g.tokens}, device_);
      // Query j of row r sits at starts[r] + j and sees positions up to it.
      torch::Tensor query_pos = OnDevice(starts, {g.rows, 1}, device_) +
                                torch::arange(g.width, g.slots.options()).view({1, g.width});
      g.masked = (torch::arange(g.span, g.slots.options()).view({1, 1, g.span}) >
                  query_pos.unsqueeze(-1))
                     .unsqueeze(1);
      idx.groups.push_back(std::move(g));
    }
    const int64_t tokens = static_cast<int64_t>(ids.size());
    idx.positions = OnDevice(positions, {tokens}, device_);
    idx.dst_slot = OnDevice(dst_slot, {tokens}, device_);
    idx.last = OnDevice(last, {static_cast<int64_t>(window.size())}, device_);
    torch::Tensor hidden = model_->HiddenStep(OnDevice(ids, {tokens}, device_), keys_, values_, idx);
    return hidden.index_select(0, idx.last);
  }

  Gpt model_;
  Hash256 hash_;
  torch::Device device_;
  KvSlots slots_;
  std::vector<torch::Tensor> keys_, values_;  // per layer: [slots, context, heads, head_dim]
};

}  // namespace

absl::Status GptConfig::Validate() const {
  if (vocab < 2 || vocab > (1 << 20)) return BadConfig("vocab", "must be in [2, 1048576]");
  if (context < 1 || context > 8192) return BadConfig("context", "must be in [1, 8192]");
  if (layers < 1 || layers > 64) return BadConfig("layers", "must be in [1, 64]");
  if (dim < 1 || dim > 8192) return BadConfig("dim", "must be in [1, 8192]");
  if (heads < 1 || heads > dim || dim % heads != 0) {
    return BadConfig("heads", "must divide dim");
  }
  if (mlp_mult < 1 || mlp_mult > 16) return BadConfig("mlp_mult", "must be in [1, 16]");
  return absl::OkStatus();
}

std::string GptConfig::ToJson() const {
  return absl::StrCat("{\"vocab\":", vocab, ",\"context\":", context, ",\"layers\":", layers,
                      ",\"dim\":", dim, ",\"heads\":", heads, ",\"mlp_mult\":", mlp_mult,
                      ",\"tied_head\":", tied_head ? "true" : "false", "}");
}

BlockImpl::BlockImpl(const GptConfig& c) : heads_(c.heads) {
  ln1_ = register_module("ln1", torch::nn::LayerNorm(torch::nn::LayerNormOptions({c.dim})));
  qkv_ = register_module("qkv", torch::nn::Linear(c.dim, 3 * c.dim));
  proj_ = register_module("proj", torch::nn::Linear(c.dim, c.dim));
  ln2_ = register_module("ln2", torch::nn::LayerNorm(torch::nn::LayerNormOptions({c.dim})));
  fc_ = register_module("fc", torch::nn::Linear(c.dim, c.mlp_mult * c.dim));
  out_ = register_module("out", torch::nn::Linear(c.mlp_mult * c.dim, c.dim));
}

torch::Tensor BlockImpl::forward(const torch::Tensor& x) {
  const int64_t b = x.size(0), t = x.size(1), d = x.size(2), hd = d / heads_;
  torch::Tensor qkv = qkv_(ln1_(x)).view({b, t, 3, heads_, hd}).permute({2, 0, 3, 1, 4});
  torch::Tensor q = qkv[0], k = qkv[1], v = qkv[2];  // [B, H, T, hd]
  torch::Tensor att = torch::matmul(q, k.transpose(-2, -1)) * (1.0 / std::sqrt(double(hd)));
  // Causal mask: position i attends to positions <= i only.
  torch::Tensor future = torch::ones({t, t}, x.options().dtype(torch::kBool)).triu(1);
  att = torch::softmax(att.masked_fill(future, -std::numeric_limits<float>::infinity()), -1);
  return Finish(x, torch::matmul(att, v).transpose(1, 2).reshape({b, t, d}));
}

torch::Tensor BlockImpl::Step(const torch::Tensor& x, torch::Tensor& k_store,
                              torch::Tensor& v_store, const KvStepIndex& idx) {
  const int64_t t = x.size(0), d = x.size(1), hd = d / heads_;
  torch::Tensor qkv = qkv_(ln1_(x)).view({t, 3, heads_, hd});  // packed: no padding
  // The new tokens' keys and values go to their slots and positions...
  k_store.index_put_({idx.dst_slot, idx.positions}, qkv.select(1, 1));
  v_store.index_put_({idx.dst_slot, idx.positions}, qkv.select(1, 2));
  // ...and each query, laid out by row, attends over its row's stored
  // positions up to its own.
  const torch::Tensor queries = qkv.select(1, 0);  // [T, H, hd]
  std::vector<torch::Tensor> ys;
  for (const KvAttendGroup& g : idx.groups) {
    const int64_t r = g.rows, n = g.width;
    torch::Tensor q = queries.narrow(0, g.first, g.tokens);
    if (g.padded.defined()) {
      q = torch::zeros({r * n, heads_, hd}, x.options()).index_copy_(0, g.padded, q);
    }
    q = q.reshape({r, n, heads_, hd}).transpose(1, 2);  // [R, H, N, hd]
    torch::Tensor k = k_store.narrow(1, 0, g.span).index_select(0, g.slots);  // [R, M, H, hd]
    torch::Tensor v = v_store.narrow(1, 0, g.span).index_select(0, g.slots);
    torch::Tensor att = torch::matmul(q, k.permute({0, 2, 3, 1})) * (1.0 / std::sqrt(double(hd)));
    att = torch::softmax(att.masked_fill(g.masked, -std::numeric_limits<float>::infinity()), -1);
    torch::Tensor y = torch::matmul(att, v.transpose(1, 2)).transpose(1, 2).reshape({r * n, d});
    ys.push_back(g.padded.defined() ? y.index_select(0, g.padded) : y);  // back to packed
  }
  return Finish(x, ys.size() == 1 ? ys[0] : torch::cat(ys, 0));
}

torch::Tensor BlockImpl::Finish(const torch::Tensor& x, const torch::Tensor& y) {
  torch::Tensor h = x + proj_(y);
  return h + out_(torch::gelu(fc_(ln2_(h))));
}

GptImpl::GptImpl(const GptConfig& c) : config_(c) {
  tok_ = register_module("tok", torch::nn::Embedding(c.vocab, c.dim));
  pos_ = register_module("pos", torch::nn::Embedding(c.context, c.dim));
  blocks_ = register_module("blocks", torch::nn::ModuleList());
  for (int64_t i = 0; i < c.layers; ++i) blocks_->push_back(Block(c));
  ln_f_ = register_module("ln_f", torch::nn::LayerNorm(torch::nn::LayerNormOptions({c.dim})));
  if (!c.tied_head) {
    head_ = register_module("head", torch::nn::Linear(torch::nn::LinearOptions(c.dim, c.vocab).bias(false)));
  }
  InitWeights(*this);
}

torch::Tensor GptImpl::Hidden(const torch::Tensor& ids) {
  const int64_t t = ids.size(1);
  torch::Tensor pos = torch::arange(t, ids.options().dtype(torch::kLong));
  torch::Tensor x = tok_(ids) + pos_(pos).unsqueeze(0);
  for (const auto& block : *blocks_) x = block->as<BlockImpl>()->forward(x);
  return ln_f_(x);
}

torch::Tensor GptImpl::HiddenStep(const torch::Tensor& ids, std::vector<torch::Tensor>& keys,
                                  std::vector<torch::Tensor>& values, const KvStepIndex& idx) {
  torch::Tensor x = tok_(ids) + pos_(idx.positions);
  size_t layer = 0;
  for (const auto& block : *blocks_) {
    x = block->as<BlockImpl>()->Step(x, keys[layer], values[layer], idx);
    ++layer;
  }
  return ln_f_(x);
}

torch::Tensor GptImpl::Head(const torch::Tensor& hidden) {
  if (config_.tied_head) return torch::matmul(hidden, tok_->weight.t());
  return head_(hidden);
}

torch::Tensor GptImpl::forward(const torch::Tensor& ids) { return Head(Hidden(ids)); }

Hash256 GptContentHash(Gpt& model) {
  std::string bytes = "agora-gpt-v1\n" + model->config().ToJson() + "\n";
  for (const auto& p : model->named_parameters()) {
    torch::Tensor t = p.value().detach().to(torch::kCPU, torch::kFloat).contiguous();
    absl::StrAppend(&bytes, p.key(), "[");
    for (int64_t s : t.sizes()) absl::StrAppend(&bytes, s, ",");
    absl::StrAppend(&bytes, "]");
    bytes.append(reinterpret_cast<const char*>(t.data_ptr<float>()), t.numel() * sizeof(float));
  }
  return Blake2b256(bytes);
}

absl::StatusOr<Hash256> SaveCheckpoint(Gpt& model, const TrainFacts& facts,
                                       const std::string& dir) {
  absl::Status s = MakeDirs(dir, 0755);
  if (!s.ok()) return s;
  const Hash256 hash = GptContentHash(model);
  std::ostringstream weights;
  try {
    torch::serialize::OutputArchive archive;
    for (const auto& p : model->named_parameters()) {
      archive.write(p.key(), p.value().detach().to(torch::kCPU));
    }
    archive.save_to(weights);
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("saving weights: ", e.what()));
  }
  s = WriteFileAtomic(dir + "/weights.pt", weights.str(), 0644);
  if (!s.ok()) return s;
  nlohmann::ordered_json j;
  j["format"] = "agora-gpt-v1";
  j["config"] = nlohmann::ordered_json::parse(model->config().ToJson());
  j["content_hash"] = ToHex(hash);
  j["train"] = {{"steps", facts.steps},
                {"seed", facts.seed},
                {"train_loss", facts.train_loss},
                {"holdout_loss", facts.holdout_loss},
                {"corpus", facts.corpus}};
  s = WriteFileAtomic(dir + "/config.json", j.dump(2) + "\n", 0644);
  if (!s.ok()) return s;
  return hash;
}

LoadedGpt FreshGpt(const GptConfig& config, uint64_t seed) {
  torch::manual_seed(seed);
  LoadedGpt out;
  out.model = Gpt(config);
  out.hash = GptContentHash(out.model);
  return out;
}

Hash256 PerturbWeights(Gpt& model, double scale, uint64_t seed) {
  torch::manual_seed(seed);
  torch::NoGradGuard no_grad;
  for (auto& p : model->named_parameters()) {
    torch::Tensor w = p.value();
    const double sd = w.numel() > 1 ? w.std().item<double>() : std::fabs(w.item<double>());
    w.add_(torch::randn_like(w) * (scale * sd));
  }
  return GptContentHash(model);
}

absl::StatusOr<Hash256> WritePerturbedCopy(const std::string& from, double scale, uint64_t seed,
                                           const std::string& to) {
  absl::StatusOr<LoadedGpt> done = LoadCheckpoint(to);
  if (done.ok()) return done->hash;
  absl::StatusOr<LoadedGpt> source = LoadCheckpoint(from);
  if (!source.ok()) return source.status();
  PerturbWeights(source->model, scale, seed);
  return SaveCheckpoint(source->model, source->facts, to);
}

absl::StatusOr<LoadedGpt> LoadCheckpoint(const std::string& dir) {
  absl::StatusOr<std::string> text = ReadFile(dir + "/config.json", kMaxConfigBytes);
  if (!text.ok()) return text.status();
  GptConfig c;
  TrainFacts facts;
  std::string recorded;
  try {
    nlohmann::json j = nlohmann::json::parse(*text);
    if (j.value("format", "") != "agora-gpt-v1") {
      return absl::InvalidArgumentError(dir + "/config.json: format is not agora-gpt-v1");
    }
    const nlohmann::json& jc = j.at("config");
    c.vocab = jc.at("vocab").get<int64_t>();
    c.context = jc.at("context").get<int64_t>();
    c.layers = jc.at("layers").get<int64_t>();
    c.dim = jc.at("dim").get<int64_t>();
    c.heads = jc.at("heads").get<int64_t>();
    c.mlp_mult = jc.at("mlp_mult").get<int64_t>();
    c.tied_head = jc.at("tied_head").get<bool>();
    recorded = j.at("content_hash").get<std::string>();
    if (j.contains("train")) {
      const nlohmann::json& t = j["train"];
      facts.steps = t.value("steps", uint64_t{0});
      facts.seed = t.value("seed", uint64_t{0});
      facts.train_loss = t.value("train_loss", 0.0);
      facts.holdout_loss = t.value("holdout_loss", 0.0);
      facts.corpus = t.value("corpus", "");
    }
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat(dir, "/config.json: ", e.what()));
  }
  absl::Status s = c.Validate();
  if (!s.ok()) return s;
  absl::StatusOr<std::string> weights = ReadFile(dir + "/weights.pt", kMaxWeightsBytes);
  if (!weights.ok()) return weights.status();
  LoadedGpt out;
  out.facts = facts;
  try {
    out.model = Gpt(c);
    torch::serialize::InputArchive archive;
    archive.load_from(weights->data(), weights->size());
    torch::NoGradGuard no_grad;
    for (auto& p : out.model->named_parameters()) {
      torch::Tensor t;
      if (!archive.try_read(p.key(), t)) {
        return absl::DataLossError(absl::StrCat(dir, "/weights.pt: missing ", p.key()));
      }
      if (t.sizes() != p.value().sizes()) {
        return absl::DataLossError(absl::StrCat(dir, "/weights.pt: ", p.key(), " has the wrong shape"));
      }
      p.value().copy_(t);
    }
  } catch (const std::exception& e) {
    return absl::DataLossError(absl::StrCat(dir, "/weights.pt: ", e.what()));
  }
  out.hash = GptContentHash(out.model);
  if (ToHex(out.hash) != recorded) {
    return absl::DataLossError(absl::StrCat(dir, ": content hash ", ToHex(out.hash),
                                            " differs from the recorded ", recorded));
  }
  return out;
}

torch::Device ServingDevice(bool force_cpu) {
  return (!force_cpu && torch::cuda::is_available()) ? torch::Device(torch::kCUDA)
                                                     : torch::Device(torch::kCPU);
}

void SetUpTorchProcess() {
  static const bool once = [] {
    KeepFreedMemoryForReuse();
    int n = static_cast<int>(std::thread::hardware_concurrency());
    // AGORA_TORCH_THREADS overrides (tests and shared machines use 1: OpenMP
    // threads spin at barriers, which costs dearly when cores are contended).
    if (const char* env = std::getenv("AGORA_TORCH_THREADS")) {
      int v = 0;
      if (absl::SimpleAtoi(env, &v) && v > 0 && v <= 1024) n = v;
    }
    if (n > 0) torch::set_num_threads(n);
    return true;
  }();
  (void)once;
}

std::unique_ptr<ModelBackend> MakeGptBackend(LoadedGpt loaded, torch::Device device,
                                             size_t kv_cache_bytes) {
  return std::make_unique<GptBackend>(std::move(loaded), device, kv_cache_bytes);
}

absl::StatusOr<PaddedBatch> PadRows(const std::vector<std::vector<uint32_t>>& rows,
                                    uint32_t vocab, uint32_t context, torch::Device device) {
  absl::StatusOr<std::vector<absl::Span<const uint32_t>>> window =
      ContextWindows(rows, vocab, context);
  if (!window.ok()) return window.status();
  size_t t = 0;
  for (const absl::Span<const uint32_t>& w : *window) t = std::max(t, w.size());
  std::vector<int64_t> ids(rows.size() * t, 0);
  std::vector<int64_t> last(rows.size());
  for (size_t i = 0; i < rows.size(); ++i) {
    std::copy((*window)[i].begin(), (*window)[i].end(), ids.begin() + i * t);
    last[i] = static_cast<int64_t>((*window)[i].size()) - 1;
  }
  PaddedBatch b;
  const int64_t bs = static_cast<int64_t>(rows.size());
  b.ids = OnDevice(ids, {bs, static_cast<int64_t>(t)}, device);
  b.last = OnDevice(last, {bs}, device);
  return b;
}

Logits ToLogits(const torch::Tensor& logits) {
  torch::Tensor t = logits.detach().to(torch::kCPU, torch::kFloat).contiguous();
  Logits out;
  out.rows = static_cast<size_t>(t.size(0));
  out.vocab = static_cast<size_t>(t.size(1));
  out.data.assign(t.data_ptr<float>(), t.data_ptr<float>() + t.numel());
  return out;
}

}  // namespace agora::miner
