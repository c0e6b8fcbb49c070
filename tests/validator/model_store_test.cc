// The validator's model store against a real miner service on loopback:
// a registered model is fetched in pieces, verified by what it computes to
// and cached; every way a miner can fail to hand over its registered model
// (no permit for the asker, another model's package, a wrong size, a model
// too large, a hash it does not serve) is an error that names the cause; a
// fetch resumes from its partial file; the cache stays under its bound;
// Request() never waits for a fetch, which runs on the store's worker.
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "chain/state.h"
#include "common/file_util.h"
#include "miner/gpt.h"
#include "miner/miner.h"
#include "miner/model_files.h"
#include "protocol/model_package.h"
#include "protocol/zmq_client.h"
#include "validator/model_store.h"

namespace agora::validator {
namespace {

namespace fs = std::filesystem;
using miner::GptConfig;
using miner::LoadedGpt;

std::string TempDir(const std::string& name) {
  fs::path p = fs::temp_directory_path() /
               ("agora_model_store_test_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(p);
  fs::create_directories(p);
  return p.string();
}

GptConfig Tiny(uint32_t dim) {
  GptConfig c;
  c.context = 32;
  c.layers = 1;
  c.dim = dim;
  c.heads = 2;
  return c;
}

// A checkpoint on disk, its package and the registration that names it.
struct Packed {
  std::string dir;
  Hash256 hash{};
  std::string package;
  chain::ModelRegistration reg;
};

Packed MakePacked(const std::string& root, const std::string& name, uint32_t dim, uint64_t seed) {
  Packed p;
  p.dir = root + "/" + name;
  LoadedGpt g = miner::FreshGpt(Tiny(dim), seed);
  absl::StatusOr<Hash256> h = miner::SaveCheckpoint(g.model, miner::TrainFacts{}, p.dir);
  EXPECT_TRUE(h.ok()) << h.status();
  p.hash = *h;
  miner::ModelSpec spec;
  spec.checkpoint_dir = p.dir;
  absl::StatusOr<protocol::ModelPackage> pkg = miner::PackModel(spec, "");
  EXPECT_TRUE(pkg.ok()) << pkg.status();
  p.package = protocol::EncodeModelPackage(*pkg);
  p.reg.content_hash = p.hash;
  p.reg.size_bytes = p.package.size();
  p.reg.format = chain::kModelFormatAgoraGpt;
  p.reg.tokenizer_hash = *miner::TokenizerHash("");  // the byte tokenizer, as the miner registers
  p.reg.block = 7;
  return p;
}

// A miner service serving `served_as` with `package`; `asker` is admitted
// with or without a validator permit.
struct Miner {
  std::shared_ptr<const SigningKey> key =
      std::make_shared<const SigningKey>(SigningKey::Generate());
  std::unique_ptr<miner::MinerService> service;
  protocol::Peer peer;

  Miner(const Packed& model, const Hash256& served_as, const std::string& package,
        const PublicKey& asker, bool permit) {
    miner::ServiceOptions so;
    so.endpoint = "tcp://127.0.0.1:*";
    so.workers = 4;
    so.curve = false;
    absl::StatusOr<LoadedGpt> loaded = miner::LoadCheckpoint(model.dir);
    EXPECT_TRUE(loaded.ok());
    service = std::make_unique<miner::MinerService>(
        miner::MakeGptBackend(std::move(*loaded), torch::kCPU),
        std::make_unique<miner::ByteTokenizer>(), key, so);
    service->ServePackage(served_as, package);
    service->admission().Update({{asker, 1000, permit}});
    EXPECT_TRUE(service->Start().ok());
    peer = protocol::Peer{service->endpoint(), key->public_key()};
  }
};

class ModelStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = TempDir(::testing::UnitTest::GetInstance()->current_test_info()->name());
    protocol::ClientOptions co;
    co.curve = false;
    auto c = protocol::Client::Create(validator_, co);
    ASSERT_TRUE(c.ok());
    client_ = std::move(*c);
  }
  void TearDown() override { fs::remove_all(root_); }

  ModelStoreOptions Options() {
    ModelStoreOptions o;
    o.dir = root_ + "/cache";
    o.cpu = true;
    o.piece_timeout = std::chrono::seconds(20);
    return o;
  }

