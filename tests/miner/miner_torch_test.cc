// Tests of the LibTorch parts of the miner: the GPT (shapes, causal masking,
// batched == unbatched with padding), checkpoints and their content hash,
// reproducible training, the TorchScript backend (with a module built here in
// C++, so no Python is needed), the miner service answering real signed
// requests over loopback (and a copycat relaying it), and the flags. Few
// cases on purpose: each is a torch process.
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <algorithm>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <torch/script.h>
#include <torch/torch.h>

#include "common/address.h"
#include "common/file_util.h"
#include "miner/copy_source.h"
#include "miner/copycat.h"
#include "miner/gpt.h"
#include "miner/miner.h"
#include "cli/config_file.h"
#include "miner/miner_flags.h"
#include "miner/train.h"
#include "protocol/messages.h"
#include "protocol/task_messages.h"
#include "protocol/zmq_client.h"
#include "tests/test_seed.h"

namespace agora::miner {
namespace {

namespace fs = std::filesystem;

std::string TempDir(const std::string& name) {
  fs::path p = fs::temp_directory_path() /
               ("agora_miner_test_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(p);
  fs::create_directories(p);
  return p.string();
}

GptConfig TinyConfig() {
  GptConfig c;
  c.context = 32;
  c.layers = 2;
  c.dim = 32;
  c.heads = 4;
  return c;
}

float MaxAbsDiff(absl::Span<const float> a, absl::Span<const float> b) {
  float m = 0;
  for (size_t i = 0; i < a.size(); ++i) m = std::max(m, std::fabs(a[i] - b[i]));
  return m;
}

TEST(GptTest, ShapesCausalityAndBatchedEqualsUnbatched) {
  torch::manual_seed(static_cast<uint64_t>(testing::TestSeed()));
  Gpt model(TinyConfig());
  model->eval();
  torch::NoGradGuard no_grad;
  torch::Tensor ids = torch::randint(0, 256, {2, 10}, torch::kLong);
  torch::Tensor logits = model->forward(ids);
  EXPECT_EQ(logits.sizes().vec(), (std::vector<int64_t>{2, 10, 256}));
  // Causal: changing token 7 leaves the logits of positions 0..6 unchanged.
  torch::Tensor changed = ids.clone();
  changed[0][7] = (changed[0][7].item<int64_t>() + 1) % 256;
  torch::Tensor logits2 = model->forward(changed);
  EXPECT_TRUE(torch::allclose(logits.slice(1, 0, 7), logits2.slice(1, 0, 7), 0, 1e-6));
  EXPECT_FALSE(torch::allclose(logits.slice(1, 7, 8), logits2.slice(1, 7, 8)));

  // Batched (right-padded, one forward) == one row at a time, including a
  // row longer than the context (cut to its last 32 tokens).
  LoadedGpt loaded;
  loaded.model = model;
  loaded.hash = GptContentHash(model);
  std::unique_ptr<ModelBackend> backend = MakeGptBackend(std::move(loaded), torch::kCPU);
  std::vector<std::vector<uint32_t>> rows = {{1}, {5, 6, 7, 8, 9}, {}, {}};
  for (uint32_t i = 0; i < 17; ++i) rows[2].push_back(i * 13 % 256);
  for (uint32_t i = 0; i < 40; ++i) rows[3].push_back(i * 7 % 256);
  absl::StatusOr<Logits> batched = backend->NextTokenLogits(rows);
  ASSERT_TRUE(batched.ok()) << batched.status();
  ASSERT_EQ(batched->rows, 4u);
  ASSERT_EQ(batched->vocab, 256u);
  for (size_t i = 0; i < rows.size(); ++i) {
    absl::StatusOr<Logits> single = backend->NextTokenLogits({rows[i]});
    ASSERT_TRUE(single.ok());
    EXPECT_LT(MaxAbsDiff(batched->Row(i), single->Row(0)), 1e-5f) << "row " << i;
  }
  // The same row through the full forward: logits at its last position.
  torch::Tensor row1 = torch::tensor(std::vector<int64_t>{5, 6, 7, 8, 9}).unsqueeze(0);
  torch::Tensor full = model->forward(row1)[0][4].contiguous();
  EXPECT_LT(MaxAbsDiff(batched->Row(1), {full.data_ptr<float>(), 256}), 1e-5f);
  // Hostile rows are refused, not crashed on.
  EXPECT_FALSE(backend->NextTokenLogits({}).ok());
  EXPECT_FALSE(backend->NextTokenLogits({{}}).ok());
  EXPECT_FALSE(backend->NextTokenLogits({{1, 256}}).ok());
}

// Generations through DecodeStep (keys and values cached between steps,
// slots evicted, rows sliding past the context, rows that do not extend
// their sequence, rows with no sequence) give the full forward's logits.
TEST(GptTest, DecodeStepWithItsCacheEqualsTheFullForward) {
  torch::manual_seed(static_cast<uint64_t>(testing::TestSeed()) + 1);
  Gpt model(TinyConfig());
  {
    // Larger weights than the init's, so the logits differ clearly by context.
    torch::NoGradGuard no_grad;
    for (auto& p : model->parameters()) p.normal_(0.0, 0.3);
  }
  model->eval();
  LoadedGpt loaded;
  loaded.model = model;
  loaded.hash = GptContentHash(model);
  const size_t slot_bytes = 2 * 2 * 32 * 32 * sizeof(float);  // layers, K and V, context, dim
  std::unique_ptr<ModelBackend> backend =
      MakeGptBackend(std::move(loaded), torch::kCPU, 3 * slot_bytes);  // 3 slots: evictions
  std::mt19937 rng(static_cast<uint32_t>(testing::TestSeed()));
  std::vector<std::vector<uint32_t>> seqs(5);
  for (size_t s = 0; s < seqs.size(); ++s) {
    for (size_t j = 0; j <= 3 * s; ++j) seqs[s].push_back(rng() % 256);
  }
  float worst = 0;
  for (int step = 0; step < 45; ++step) {  // rows grow past the context (32)
    std::vector<std::vector<uint32_t>> rows;
    std::vector<uint64_t> ids;
    for (size_t s = 0; s < seqs.size(); ++s) {
      if (rng() % 4 == 0) continue;  // not every sequence in every step
      rows.push_back(seqs[s]);
      ids.push_back(s + 1);
    }
    rows.push_back({static_cast<uint32_t>(rng() % 256), 7, 9});  // no sequence
    ids.push_back(0);
    if (step == 20) {
      seqs[0][1] ^= 1;  // a row that no longer extends what was cached
      rows.push_back(seqs[0]);
      ids.push_back(1);
    }
    absl::StatusOr<Logits> got = backend->DecodeStep(rows, ids);
    ASSERT_TRUE(got.ok()) << got.status();
    ASSERT_EQ(got->rows, rows.size());
    absl::StatusOr<Logits> want = backend->NextTokenLogits(rows);
    ASSERT_TRUE(want.ok());
    for (size_t i = 0; i < rows.size(); ++i) {
      worst = std::max(worst, MaxAbsDiff(got->Row(i), want->Row(i)));
    }
    for (size_t i = 0; i < rows.size(); ++i) {
      if (ids[i] == 0) continue;
      auto row = got->Row(i);
      seqs[ids[i] - 1].push_back(std::max_element(row.begin(), row.end()) - row.begin());
    }
    if (step == 30) backend->EndSequence(2);
  }
  EXPECT_LT(worst, 1e-4f);
  // Logits that do depend on the context, so the comparison above means something.
  absl::StatusOr<Logits> a = backend->NextTokenLogits({{1, 2, 3}}), b = backend->NextTokenLogits({{4, 2, 3}});
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_GT(MaxAbsDiff(a->Row(0), b->Row(0)), 1e-2f);
  // Hostile steps are refused, and the backend keeps serving.
  EXPECT_FALSE(backend->DecodeStep({}, {}).ok());
  EXPECT_FALSE(backend->DecodeStep({{1}}, {}).ok());
  EXPECT_FALSE(backend->DecodeStep({{}}, {1}).ok());
  EXPECT_FALSE(backend->DecodeStep({{1, 256}}, {1}).ok());
  EXPECT_TRUE(backend->DecodeStep({seqs[3]}, {4}).ok());
}

TEST(GptTest, CheckpointRoundTripKeepsHashAndRefusesTampering) {
  const std::string dir = TempDir("ckpt");
  torch::manual_seed(7);
  Gpt model(TinyConfig());
  TrainFacts facts;
  facts.steps = 3;
  absl::StatusOr<Hash256> hash = SaveCheckpoint(model, facts, dir);
  ASSERT_TRUE(hash.ok()) << hash.status();
  EXPECT_EQ(*hash, GptContentHash(model));
  absl::StatusOr<LoadedGpt> loaded = LoadCheckpoint(dir);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(loaded->hash, *hash);
  EXPECT_EQ(loaded->facts.steps, 3u);
  // Saving the loaded model again gives the same hash.
  absl::StatusOr<Hash256> again = SaveCheckpoint(loaded->model, facts, dir + "/again");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, *hash);
  // Another seed is another model.
  torch::manual_seed(8);
  Gpt other(TinyConfig());
  EXPECT_NE(GptContentHash(other), *hash);

  // Tampered weights: the recomputed hash no longer matches the record.
  absl::StatusOr<std::string> w = ReadFile(dir + "/weights.pt", 1u << 30);
  ASSERT_TRUE(w.ok());
  torch::manual_seed(8);
  ASSERT_TRUE(SaveCheckpoint(other, facts, dir + "/other").ok());
  fs::copy_file(dir + "/other/weights.pt", dir + "/weights.pt", fs::copy_options::overwrite_existing);
  EXPECT_TRUE(absl::IsDataLoss(LoadCheckpoint(dir).status())) << LoadCheckpoint(dir).status();
  ASSERT_TRUE(WriteFileAtomic(dir + "/weights.pt", w->substr(0, w->size() / 2)).ok());
  EXPECT_FALSE(LoadCheckpoint(dir).ok());
  ASSERT_TRUE(WriteFileAtomic(dir + "/config.json", "{not json").ok());
  EXPECT_TRUE(absl::IsInvalidArgument(LoadCheckpoint(dir).status()));
  EXPECT_TRUE(absl::IsNotFound(LoadCheckpoint(dir + "/missing").status()));
  fs::remove_all(dir);
}

std::string WriteCorpus(const std::string& dir) {
  std::string text;
  const char* lines[] = {"the quick brown fox jumps over the lazy dog\n",
                         "a stitch in time saves nine\n", "all that glitters is not gold\n",
                         "to be or not to be that is the question\n"};
  for (int i = 0; i < 200; ++i) text += lines[i % 4];
  const std::string path = dir + "/corpus.txt";
  EXPECT_TRUE(WriteFileAtomic(path, text, 0644).ok());
  return path;
}

TEST(TrainTest, SameSeedSameHashAndLossGoesDown) {
  const std::string dir = TempDir("train");
  TrainOptions o;
  o.corpus_path = WriteCorpus(dir);
  o.layers = 1;
  o.dim = 32;
  o.heads = 2;
  o.context = 32;
  o.steps = 30;
  o.batch = 8;
  o.lr = 1e-2;
  o.seed = 5;
  o.holdout_fraction = 0.1;
  o.out_dir = dir + "/a";
  o.holdout_out = dir + "/a/held.txt";  // miners serve the checkpoint: refused
  absl::StatusOr<TrainResult> inside = Train(o);
  EXPECT_TRUE(absl::IsInvalidArgument(inside.status())) << inside.status();
  o.holdout_out = dir + "/a-holdout.txt";
  absl::StatusOr<TrainResult> a = Train(o);
  ASSERT_TRUE(a.ok()) << a.status();
  o.out_dir = dir + "/b";
  absl::StatusOr<TrainResult> b = Train(o);
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(a->content_hash, b->content_hash);
  EXPECT_LT(a->train_loss, a->first_loss * 0.8) << a->first_loss << " -> " << a->train_loss;
  EXPECT_GT(a->holdout_loss, 0);
  EXPECT_GT(a->holdout_bytes, 0);
  // The held-out text is where asked, and nowhere in the served checkpoint.
  EXPECT_TRUE(fs::exists(dir + "/a-holdout.txt"));
  EXPECT_FALSE(fs::exists(dir + "/a/holdout.txt"));
  EXPECT_FALSE(fs::exists(dir + "/a/held.txt"));
  absl::StatusOr<LoadedGpt> loaded = LoadCheckpoint(dir + "/a");
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(loaded->hash, a->content_hash);
  o.seed = 6;
  o.out_dir = dir + "/c";
  absl::StatusOr<TrainResult> c = Train(o);
  ASSERT_TRUE(c.ok());
  EXPECT_NE(c->content_hash, a->content_hash);
  // Bad options are refused by name.
  o.heads = 3;
  EXPECT_TRUE(absl::IsInvalidArgument(Train(o).status()));
  fs::remove_all(dir);
}

TEST(TorchScriptTest, ServesAModuleBuiltInCpp) {
  const std::string dir = TempDir("ts");
  // A "language model" whose next-token logits are a row of a table indexed
  // by the current token: forward(ids [B,T]) -> [B,T,V].
  torch::jit::Module m("TinyLm");
  torch::manual_seed(3);
  torch::Tensor table = torch::randn({16, 16});
  m.register_parameter("table", table, /*is_buffer=*/false);
  m.define(R"JIT(
def forward(self, ids):
    return self.table.index_select(0, ids.reshape([-1])).reshape([ids.size(0), ids.size(1), -1])
)JIT");
  const std::string path = dir + "/tiny.pt";
  m.save(path);
  ModelSpec spec;
  spec.torchscript_path = path;
  spec.torchscript_context = 8;
  absl::StatusOr<std::unique_ptr<ModelBackend>> backend = LoadModel(spec);
  ASSERT_TRUE(backend.ok()) << backend.status();
  EXPECT_EQ((*backend)->vocab_size(), 16u);
  absl::StatusOr<std::string> bytes = ReadFile(path, 1u << 30);
  ASSERT_TRUE(bytes.ok());
  EXPECT_EQ((*backend)->content_hash(), Blake2b256(*bytes));
  absl::StatusOr<Logits> l = (*backend)->NextTokenLogits({{1, 2, 3}, {9}, {4, 5}});
  ASSERT_TRUE(l.ok()) << l.status();
  const uint32_t last[] = {3, 9, 5};
  for (size_t i = 0; i < 3; ++i) {
    torch::Tensor want = table[last[i]].contiguous();
    EXPECT_LT(MaxAbsDiff(l->Row(i), {want.data_ptr<float>(), 16}), 1e-6f);
  }
  EXPECT_FALSE((*backend)->NextTokenLogits({{16}}).ok());
  // Not a model, and both / neither path set: clear errors.
  ASSERT_TRUE(WriteFileAtomic(dir + "/junk.pt", "junk").ok());
  spec.torchscript_path = dir + "/junk.pt";
  EXPECT_TRUE(absl::IsInvalidArgument(LoadModel(spec).status()));
  spec.checkpoint_dir = dir;
  EXPECT_TRUE(absl::IsInvalidArgument(LoadModel(spec).status()));
  fs::remove_all(dir);
}

// The service end to end in one process: real sockets, real signatures.
TEST(MinerServiceTest, AnswersSignedRequestsAndRefusesBadOnes) {
  LoadedGpt loaded = FreshGpt(TinyConfig(), 1);
  const Hash256 hash = loaded.hash;
  auto miner_key = std::make_shared<const SigningKey>(SigningKey::Generate());
  auto validator_key = std::make_shared<const SigningKey>(SigningKey::Generate());
  auto stranger_key = std::make_shared<const SigningKey>(SigningKey::Generate());
  ServiceOptions so;
  so.endpoint = "tcp://127.0.0.1:*";
  so.workers = 8;
  so.curve = false;
  so.metrics_port = 0;
  so.batcher.max_batch = 8;
  so.max_prefixes = 8;
  MinerService service(MakeGptBackend(std::move(loaded), torch::kCPU),
                       std::make_unique<ByteTokenizer>(), miner_key, so);
  service.admission().Update({{validator_key->public_key(), 1000, true}});
  ASSERT_TRUE(service.Start().ok());
  const protocol::Peer peer{service.endpoint(), miner_key->public_key()};
  protocol::ClientOptions co;
  co.curve = false;
  auto client = protocol::Client::Create(validator_key, co);
  ASSERT_TRUE(client.ok());
  auto deadline = [] { return protocol::DeadlineAfter(std::chrono::seconds(20)); };
  using protocol::MessageKind;

  protocol::PredictRequest pr;
  pr.prefixes = {{104, 105}, {1, 2, 3, 4, 5, 6}};
  auto predicted = (*client)->CallTyped<protocol::PredictRequest, protocol::PredictReply>(
      peer, MessageKind::kPredictRequest, MessageKind::kPredictReply, pr, deadline());
  ASSERT_TRUE(predicted.ok()) << predicted.status();
  EXPECT_EQ(predicted->model_hash, hash);
  ASSERT_EQ(predicted->distributions.size(), 2u);
  EXPECT_EQ(predicted->distributions[0].probs.size(), 256u);

  protocol::GenerateRequest gr;
  gr.prompt = "hello";
  gr.max_tokens = 5;
  gr.seed = 9;
  auto generated = (*client)->CallTyped<protocol::GenerateRequest, protocol::GenerateReply>(
      peer, MessageKind::kGenerateRequest, MessageKind::kGenerateReply, gr, deadline());
  ASSERT_TRUE(generated.ok()) << generated.status();
  EXPECT_EQ(generated->tokens.size(), 5u);
  EXPECT_EQ(generated->model_hash, hash);

  // Bad requests get a reason, and the miner keeps serving.
  auto reason = [&](MessageKind kind, const std::string& body) {
    absl::StatusOr<protocol::Reply> r = (*client)->Call(peer, kind, body, deadline());
    return r.ok() ? std::optional<protocol::Reason>() : protocol::ReasonOf(r.status());
  };
  protocol::PredictRequest oversize;
  oversize.prefixes.assign(9, {1});
  EXPECT_EQ(reason(MessageKind::kPredictRequest, protocol::Encode(oversize)), protocol::Reason::kBadRequest);
  protocol::PredictRequest empty_prefix;
  empty_prefix.prefixes = {{}};
  EXPECT_EQ(reason(MessageKind::kPredictRequest, protocol::Encode(empty_prefix)), protocol::Reason::kBadRequest);
  protocol::GenerateRequest absurd = gr;
  absurd.max_tokens = 1'000'000;
  EXPECT_EQ(reason(MessageKind::kGenerateRequest, protocol::Encode(absurd)), protocol::Reason::kBadRequest);
  protocol::GenerateRequest no_prompt;
  EXPECT_EQ(reason(MessageKind::kGenerateRequest, protocol::Encode(no_prompt)), protocol::Reason::kBadRequest);
  EXPECT_EQ(reason(MessageKind::kPredictRequest, protocol::Encode(gr)), protocol::Reason::kBadBody);
  EXPECT_EQ(reason(MessageKind::kGenerateChunk, protocol::Encode(gr)), protocol::Reason::kUnknownKind);

  // An unregistered key is refused before any work.
  auto stranger = protocol::Client::Create(stranger_key, co);
  ASSERT_TRUE(stranger.ok());
  absl::StatusOr<protocol::Reply> refused =
      (*stranger)->Call(peer, MessageKind::kPredictRequest, protocol::Encode(pr), deadline());
  EXPECT_EQ(protocol::ReasonOf(refused.status()), protocol::Reason::kUnregistered);

  // Still serving, with the same answer as before.
  auto again = (*client)->CallTyped<protocol::PredictRequest, protocol::PredictReply>(
      peer, MessageKind::kPredictRequest, MessageKind::kPredictReply, pr, deadline());
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->distributions[0].probs, predicted->distributions[0].probs);

