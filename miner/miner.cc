#include "miner/miner.h"

#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"
#include "chain/client.h"
#include "chain/tx.h"
#include "common/address.h"
#include "common/file_util.h"
#include "common/log.h"
#include "common/malloc_tuning.h"
#include "common/daemon_wallet.h"
#include "miner/adversary.h"
#include "miner/copy_source.h"
#include "miner/copycat.h"
#include "miner/model_files.h"
#include "protocol/model_package.h"
#include "protocol/messages.h"
#include "protocol/task_messages.h"

namespace agora::miner {

using protocol::MessageKind;

MinerService::MinerService(std::unique_ptr<ModelBackend> model,
                           std::unique_ptr<Tokenizer> tokenizer,
                           std::shared_ptr<const SigningKey> key, ServiceOptions options)
    : model_(std::move(model)), tokenizer_(std::move(tokenizer)), key_(std::move(key)),
      options_(std::move(options)), admission_(options_.admission) {}

MinerService::~MinerService() { Stop(); }

protocol::GenerateRequest MinerService::Rewritten(const protocol::GenerateRequest& req) const {
  protocol::GenerateRequest r = req;
  options_.generate_rewrite(r);
  return r;
}

TaskEnv MinerService::Env(const protocol::RequestContext& ctx) {
  TaskEnv env;
  env.batcher = batcher_.get();
  env.tokenizer = tokenizer_.get();
  env.model_hash = model_->content_hash();
  env.vocab_size = model_->vocab_size();
  env.max_prefixes = options_.max_prefixes;
  env.priority = admission_.Priority(ctx.sender);
  env.start = Clock::now();
  env.deadline = env.start + options_.request_timeout;
  return env;
}

absl::Status MinerService::Start() {
  if (started_) return absl::FailedPreconditionError("miner service: started twice");
  started_ = true;
  if (tokenizer_->vocab_size() > model_->vocab_size()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "tokenizer has ", tokenizer_->vocab_size(), " tokens but the model only ",
        model_->vocab_size()));
  }
  if (options_.batcher.max_batch < 1) return absl::InvalidArgumentError("max_batch: must be >= 1");
  if (!options_.request_log.empty()) {
    absl::StatusOr<std::unique_ptr<RequestLog>> log = RequestLog::Open(options_.request_log);
    if (!log.ok()) return log.status();
    request_log_ = std::move(*log);
  }
  if (!options_.data_dir.empty()) {
    absl::Status made = MakeDirs(options_.data_dir);
    if (!made.ok()) return made;
  } else {
    AGORA_LOG(WARN, "miner", "no data_dir: the replay window is kept in memory only, so a "
              "request replayed right after a restart would be answered again");
  }
  absl::StatusOr<std::unique_ptr<protocol::NonceWindow>> replay = protocol::NonceWindow::Open(
      options_.data_dir.empty() ? "" : options_.data_dir + "/replay.log",
      protocol::NonceWindow::Options());
  if (!replay.ok()) return replay.status();
  replay_ = std::move(*replay);
  batcher_ = std::make_unique<Batcher>(model_.get(), options_.batcher);

  protocol::ServerOptions so;
  so.endpoint = options_.endpoint;
  so.workers = options_.workers;
  so.queue_capacity = options_.server_queue;
  so.replay = replay_.get();
  so.curve = options_.curve;
  so.admission = [this](const protocol::EnvelopeHeader& h) {
    return admission_.Admit(h.sender, Clock::now());
  };
  // Unknown senders are refused on the I/O thread, before they queue or
  // cost a signature check: a flood of them leaves members' requests alone.
  so.prescreen = [this](const PublicKey& claimed) { return admission_.Prescreen(claimed); };
  server_ = std::make_unique<protocol::Server>(key_, so);
  server_->Handle<protocol::PredictRequest, protocol::PredictReply>(
      MessageKind::kPredictRequest, MessageKind::kPredictReply,
      [this](const protocol::RequestContext& ctx, const protocol::PredictRequest& req)
          -> absl::StatusOr<protocol::PredictReply> {
        if (request_log_) request_log_->Append(ctx.sender, RequestShape(req));
        absl::StatusOr<protocol::PredictReply> rep =
            options_.predict_shortcut && options_.predict_shortcut(req)
                ? FlatPredictReply(req, model_->vocab_size(), model_->content_hash())
                : HandlePredict(req, Env(ctx));
        absl::MutexLock lock(&mu_);
        ++(rep.ok() ? tasks_.predict_ok : tasks_.predict_refused);
        return rep;
      });
  server_->HandleStreaming<protocol::GenerateRequest, protocol::GenerateChunk,
                           protocol::GenerateReply>(
      MessageKind::kGenerateRequest, MessageKind::kGenerateChunk, MessageKind::kGenerateReply,
      [this](const protocol::RequestContext& ctx, const protocol::GenerateRequest& req,
             const ChunkEmitter& emit) -> absl::StatusOr<protocol::GenerateReply> {
        if (request_log_) request_log_->Append(ctx.sender, RequestShape(req));
        absl::StatusOr<protocol::GenerateReply> rep =
            options_.generate_rewrite ? HandleGenerate(Rewritten(req), Env(ctx), emit)
                                      : HandleGenerate(req, Env(ctx), emit);
        absl::MutexLock lock(&mu_);
        if (rep.ok()) {
          ++tasks_.generate_ok;
          tasks_.generated_tokens += rep->tokens.size();
        } else {
          ++tasks_.generate_refused;
        }
        return rep;
      });
  server_->Handle<protocol::ModelFetchRequest, protocol::ModelFetchReply>(
      MessageKind::kModelFetchRequest, MessageKind::kModelFetchReply,
      [this](const protocol::RequestContext& ctx, const protocol::ModelFetchRequest& req)
          -> absl::StatusOr<protocol::ModelFetchReply> {
        if (!admission_.HasPermit(ctx.sender)) {
          return protocol::Refuse(protocol::Reason::kUnregistered,
                                  "the model is handed only to validator-permit holders");
        }
        if (package_.empty()) {
          return protocol::Refuse(protocol::Reason::kBadRequest, "content_hash: no model package served");
        }
        return HandleModelFetch(req, package_hash_, package_);
      });
  server_->Handle<protocol::InfoRequest, protocol::InfoReply>(
      MessageKind::kInfoRequest, MessageKind::kInfoReply,
      [this](const protocol::RequestContext&, const protocol::InfoRequest&)
          -> absl::StatusOr<protocol::InfoReply> {
        protocol::InfoReply r;
        r.role = "miner";
        r.version = "0.1.0";
        r.protocol = protocol::kProtocolVersion;
        r.model = ToHex(model_->content_hash());
        return r;
      });
  absl::Status s = server_->Start();
  if (!s.ok()) return s;
  if (options_.metrics_port >= 0) {
    s = metrics_.Start(options_.metrics_host, options_.metrics_port,
                       [this] { return RenderPrometheus(Snapshot()); });
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

void MinerService::ServePackage(const Hash256& hash, std::string package) {
  package_hash_ = hash;
  package_ = std::move(package);
}

void MinerService::Stop() {
  if (!started_ || stopped_) return;
  stopped_ = true;
  metrics_.Stop();
  if (server_) server_->Stop();   // answers every queued request (uses the batcher)
  if (batcher_) batcher_->Stop();
}

MetricsSnapshot MinerService::Snapshot() {
  MetricsSnapshot s;
  if (server_) s.server = server_->Stats();
  if (batcher_) s.batcher = batcher_->Stats();
  s.admission = admission_.Stats();
  s.model_hash = ToHex(model_->content_hash());
  absl::MutexLock lock(&mu_);
  s.tasks = tasks_;
  const Clock::time_point now = Clock::now();
  const double dt = std::chrono::duration<double>(now - last_scrape_).count();
  if (dt > 0) s.tokens_per_s = double(s.batcher.tokens - last_tokens_) / dt;
  last_tokens_ = s.batcher.tokens;
  last_scrape_ = now;
  return s;
}

namespace {

const chain::NeuronInfo* FindNeuron(const chain::Metagraph& mg, const PublicKey& hotkey) {
  for (const chain::NeuronInfo& n : mg.neurons) {
    if (n.hotkey == hotkey) return &n;
  }
  return nullptr;
}

std::vector<Member> Members(const chain::Metagraph& mg) {
  std::vector<Member> out;
  out.reserve(mg.neurons.size());
  for (const chain::NeuronInfo& n : mg.neurons) {
    out.push_back(Member{n.hotkey, n.stake, n.validator_permit});
  }
  return out;
}

std::string Tokens(uint64_t base_units) {
  return absl::StrFormat("%d.%09d AGORA", base_units / chain::kUnitsPerToken,
                         base_units % chain::kUnitsPerToken);
}

// Logs each wait of ChainClient::SendWhenAllowed for `what`.
chain::ChainClient::LimitWait LogLimitWaits(const char* what) {
  chain::ChainClient::LimitWait wait;
  wait.on_wait = [what](const absl::Status& refusal, chain::BlockHeight block) {
    AGORA_LOG(INFO, "miner", "%s: %s; waiting for block %d to try again", what, refusal.message(),
              block);
  };
  return wait;
}

// Registers the model the miner's answers claim (register_model), unless
// the chain already records exactly that for its uid.
absl::Status RegisterModel(chain::ChainClient& chain, const MinerOptions& o, const SigningKey& key,
                           const chain::ModelRegistration& have, chain::ModelRegistration want) {
  if (have.block != 0 && have.content_hash == want.content_hash &&
      have.size_bytes == want.size_bytes && have.format == want.format &&
      have.tokenizer_hash == want.tokenizer_hash) {
    AGORA_LOG(INFO, "miner", "model %s is registered (block %d)", ToHex(want.content_hash), have.block);
    return absl::OkStatus();
  }
  chain::RegisterModelTx tx;
  tx.netuid = o.netuid;
  tx.content_hash = want.content_hash;
  tx.size_bytes = want.size_bytes;
  tx.format = want.format;
  tx.tokenizer_hash = want.tokenizer_hash;
  absl::StatusOr<chain::TxReceiptMsg> r =
      chain.SendWhenAllowed(key, chain::kTxRegisterModel, tx, LogLimitWaits("register_model"));
  if (!r.ok()) {
    return absl::Status(r.status().code(),
                        absl::StrCat("register_model ", ToHex(want.content_hash), ": ", r.status().message()));
  }
  AGORA_LOG(INFO, "miner", "registered model %s (%d bytes, %s) in block %d", ToHex(want.content_hash),
            want.size_bytes, want.format, r->block);
  return absl::OkStatus();
}

// Registers `hotkey` with the wallet's coldkey, paying the current burn.
absl::Status Register(chain::ChainClient& chain, const MinerOptions& o, const DaemonWallet& w,
                      const PublicKey& hotkey,
                      const chain::Metagraph& mg) {
  const uint64_t burn = mg.params.burn;
  const uint64_t max_burn = o.max_burn > 0 ? o.max_burn : burn;
  AGORA_LOG(INFO, "miner", "registering hotkey %s on subnet %d: burns %s from the coldkey",
            EncodeAddress(hotkey), o.netuid, Tokens(burn));
  if (burn > max_burn) {
    return absl::FailedPreconditionError(absl::StrCat("register: burn is ", Tokens(burn),
                                                      ", above --max-burn ", Tokens(max_burn)));
  }
  absl::StatusOr<SigningKey> coldkey = w.store.LoadColdkey(o.wallet.wallet, w.password);
  if (!coldkey.ok()) return coldkey.status();
  chain::RegisterTx tx;
  tx.netuid = o.netuid;
  tx.hotkey = hotkey;
  tx.max_burn = max_burn;
  absl::StatusOr<chain::TxReceiptMsg> r =
      chain.SendWhenAllowed(*coldkey, chain::kTxRegister, tx, LogLimitWaits("register"));
  if (!r.ok()) return absl::Status(r.status().code(), absl::StrCat("register: ", r.status().message()));
  AGORA_LOG(INFO, "miner", "registered in block %d", r->block);
  return absl::OkStatus();
}

// What a copycat keeps besides its model: the client it relays through and
// where the copied miner is.
struct Copying {
  std::unique_ptr<protocol::Client> client;
  std::unique_ptr<CopySource> source;
  bool found = true;  // whether the last metagraph had the copied miner's endpoint
};

// The copycat's model, once the copied miner answers a probe: it may not be
// registered, announced or admitting us yet, so every failure but copying
// itself is retried each metagraph refresh until *stop.
absl::StatusOr<std::unique_ptr<ModelBackend>> ConnectCopycat(
    const MinerOptions& o, std::shared_ptr<const SigningKey> key, chain::ChainClient& chain,
    chain::Metagraph mg, const std::atomic<bool>* stop, Copying* c) {
  c->source = std::make_unique<CopySource>(o.adversary.copy, key->public_key());
  protocol::ClientOptions co;
  co.curve = o.service.curve;
  absl::StatusOr<std::unique_ptr<protocol::Client>> client = protocol::Client::Create(key, co);
  if (!client.ok()) return client.status();
  c->client = std::move(*client);
  for (;;) {
    absl::Status s = c->source->Update(mg);
    if (absl::IsFailedPrecondition(s)) return s;
    if (s.ok()) {
      absl::StatusOr<std::unique_ptr<ModelBackend>> model = MakeCopycat(
          MakeClientRelay(c->client.get(), c->source.get(), o.adversary.copy_timeout),
          c->source->name(), o.adversary.mode == "noisy-copy" ? o.adversary.retemper : 1.0);
      if (model.ok()) return model;
      s = model.status();
    }
    AGORA_LOG(WARN, "miner", "copycat: waiting for %s: %s", c->source->name(), s.message());
    for (auto until = Clock::now() + o.metagraph_refresh; Clock::now() < until;) {
      if (stop->load()) return absl::CancelledError("stopped while waiting for the copied miner");
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    absl::StatusOr<chain::Metagraph> fresh = chain.GetMetagraph(o.netuid);
    if (fresh.ok()) mg = std::move(*fresh);
  }
}

}  // namespace

absl::Status Run(const MinerOptions& o, const std::atomic<bool>* stop) {
  KeepFreedMemoryForReuse();  // every forward pass allocates its tensors again
  // 1. Identity.
  absl::StatusOr<DaemonWallet> wallet = OpenDaemonWallet(o.wallet);
  if (!wallet.ok()) return wallet.status();
  std::shared_ptr<const SigningKey> key = wallet->hotkey;
  const PublicKey hotkey = key->public_key();
  AGORA_LOG(INFO, "miner", "hotkey %s (wallet %s/%s)", EncodeAddress(hotkey), o.wallet.wallet,
            o.wallet.hotkey);

  // 2. Chain: registration.
  absl::StatusOr<std::string> url = chain::ResolveChainUrl(o.chain_url, o.chain_url_file);
  if (!url.ok()) return url.status();
  chain::ChainClientOptions co;
  co.curve = o.service.curve;
  absl::StatusOr<std::unique_ptr<chain::ChainClient>> chain = chain::ChainClient::Connect(*url, key, co);
  if (!chain.ok()) return chain.status();
  absl::StatusOr<chain::Metagraph> mg = (*chain)->GetMetagraph(o.netuid);
  if (!mg.ok()) return absl::Status(mg.status().code(), absl::StrCat("metagraph of subnet ", o.netuid, ": ", mg.status().message()));
  if (FindNeuron(*mg, hotkey) == nullptr) {
    if (!o.register_hotkey) {
      return absl::FailedPreconditionError(absl::StrCat(
          "hotkey ", EncodeAddress(hotkey), " is not registered on subnet ", o.netuid,
          "; run with --register (it burns ", Tokens(mg->params.burn), " from the coldkey)"));
    }
    absl::Status s = Register(**chain, o, *wallet, hotkey, *mg);
    if (!s.ok()) return s;
    mg = (*chain)->GetMetagraph(o.netuid);
    if (!mg.ok()) return mg.status();
    if (FindNeuron(*mg, hotkey) == nullptr) {
      return absl::InternalError("registered, but the hotkey is not in the metagraph");
    }
  }

  // 3. Model: loaded, or (copycat) a relay to the copied miner. The relay's
  // client is declared before the service, so it outlives the service's use.
  ModelSpec spec = o.model;
  if (o.adversary.mode == "perturbed-copy") {
    spec.checkpoint_dir = o.service.data_dir + "/perturbed-copy";
    absl::StatusOr<Hash256> copy = WritePerturbedCopy(o.model.checkpoint_dir, o.adversary.perturb,
                                                      o.adversary.seed, spec.checkpoint_dir);
    if (!copy.ok()) return copy.status();
    AGORA_LOG(INFO, "miner", "perturbed copy of %s (noise %g std): %s in %s",
              o.model.checkpoint_dir, o.adversary.perturb, ToHex(*copy), spec.checkpoint_dir);
  }
  Copying copying;
  Hash256 loaded_hash{};  // of the model on disk, which the package holds
  absl::StatusOr<std::unique_ptr<ModelBackend>> model = absl::UnknownError("no model");
  if (IsRelayMode(o.adversary.mode)) {
    model = ConnectCopycat(o, key, **chain, *mg, stop, &copying);
    if (!model.ok() && stop->load()) return absl::OkStatus();  // stopped while waiting
  } else {
    model = LoadModel(spec);
    if (model.ok()) {
      loaded_hash = (*model)->content_hash();
      if (o.adversary.mode == "two-faced") {
        ModelSpec cheap_spec;
        cheap_spec.checkpoint_dir = o.adversary.cheap_model;
        cheap_spec.force_cpu = spec.force_cpu;
        absl::StatusOr<std::unique_ptr<ModelBackend>> cheap = LoadModel(cheap_spec);
        model = cheap.ok() ? MakeTwoFaced(std::move(*model), std::move(*cheap)) : cheap.status();
      } else {
        model = MakeAdversary(std::move(*model), o.adversary);
      }
    }
  }
  if (!model.ok()) return model.status();
  AGORA_LOG(INFO, "miner", "model: %s", (*model)->Describe());
  std::unique_ptr<Tokenizer> tokenizer;
  if (o.vocab_file.empty()) {
    tokenizer = std::make_unique<ByteTokenizer>();
  } else {
    absl::StatusOr<std::unique_ptr<VocabTokenizer>> t = VocabTokenizer::Load(o.vocab_file);
    if (!t.ok()) return t.status();
    tokenizer = std::move(*t);
  }

  // 4. Serve: the model's package is handed to validators that fetch it.
  // The package is of the model loaded from disk; what the miner registers
  // is what its answers claim (an adversary may claim another model).
  chain::ModelRegistration want;
  std::string package;
  if (!IsRelayMode(o.adversary.mode)) {
    absl::StatusOr<protocol::ModelPackage> packed = PackModel(spec, o.vocab_file);
    if (!packed.ok()) return absl::Status(packed.status().code(), absl::StrCat("model package: ", packed.status().message()));
    absl::StatusOr<Hash256> tokenizer_hash = TokenizerHash(o.vocab_file);
    if (!tokenizer_hash.ok()) return tokenizer_hash.status();
    package = protocol::EncodeModelPackage(*packed);
    want.content_hash = (*model)->content_hash();
    want.size_bytes = package.size();
    want.format = packed->format;
    want.tokenizer_hash = *tokenizer_hash;
  }
  ServiceOptions so = o.service;
  so.generate_rewrite = GenerateRewrite(o.adversary);
  so.predict_shortcut = PredictShortcut(o.adversary);
  MinerService service(std::move(*model), std::move(tokenizer), key, so);
  if (!package.empty()) service.ServePackage(loaded_hash, std::move(package));
  service.admission().Update(Members(*mg));
  absl::Status s = service.Start();
  if (!s.ok()) return s;
  if (want.size_bytes > 0) {
    s = RegisterModel(**chain, o, *key, FindNeuron(*mg, hotkey)->model, want);
    if (!s.ok()) {
      if (o.adversary.mode == "honest") return s;
      AGORA_LOG(WARN, "miner", "%s (mode %s: serving anyway)", s.message(), o.adversary.mode);
    }
  }
  const std::string announce = o.public_endpoint.empty() ? service.endpoint() : o.public_endpoint;
  const chain::NeuronInfo* me = FindNeuron(*mg, hotkey);
  if (me == nullptr || me->axon_endpoint != announce) {
    chain::ServeAxonTx tx;
    tx.netuid = o.netuid;
    tx.endpoint = announce;
    tx.version = 1;
    // A restart within the serving rate limit of the last announcement waits
    // it out rather than exiting.
    absl::StatusOr<chain::TxReceiptMsg> r =
        (*chain)->SendWhenAllowed(*key, chain::kTxServeAxon, tx, LogLimitWaits("serve_axon"));
    if (!r.ok()) return absl::Status(r.status().code(), absl::StrCat("serve_axon: ", r.status().message()));
  }
  AGORA_LOG(INFO, "miner", "serving %s on %s (metrics port %d)", ToHex(service.model().content_hash()),
            announce, service.metrics_port());
  if (!o.ready_file.empty()) {
    s = WriteFileAtomic(o.ready_file,
                        absl::StrCat(EncodeAddress(hotkey), "@", service.endpoint(), "\n",
                                     service.metrics_port(), "\n"),
                        0644);
    if (!s.ok()) return s;
  }

  // 5. Until stopped: keep admission in step with the metagraph: every
  // metagraph_refresh, and sooner (at most every kMissRefresh) after a
  // sender was refused as unregistered, so a newly registered validator is
  // served within a moment of its registration. A flood of unknown senders
  // costs at most one metagraph query per kMissRefresh.
  constexpr auto kMissRefresh = std::chrono::milliseconds(500);
  Clock::time_point last_refresh = Clock::now();
  uint64_t misses_seen = service.admission().Stats().unregistered;
  while (!stop->load()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    const Clock::time_point now = Clock::now();
    const uint64_t misses = service.admission().Stats().unregistered;
    const bool due = now >= last_refresh + o.metagraph_refresh;
    const bool missed = misses != misses_seen && now >= last_refresh + kMissRefresh;
    if (!due && !missed) continue;
    last_refresh = now;
    misses_seen = misses;
    absl::StatusOr<chain::Metagraph> fresh = (*chain)->GetMetagraph(o.netuid);
    if (fresh.ok()) {
      service.admission().Update(Members(*fresh));
      if (copying.source) {
        const absl::Status moved = copying.source->Update(*fresh);
        if (moved.ok() != copying.found) {
          copying.found = moved.ok();
          AGORA_LOG(WARN, "miner", "copycat: %s", moved.ok() ? "the copied miner is back" : moved.ToString());
        }
      }
    } else {
      AGORA_LOG(WARN, "miner", "metagraph refresh: %s (keeping the last one)", fresh.status().ToString());
    }
  }
  AGORA_LOG(INFO, "miner", "stopping: draining in-flight requests");
  service.Stop();
  return absl::OkStatus();
}

}  // namespace agora::miner