  std::string root_;
  std::shared_ptr<const SigningKey> validator_ =
      std::make_shared<const SigningKey>(SigningKey::Generate());
  std::unique_ptr<protocol::Client> client_;
};

TEST_F(ModelStoreTest, FetchesVerifiesCachesAndAgreesWithTheMinersModel) {
  const Packed m = MakePacked(root_, "m", 224, 1);
  ASSERT_GT(m.package.size(), 2 * protocol::kMaxModelChunk);  // fetched in three pieces
  Miner miner(m, m.hash, m.package, validator_->public_key(), true);
  ModelStoreOptions o = Options();
  ModelStore store(o);
  absl::StatusOr<miner::ModelBackend*> got = store.Obtain(m.reg, miner.peer, *client_);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ((*got)->content_hash(), m.hash);
  EXPECT_EQ(store.stats().fetched, 1u);
  EXPECT_EQ(store.stats().bytes_fetched, m.package.size());
  // The same logits as the model the miner serves.
  auto mine = (*got)->NextTokenLogits({{104, 105, 106}});
  auto theirs = miner.service->model().NextTokenLogits({{104, 105, 106}});
  ASSERT_TRUE(mine.ok() && theirs.ok());
  EXPECT_EQ(mine->data, theirs->data);
  // Held: no second fetch. A new store (a restarted validator) loads it
  // from the cache, not from the miner.
  EXPECT_TRUE(store.Obtain(m.reg, miner.peer, *client_).ok());
  ModelStore restarted(o);
  miner.service->Stop();
  ASSERT_TRUE(restarted.Obtain(m.reg, miner.peer, *client_).ok());
  EXPECT_EQ(restarted.stats().fetched, 0u);
  EXPECT_EQ(restarted.stats().bytes_fetched, 0u);
  // Unregistered: unloaded.
  restarted.Retain({});
  EXPECT_EQ(restarted.Find(m.hash), nullptr);
}

TEST_F(ModelStoreTest, RefusalsNameTheirCause) {
  const Packed a = MakePacked(root_, "a", 32, 2);
  const Packed b = MakePacked(root_, "b", 32, 3);
  ASSERT_NE(a.hash, b.hash);
  {  // The asker holds no validator permit.
    Miner miner(a, a.hash, a.package, validator_->public_key(), false);
    ModelStore store(Options());
    absl::Status s = store.Obtain(a.reg, miner.peer, *client_).status();
    EXPECT_NE(s.message().find("validator-permit"), std::string::npos) << s;
    EXPECT_EQ(store.Find(a.hash), nullptr);
    // Remembered: asked again only after retry_after.
    EXPECT_EQ(store.Obtain(a.reg, miner.peer, *client_).status(), s);
    EXPECT_EQ(store.stats().failed, 1u);
  }
  {  // Registered as b, but the package is a's: it computes to a's hash.
    chain::ModelRegistration reg = b.reg;
    reg.size_bytes = a.package.size();
    Miner miner(a, b.hash, a.package, validator_->public_key(), true);
    ModelStore store(Options());
    absl::Status s = store.Obtain(reg, miner.peer, *client_).status();
    EXPECT_TRUE(absl::IsDataLoss(s)) << s;
    EXPECT_NE(s.message().find("computes to model " + ToHex(a.hash)), std::string::npos) << s;
    EXPECT_FALSE(fs::exists(Options().dir + "/" + ToHex(b.hash) + ".pkg"));  // not cached
  }
  {  // The miner serves another model than the one registered.
    Miner miner(a, a.hash, a.package, validator_->public_key(), true);
    ModelStore store(Options());
    absl::Status s = store.Obtain(b.reg, miner.peer, *client_).status();
    EXPECT_NE(s.message().find("this miner serves model " + ToHex(a.hash)), std::string::npos) << s;
  }
  {  // Registered with another size than the package's.
    chain::ModelRegistration reg = a.reg;
    reg.size_bytes = a.package.size() + 1;
    Miner miner(a, a.hash, a.package, validator_->public_key(), true);
    ModelStore store(Options());
    absl::Status s = store.Obtain(reg, miner.peer, *client_).status();
    EXPECT_NE(s.message().find("not the one asked for"), std::string::npos) << s;
  }
  {  // Larger than max_model_bytes: not even asked.
    Miner miner(a, a.hash, a.package, validator_->public_key(), true);
    ModelStoreOptions o = Options();
    o.max_model_bytes = a.package.size() - 1;
    ModelStore store(o);
    absl::Status s = store.Obtain(a.reg, miner.peer, *client_).status();
    EXPECT_TRUE(absl::IsResourceExhausted(s)) << s;
    EXPECT_EQ(store.stats().bytes_fetched, 0u);
  }
  {  // Registered as a format other than the package's.
    chain::ModelRegistration reg = a.reg;
    reg.format = chain::kModelFormatTorchScript;
    Miner miner(a, a.hash, a.package, validator_->public_key(), true);
    ModelStore store(Options());
    absl::Status s = store.Obtain(reg, miner.peer, *client_).status();
    EXPECT_NE(s.message().find("registered as torchscript"), std::string::npos) << s;
  }
  {  // Registered with another tokenizer than the package carries.
    chain::ModelRegistration reg = a.reg;
    reg.tokenizer_hash = Blake2b256(std::string("a vocabulary it does not ship"));
    Miner miner(a, a.hash, a.package, validator_->public_key(), true);
    ModelStore store(Options());
    absl::Status s = store.Obtain(reg, miner.peer, *client_).status();
    EXPECT_NE(s.message().find("package's tokenizer hashes to"), std::string::npos) << s;
  }
}

TEST_F(ModelStoreTest, ResumesAPartialFetchAndKeepsTheCacheUnderItsBound) {
  const Packed a = MakePacked(root_, "a", 64, 4);
  const Packed b = MakePacked(root_, "b", 64, 5);
  ModelStoreOptions o = Options();
  o.cache_bytes = a.package.size() + b.package.size() / 2;  // room for one
  ASSERT_TRUE(MakeDirs(o.dir).ok());
  const size_t half = a.package.size() / 2;
  ASSERT_TRUE(WriteFileAtomic(o.dir + "/" + ToHex(a.hash) + ".part", a.package.substr(0, half)).ok());
  Miner ma(a, a.hash, a.package, validator_->public_key(), true);
  Miner mb(b, b.hash, b.package, validator_->public_key(), true);
  ModelStore store(o);
  ASSERT_TRUE(store.Obtain(a.reg, ma.peer, *client_).ok());
  EXPECT_EQ(store.stats().bytes_fetched, a.package.size() - half);
  ASSERT_TRUE(store.Obtain(b.reg, mb.peer, *client_).ok());
  // Both loaded; on disk only the most recent fits.
  EXPECT_NE(store.Find(a.hash), nullptr);
  EXPECT_FALSE(fs::exists(o.dir + "/" + ToHex(a.hash) + ".pkg"));
  EXPECT_TRUE(fs::exists(o.dir + "/" + ToHex(b.hash) + ".pkg"));
}

TEST_F(ModelStoreTest, RequestQueuesTheFetchAndNeverWaitsForIt) {
  const Packed a = MakePacked(root_, "a", 32, 6);
  ModelStoreOptions o = Options();
  o.piece_timeout = std::chrono::seconds(1);
  ModelStore store(o);
  // A miner that never answers (nothing listens there): the worker waits
  // for it, Request does not.
  const protocol::Peer silent{"tcp://127.0.0.1:1", SigningKey::Generate().public_key()};
  bool fetching = false;
  absl::StatusOr<miner::ModelBackend*> r = store.Request(a.reg, silent, *client_, &fetching);
  EXPECT_TRUE(fetching);
  EXPECT_TRUE(absl::IsUnavailable(r.status())) << r.status();
  EXPECT_NE(r.status().message().find("being fetched"), std::string::npos) << r.status();
  r = store.Request(a.reg, silent, *client_, &fetching);  // still the one fetch
  EXPECT_TRUE(fetching);
  store.WaitIdle();
  r = store.Request(a.reg, silent, *client_, &fetching);
  EXPECT_FALSE(fetching) << "failed: remembered until retry_after, not asked again";
  EXPECT_NE(r.status().message().find("did not hand the model over"), std::string::npos)
      << r.status();
  EXPECT_EQ(store.stats().failed, 1u);

  // A miner that hands it over: fetched in the background, then held.
  const Packed b = MakePacked(root_, "b", 32, 7);
  Miner miner(b, b.hash, b.package, validator_->public_key(), true);
  r = store.Request(b.reg, miner.peer, *client_, &fetching);
  EXPECT_TRUE(fetching);
  store.WaitIdle();
  r = store.Request(b.reg, miner.peer, *client_, &fetching);
  EXPECT_FALSE(fetching);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(*r, store.Find(b.hash));
  EXPECT_EQ((*r)->content_hash(), b.hash);

  // A store going away with a fetch in progress stops after its piece.
  ModelStore leaving(o);
  (void)leaving.Request(a.reg, silent, *client_, &fetching);
  EXPECT_TRUE(fetching);
}

TEST_F(ModelStoreTest, FirstAttemptsGoBeforeRetriesOfFailedFetches) {
  const Packed a = MakePacked(root_, "a", 32, 8);  // withheld: its fetch fails
  const Packed c = MakePacked(root_, "c", 32, 9);  // withheld too, tried later
  const Packed b = MakePacked(root_, "b", 32, 10);  // handed over
  ModelStoreOptions o = Options();
  o.fetch_workers = 1;
  // What a silent miner holds the worker for: far longer than the poll
  // below takes to see b arrive, however loaded the machine.
  o.piece_timeout = std::chrono::seconds(3);
  o.retry_after = std::chrono::milliseconds(0);  // a retry may be queued at once
  ModelStore store(o);
  const protocol::Peer silent{"tcp://127.0.0.1:1", SigningKey::Generate().public_key()};
  bool fetching = false;
  {  // a's first attempt fails at once: its miner serves another model.
    Miner other(c, c.hash, c.package, validator_->public_key(), true);
    (void)store.Request(a.reg, other.peer, *client_, &fetching);
    store.WaitIdle();
  }
  ASSERT_EQ(store.stats().failed, 1u);
  // The worker is busy with c's first attempt; a's retry is queued, then b.
  (void)store.Request(c.reg, silent, *client_, &fetching);
  (void)store.Request(a.reg, silent, *client_, &fetching);
  ASSERT_TRUE(fetching);
  Miner miner(b, b.hash, b.package, validator_->public_key(), true);
  (void)store.Request(b.reg, miner.peer, *client_, &fetching);
  ASSERT_TRUE(fetching);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (store.Find(b.hash) == nullptr && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ASSERT_NE(store.Find(b.hash), nullptr);
  // b came right after c's attempt; a's retry (3 s to fail) waits behind it.
  EXPECT_EQ(store.stats().failed, 2u);
  store.WaitIdle();
  EXPECT_EQ(store.stats().failed, 3u);
}

}  // namespace
}  // namespace agora::validator