  const MetricsSnapshot m = service.Snapshot();
  EXPECT_EQ(m.tasks.predict_ok, 2u);
  EXPECT_GE(m.server.refused_for(protocol::Reason::kUnregistered), 1u);
  EXPECT_GT(service.metrics_port(), 0);
  service.Stop();
}

TEST(MinerFlagsTest, ConfigKeysAreFlagsAndFlagsWin) {
  cli::ParsedFlags flags;
  flags.Set("max-batch", "4");
  absl::StatusOr<cli::ParsedFlags> merged = cli::MergeTomlConfig(
      flags,
      "checkpoint = \"ckpt\"\nchain_url_file = \"c.url\"\nmax_batch = 32\nregister = true\n"
      "rate_per_s = 2.5\nno_curve = false\n",
      "miner.toml", MinerFlagSpecs());
  ASSERT_TRUE(merged.ok()) << merged.status();
  absl::StatusOr<MinerOptions> o = OptionsFromFlags(*merged);
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->model.checkpoint_dir, "ckpt");
  EXPECT_EQ(o->service.batcher.max_batch, 4u);
  EXPECT_TRUE(o->register_hotkey);
  EXPECT_TRUE(o->service.curve);
  EXPECT_DOUBLE_EQ(o->service.admission.rate_per_s, 2.5);
  EXPECT_FALSE(cli::MergeTomlConfig(flags, "bogus = 1\n", "miner.toml", MinerFlagSpecs()).ok());
  EXPECT_FALSE(cli::MergeTomlConfig(flags, "register = 1\n", "miner.toml", MinerFlagSpecs()).ok());
  EXPECT_FALSE(cli::MergeTomlConfig(flags, "max_batch = [\n", "miner.toml", MinerFlagSpecs()).ok());
  cli::ParsedFlags bad = *merged;
  bad.Set("max-batch", "0");
  EXPECT_FALSE(OptionsFromFlags(bad).ok());
  bad.Set("max-batch", "nan");
  EXPECT_FALSE(OptionsFromFlags(bad).ok());
}

TEST(MinerFlagsTest, AdversaryModesAndTheirFlags) {
  cli::ParsedFlags base;
  base.Set("chain-url-file", "c.url");
  auto options = [&](std::map<std::string, std::string> set) {
    cli::ParsedFlags f = base;
    for (const auto& [k, v] : set) f.Set(k, v);
    return OptionsFromFlags(f);
  };
  const std::string hotkey = EncodeAddress(SigningKey::FromSeed(Blake2b256("copied"))->public_key());
  absl::StatusOr<MinerOptions> o = options({{"mode", "copycat"}, {"copy-uid", "3"}});
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->adversary.copy.uid, std::optional<uint16_t>(3));
  EXPECT_FALSE(o->adversary.copy.hotkey.has_value());
  o = options({{"mode", "copycat"}, {"copy-hotkey", hotkey}});
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(EncodeAddress(*o->adversary.copy.hotkey), hotkey);
  EXPECT_TRUE(options({{"mode", "memorizer"}, {"checkpoint", "ckpt"}}).ok());
  for (const auto& bad : std::vector<std::map<std::string, std::string>>{
           {{"mode", "copycat"}},                                          // whom?
           {{"mode", "copycat"}, {"copy-uid", "3"}, {"copy-hotkey", hotkey}},
           {{"mode", "copycat"}, {"copy-uid", "3"}, {"checkpoint", "ckpt"}},  // it has no model
           {{"mode", "copycat"}, {"copy-uid", "70000"}},
           {{"mode", "copycat"}, {"copy-hotkey", "not-an-address"}},
           {{"checkpoint", "ckpt"}, {"copy-uid", "3"}},                    // not a copycat
           {{"mode", "plagiarist"}, {"checkpoint", "ckpt"}},
           {{"mode", "random"}},                                           // no model
       }) {
    absl::StatusOr<MinerOptions> r = options(bad);
    EXPECT_FALSE(r.ok()) << bad.begin()->second;
    EXPECT_TRUE(cli::IsUsageError(r.status())) << r.status();
  }
}

// A copycat miner relaying a real one over the wire: a validator gets the
// source's answers from it, signed by the copycat's hotkey and claiming the
// source's model; when the source goes away the copycat refuses, naming it,
// and keeps serving.
TEST(MinerServiceTest, CopycatRelaysAnotherMinerOverTheWire) {
  auto source_key = std::make_shared<const SigningKey>(SigningKey::Generate());
  auto copycat_key = std::make_shared<const SigningKey>(SigningKey::Generate());
  auto validator_key = std::make_shared<const SigningKey>(SigningKey::Generate());
  ServiceOptions so;
  so.endpoint = "tcp://127.0.0.1:*";
  so.workers = 4;
  so.curve = false;
  LoadedGpt loaded = FreshGpt(TinyConfig(), 2);
  auto source = std::make_unique<MinerService>(MakeGptBackend(std::move(loaded), torch::kCPU),
                                               std::make_unique<ByteTokenizer>(), source_key, so);
  source->admission().Update({{validator_key->public_key(), 1000, true},
                              {copycat_key->public_key(), 0, false}});
  ASSERT_TRUE(source->Start().ok());

  CopyTarget target;
  target.uid = 3;
  CopySource where(target, copycat_key->public_key());
  chain::Metagraph mg;
  mg.netuid = 1;
  EXPECT_TRUE(absl::IsNotFound(where.Update(mg)));
  mg.neurons.push_back(chain::NeuronInfo{});
  mg.neurons[0].uid = 3;
  mg.neurons[0].hotkey = copycat_key->public_key();
  EXPECT_TRUE(absl::IsFailedPrecondition(where.Update(mg))) << "not itself";
  mg.neurons[0].hotkey = source_key->public_key();
  EXPECT_TRUE(absl::IsNotFound(where.Update(mg))) << "no endpoint yet";
  EXPECT_FALSE(where.peer().has_value());
  mg.neurons[0].axon_endpoint = source->endpoint();
  ASSERT_TRUE(where.Update(mg).ok());

  protocol::ClientOptions co;
  co.curve = false;
  auto relay_client = protocol::Client::Create(copycat_key, co);
  ASSERT_TRUE(relay_client.ok());
  absl::StatusOr<std::unique_ptr<ModelBackend>> copy = MakeCopycat(
      MakeClientRelay(relay_client->get(), &where, std::chrono::milliseconds(1000)), where.name());
  ASSERT_TRUE(copy.ok()) << copy.status();
  MinerService copycat(std::move(*copy), std::make_unique<ByteTokenizer>(), copycat_key, so);
  copycat.admission().Update({{validator_key->public_key(), 1000, true}});
  ASSERT_TRUE(copycat.Start().ok());

  auto client = protocol::Client::Create(validator_key, co);
  ASSERT_TRUE(client.ok());
  auto deadline = [] { return protocol::DeadlineAfter(std::chrono::seconds(20)); };
  using protocol::MessageKind;
  const protocol::Peer source_peer{source->endpoint(), source_key->public_key()};
  const protocol::Peer copycat_peer{copycat.endpoint(), copycat_key->public_key()};
  protocol::PredictRequest pr;
  pr.prefixes = {{104, 105}, {1, 2, 3, 4, 5, 6}};
  auto predict = [&](const protocol::Peer& peer) {
    return (*client)->CallTyped<protocol::PredictRequest, protocol::PredictReply>(
        peer, MessageKind::kPredictRequest, MessageKind::kPredictReply, pr, deadline());
  };
  auto original = predict(source_peer);
  auto relayed = predict(copycat_peer);  // verified: signed by the copycat's hotkey
  ASSERT_TRUE(original.ok()) << original.status();
  ASSERT_TRUE(relayed.ok()) << relayed.status();
  EXPECT_EQ(relayed->model_hash, original->model_hash);
  ASSERT_EQ(relayed->distributions.size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_LT(MaxAbsDiff(relayed->distributions[i].probs, original->distributions[i].probs), 1e-6f);
  }
  protocol::GenerateRequest gr;
  gr.prompt = "hello";
  gr.max_tokens = 6;
  gr.seed = 9;
  auto generate = [&](const protocol::Peer& peer) {
    return (*client)->CallTyped<protocol::GenerateRequest, protocol::GenerateReply>(
        peer, MessageKind::kGenerateRequest, MessageKind::kGenerateReply, gr, deadline());
  };
  auto g_original = generate(source_peer);
  auto g_relayed = generate(copycat_peer);
  ASSERT_TRUE(g_original.ok() && g_relayed.ok()) << g_original.status() << g_relayed.status();
  EXPECT_EQ(g_relayed->tokens, g_original->tokens);

  source->Stop();
  source.reset();
  absl::StatusOr<protocol::Reply> refused =
      (*client)->Call(copycat_peer, MessageKind::kPredictRequest, protocol::Encode(pr), deadline());
  ASSERT_FALSE(refused.ok());
  EXPECT_TRUE(protocol::ReasonOf(refused.status()).has_value()) << "a signed refusal: " << refused.status();
  EXPECT_NE(refused.status().message().find("copied miner uid 3"), std::string::npos) << refused.status();
  auto info = (*client)->CallTyped<protocol::InfoRequest, protocol::InfoReply>(
      copycat_peer, MessageKind::kInfoRequest, MessageKind::kInfoReply, protocol::InfoRequest{},
      deadline());
  ASSERT_TRUE(info.ok()) << "still serving: " << info.status();
  EXPECT_EQ(info->model, ToHex(original->model_hash));
  copycat.Stop();
}

}  // namespace
}  // namespace agora::miner
