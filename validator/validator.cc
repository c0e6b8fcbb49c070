#include "validator/validator.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <mutex>
#include <memory>
#include <optional>
#include <set>
#include <thread>
#include <utility>

#include <nlohmann/json.hpp>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "chain/client.h"
#include "chain/tx.h"
#include "chain/tx_reject.h"
#include "common/address.h"
#include "common/clock.h"
#include "common/file_util.h"
#include "common/log.h"
#include "common/malloc_tuning.h"
#include "miner/handlers.h"
#include "miner/model.h"
#include "miner/sampling_check.h"
#include "protocol/codec.h"
#include "protocol/task_messages.h"
#include "scoring/completion_scoring.h"
#include "scoring/predict_scoring.h"
#include "validator/duplicates.h"
#include "validator/fan_out.h"
#include "validator/gateway.h"
#include "validator/gateway_logprobs.h"
#include "validator/holdout.h"
#include "validator/model_store.h"
#include "validator/record_audit.h"
#include "validator/score_record.h"
#include "validator/spot_check.h"
#include "validator/state.h"
#include "validator/check_seed.h"
#include "validator/copy_weights.h"
#include "validator/weights.h"

namespace agora::validator {
namespace {

using protocol::MessageKind;
using Clock = std::chrono::steady_clock;

uint64_t RandomU64() {
  uint64_t v = 0;
  RandomBytes(absl::MakeSpan(reinterpret_cast<uint8_t*>(&v), sizeof v));
  return v;
}

// Teacher forcing of completions under `model`: each row is the prompt
// followed by the completion, cut at the front to the model's context; the
// result holds each completion's per-token log-probabilities (all of them
// unless the completion alone exceeds the context).
absl::StatusOr<std::vector<std::vector<float>>> CompletionLogprobs(
    miner::ModelBackend& model, const std::vector<uint32_t>& prompt,
    const std::vector<const protocol::GenerateReply*>& completions) {
  const size_t ctx = model.max_context();
  std::vector<std::vector<uint32_t>> rows;
  std::vector<size_t> from;
  for (const protocol::GenerateReply* c : completions) {
    std::vector<uint32_t> row = prompt;
    row.insert(row.end(), c->tokens.begin(), c->tokens.end());
    if (row.size() > ctx) row.erase(row.begin(), row.end() - ctx);
    from.push_back(row.size() - std::min(c->tokens.size(), row.size() - 1));
    rows.push_back(std::move(row));
  }
  return model.TokenLogprobs(rows, from);
}

// A miner asked in this step.
struct Target {
  uint16_t uid = 0;
  PublicKey hotkey{};
  protocol::Peer peer;
  chain::ModelRegistration model;  // what its answers must name (block 0: none)
  // Why its answers cannot earn this step (no registered model, the model
  // cannot be had); empty when the validator holds the registered model.
  std::string model_problem;
  // The validator cannot check this miner yet (it holds no validator permit
  // to fetch the model with, or the model is still being fetched): its
  // answers are not scored at all this step.
  bool unverifiable = false;
};

// Why an answer naming `claimed` earns nothing from `t`, or "" if it may.
std::string ModelVerdict(const Target& t, const Hash256& claimed) {
  if (!t.model_problem.empty()) return t.model_problem;
  if (claimed != t.model.content_hash) {
    return absl::StrCat("answer names model ", ToHex(claimed), ", but uid ", t.uid,
                        " registered model ", ToHex(t.model.content_hash));
  }
  return "";
}

// What one miner earned in this step, for the moving average and the record.
struct MinerOutcome {
  Target target;
  std::string answer_hash;  // hex BLAKE2b of the reply body; empty without one
  std::string answer_body;  // the reply body itself, in steps that publish answers
  std::string model;        // claimed model hash, hex
  double latency_ms = 0;
  scoring::PredictScore predict;
  std::optional<double> generate;  // set in generate steps for valid completions
  std::string generate_reason;
  std::string evidence;     // spot-check failure
  // Its predict answer was the same as this uid's (duplicates.h): the two
  // models compute the same function, so its completion counts as that
  // uid's too.
  std::optional<uint16_t> predict_same_as;
  // Whether its valid completion was re-run (absent: no valid completion):
  // always while the miner is not cleared, else as the epoch's secret draws.
  std::optional<bool> rechecked;
  // Its completion was re-run on its model and matched, and counts (not a
  // duplicate): clears the miner for pay (state.h PayableScore).
  bool completion_verified = false;
  double step_score = 0;
};

// The duplicate rule (validator/duplicates.h) over a step's answers: of the
// miners `eligible` says answered validly, one whose answer is the same as
// another's that answers first (by `races`, which learns from this step) is
// handed to `mark` with the uid it duplicates. Miners with spot-check
// evidence may not lead.
template <typename Reply, typename Eligible, typename Mark>
void MarkDuplicates(const std::vector<Reply>& decoded, const std::vector<TimedReply>& replies,
                    DuplicateHistory& races, const SameAnswerTolerance& tolerance,
                    std::vector<MinerOutcome>& out, Eligible eligible, Mark mark) {
  std::vector<Response<Reply>> responses(out.size());
  for (size_t m = 0; m < out.size(); ++m) {
    if (!eligible(out[m])) continue;
    responses[m] = {&decoded[m], out[m].target.uid, out[m].target.hotkey,
                    replies[m].latency.count() / 1000.0, out[m].evidence.empty(),
                    out[m].target.model.block};
  }
  const DuplicateResult dup = FindDuplicates(responses, races, tolerance);
  races.Add(dup.races);
  for (size_t m = 0; m < out.size(); ++m) {
    if (dup.duplicate_of[m]) mark(out[m], out[*dup.duplicate_of[m]].target.uid);
  }
}

// A duplicate predict answer is invalid (loss and score 0), with the reason.
void MarkPredictDuplicates(const std::vector<protocol::PredictReply>& decoded,
                           const std::vector<TimedReply>& replies, DuplicateHistory& races,
                           const SameAnswerTolerance& tolerance, std::vector<MinerOutcome>& out) {
  MarkDuplicates(
      decoded, replies, races, tolerance, out, [](const MinerOutcome& o) { return o.predict.valid; },
      [](MinerOutcome& o, uint16_t leader) {
        o.predict = scoring::PredictScore{};
        o.predict.reason = absl::StrCat("duplicate of uid ", leader, "'s answer");
        o.predict_same_as = leader;
      });
}

// A duplicate judged completion's generate score is 0.
void MarkGenerateDuplicates(const std::vector<protocol::GenerateReply>& decoded,
                            const std::vector<TimedReply>& replies, DuplicateHistory& races,
                            const SameAnswerTolerance& tolerance, std::vector<MinerOutcome>& out) {
  MarkDuplicates(
      decoded, replies, races, tolerance, out,
      [](const MinerOutcome& o) { return o.generate.has_value() && o.generate_reason.empty(); },
      [](MinerOutcome& o, uint16_t leader) {
        o.generate = 0.0;
        o.generate_reason = absl::StrCat("duplicate of uid ", leader, "'s completion");
      });
}

class Validator {
 public:
  Validator(const ValidatorOptions& o, const std::atomic<bool>* stop) : o_(o), stop_(stop) {}

  absl::Status Init();
  // One step; errors are only those that must stop the validator (the state
  // file cannot be written). Everything else is logged and retried.
  absl::Status Step();

 private:
  absl::StatusOr<chain::Metagraph> Metagraph(bool include_weights = false);
  absl::Status CopyStep();
  absl::Status ReconnectChain();
  std::vector<Target> PickTargets(const chain::Metagraph& mg);
  // Whether pay waits for a verified completion (state.h PayableScore): only
  // a validator that sends generate challenges re-runs completions of every
  // miner, so only it can ask for one.
  bool RequiresVerifiedCompletion() const { return o_.generate_every > 0; }
  // Answers a re-run could not tell apart are the same answer (duplicates.h).
  SameAnswerTolerance SameAnswer() const {
    return {o_.spot_tolerance, o_.spot_tolerance, o_.derived_tolerance};
  }
  miner::ModelBackend* Known(const Hash256& hash);
  // Sets each target's model verdict: its registered model obtained (held
  // or fetched from it), or why not.
  void PrepareModels(const chain::Metagraph& mg, std::vector<Target>& targets);
  void ScorePredictStep(const std::vector<Challenge>& challenges, size_t checked,
                        const std::vector<TimedReply>& replies, std::vector<MinerOutcome>& out);
  // `ordinal` numbers the completions of this step for the re-run draw
  // (check_seed.h CompletionDrawn): the generate challenge's, then each
  // organic sample's.
  void ScoreGenerateStep(const Challenge& prompt, const protocol::GenerateRequest& request,
                         const std::vector<TimedReply>& replies, uint32_t ordinal,
                         std::vector<MinerOutcome>& out);
  // Whether the target's current standing has a verified completion (state.h).
  bool Cleared(const Target& t) const;
  void ScoreOrganic(const chain::Metagraph& mg);
  void CheckOrganicPredict(const OrganicSample& sample, uint32_t ordinal,
                           std::vector<MinerOutcome>& out);
  void PublishToGateway(const chain::Metagraph& mg);
  std::vector<double> Judge(const std::vector<uint32_t>& prompt,
                            const std::vector<const protocol::GenerateReply*>& completions);
  void UpdateScores(const chain::Metagraph& mg, std::vector<MinerOutcome>& out);
  std::optional<nlohmann::json> MaybeSetWeights(const chain::Metagraph& mg);
  absl::Status Save();

  const ValidatorOptions& o_;
  const std::atomic<bool>* stop_;
  std::string state_path_;
  std::string chain_url_;
  DaemonWallet wallet_;
  std::unique_ptr<chain::ChainClient> chain_;
  Clock::time_point last_chain_ok_ = Clock::now();
  std::unique_ptr<protocol::Client> client_;
  std::unique_ptr<HoldoutSource> holdout_;
  std::unique_ptr<ModelStore> models_;  // the loop thread's; forward passes under models_mu_
  miner::ModelBackend* reference_ = nullptr;
  // The models are not thread-safe; the gateway's judge runs on HTTP threads.
  std::mutex models_mu_;
  std::unique_ptr<Gateway> gateway_;  // after client_: stopped before it
  std::map<uint16_t, std::string> models_seen_;  // uid -> model hash it last answered with
  // Who answered first among miners that gave the same answer; saved with
  // the state (Save) and restored by Init, so a restart changes no leader.
  DuplicateHistory predict_races_, generate_races_;
  uint64_t weights_ok_ = 0, weights_refused_ = 0;
  nlohmann::json organic_ = nlohmann::json::array();  // ScoreOrganic's updates, for the next record
  ValidatorState state_;
  uint16_t self_uid_ = 0;
  size_t rotation_ = 0;  // round-robin position when sampling
  bool warned_holdout_ = false;
  Clock::time_point last_holdout_error_{};  // the used-up error, at most once a minute
};

absl::Status Validator::Init() {
  if (o_.data_dir.empty()) return absl::InvalidArgumentError("data_dir: required");
  std::error_code ec;
  std::filesystem::create_directories(o_.data_dir, ec);
  if (ec) return absl::InternalError(absl::StrCat("data_dir ", o_.data_dir, ": ", ec.message()));
  state_path_ = o_.data_dir + "/validator.state";

  absl::StatusOr<DaemonWallet> wallet = OpenDaemonWallet(o_.wallet);
  if (!wallet.ok()) return wallet.status();
  wallet_ = std::move(*wallet);
  const PublicKey me = wallet_.hotkey->public_key();
  AGORA_LOG(INFO, "validator", "hotkey %s (wallet %s/%s)", EncodeAddress(me), o_.wallet.wallet,
            o_.wallet.hotkey);

  // A copier asks no questions: it needs no held-out text (nor models).
  if (!o_.copy_weights) {
    absl::StatusOr<std::unique_ptr<HoldoutSource>> holdout =
        o_.holdout_command.empty() ? HoldoutSource::Open(o_.holdout)
                                   : HoldoutSource::OpenCommand(o_.holdout_command);
    if (!holdout.ok()) return holdout.status();
    holdout_ = std::move(*holdout);
  }

  absl::StatusOr<ValidatorState> loaded = LoadState(state_path_);
  if (loaded.ok()) {
    if (loaded->hotkey != me || loaded->netuid != o_.netuid) {
      return absl::FailedPreconditionError(absl::StrCat(
          state_path_, " belongs to hotkey ", EncodeAddress(loaded->hotkey), " on subnet ",
          loaded->netuid, "; use another data_dir"));
    }
    state_ = std::move(*loaded);
    predict_races_.Restore(state_.predict_races);
    generate_races_.Restore(state_.generate_races);
    AGORA_LOG(INFO, "validator", "resuming at step %d (%d scored uids, %d pending commits)",
              state_.step, state_.scores.size(), state_.commits.size());
    // A kill -9 after the last step's state but before its record file.
    absl::Status r = WritePendingRecord(state_, o_.data_dir + "/records");
    if (!r.ok()) return r;
  } else if (absl::IsNotFound(loaded.status())) {
    state_.hotkey = me;
    state_.netuid = o_.netuid;
  } else {
    return loaded.status();
  }
  if (holdout_ && (holdout_->endless() || state_.holdout_fingerprint != holdout_->fingerprint())) {
    // A command's stream is new at every start: it begins at 0.
    if (!state_.holdout_fingerprint.empty() && !holdout_->endless()) {
      AGORA_LOG(WARN, "validator", "held-out sources changed: starting them from the beginning");
    }
    state_.holdout_fingerprint = holdout_->fingerprint();
    state_.holdout_cursor = 0;
  }
  if (holdout_ && holdout_->endless()) {
    AGORA_LOG(INFO, "validator", "challenge text: read as needed from `%s`", o_.holdout_command);
  } else if (holdout_) {
    AGORA_LOG(INFO, "validator", "held-out text: %d bytes, %d used; lasts ~%.0f steps (~%.1f h)",
              holdout_->size(), state_.holdout_cursor,
              StepsLeft(holdout_->size(), state_.holdout_cursor, o_.challenges, o_.min_prefix,
                        o_.max_prefix),
              StepsLeft(holdout_->size(), state_.holdout_cursor, o_.challenges, o_.min_prefix,
                        o_.max_prefix) *
                  std::chrono::duration<double>(o_.step_interval).count() / 3600.0);
  }
  absl::Status s = Save();
  if (!s.ok()) return s;

  // Models: the ones the validator holds, by content hash; miners' registered
  // models are fetched into <data_dir>/models as they are needed.
  ModelStoreOptions mso = o_.model_store;
  mso.dir = o_.data_dir + "/models";
  mso.cpu = o_.cpu;
  models_ = std::make_unique<ModelStore>(mso);
  std::vector<std::string> dirs = o_.known_models;
  if (!o_.reference_model.empty()) dirs.push_back(o_.reference_model);
  for (const std::string& dir : dirs) {
    absl::StatusOr<miner::ModelBackend*> m = models_->AddLocal(dir);
    if (!m.ok()) return absl::Status(m.status().code(), absl::StrCat("model ", dir, ": ", m.status().message()));
    AGORA_LOG(INFO, "validator", "holds model %s: %s", ToHex((*m)->content_hash()), (*m)->Describe());
    if (dir == o_.reference_model) reference_ = *m;
  }
  if (o_.generate_every > 0 && reference_ == nullptr) {
    return absl::InvalidArgumentError("generate_every > 0 needs reference_model");
  }
  AGORA_LOG(INFO, "validator", "scoring on %s",
            scoring::ScoringDevice(scoring::PredictScoringOptions{.use_cuda = !o_.cpu}));

  absl::StatusOr<std::string> url = chain::ResolveChainUrl(o_.chain_url, o_.chain_url_file);
  if (!url.ok()) return url.status();
  chain_url_ = *url;
  s = ReconnectChain();
  if (!s.ok()) return s;
  protocol::ClientOptions co;
  co.curve = o_.curve;
  absl::StatusOr<std::unique_ptr<protocol::Client>> client =
      protocol::Client::Create(wallet_.hotkey, co);
  if (!client.ok()) return client.status();
  client_ = std::move(*client);
  if (o_.gateway.port >= 0) {
    GatewayOptions go = o_.gateway;
    go.ledger_path = o_.data_dir + "/gateway.db";
    go.deposit_address = EncodeAddress(me);
    CompletionJudge judge;
    if (reference_ != nullptr) {
      judge = [this](const std::vector<uint32_t>& prompt,
                     const std::vector<const protocol::GenerateReply*>& c) { return Judge(prompt, c); };
    }
    gateway_ = std::make_unique<Gateway>(go, client_.get(), judge);
    s = gateway_->Start();
    if (!s.ok()) return s;
    if (!o_.gateway_ready_file.empty()) {
      s = WriteFileAtomic(o_.gateway_ready_file,
                          absl::StrCat("http://", go.host, ":", gateway_->port(), "\n"), 0644);
      if (!s.ok()) return s;
    }
  }

  absl::StatusOr<chain::Metagraph> mg = chain_->GetMetagraph(o_.netuid);
  if (!mg.ok()) return absl::Status(mg.status().code(), absl::StrCat("metagraph of subnet ", o_.netuid, ": ", mg.status().message()));
  bool registered = false;
  for (const chain::NeuronInfo& n : mg->neurons) {
    if (n.hotkey == me) {
      registered = true;
      self_uid_ = n.uid;
    }
  }
  if (!registered) {
    return absl::FailedPreconditionError(absl::StrCat(
        "hotkey ", EncodeAddress(me), " is not registered on subnet ", o_.netuid,
        "; register it first (agora register --netuid ", o_.netuid, " ...)"));
  }
  AGORA_LOG(INFO, "validator", "uid %d on subnet %d (%d uids, commit-reveal %s)", self_uid_,
            o_.netuid, mg->n, mg->params.commit_reveal ? "on" : "off");
  return absl::OkStatus();
}

absl::Status Validator::ReconnectChain() {
  chain::ChainClientOptions co;
  co.curve = o_.curve;
  // Short attempts: a stalled chain shows up within a step, not minutes later.
  co.timeout = std::chrono::milliseconds(std::max<int64_t>(500, o_.chain_stall.count() / 4));
  co.attempts = 2;
  absl::StatusOr<std::unique_ptr<chain::ChainClient>> c =
      chain::ChainClient::Connect(chain_url_, wallet_.hotkey, co);
  if (!c.ok()) return c.status();
  chain_ = std::move(*c);
  last_chain_ok_ = Clock::now();
  return absl::OkStatus();
}

// The metagraph, with the watchdog: after `chain_stall` without a good
// answer the chain client (and its sockets) is rebuilt.
absl::StatusOr<chain::Metagraph> Validator::Metagraph(bool include_weights) {
  absl::StatusOr<chain::Metagraph> mg = chain_->GetMetagraph(o_.netuid, false, include_weights);
  if (mg.ok()) {
    last_chain_ok_ = Clock::now();
    return mg;
  }
  AGORA_LOG(WARN, "validator", "metagraph: %s", mg.status().ToString());
  if (Clock::now() - last_chain_ok_ > o_.chain_stall) {
    AGORA_LOG(WARN, "validator", "no answer from the chain for %d ms: reconnecting",
              std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - last_chain_ok_).count());
    absl::Status s = ReconnectChain();
    if (!s.ok()) AGORA_LOG(WARN, "validator", "reconnect: %s", s.ToString());
  }
  return mg;
}

std::vector<Target> Validator::PickTargets(const chain::Metagraph& mg) {
  std::vector<Target> all;
  for (const chain::NeuronInfo& n : mg.neurons) {
    if (n.uid == self_uid_ || n.axon_endpoint.empty()) continue;
    Target& t = all.emplace_back();
    t.uid = n.uid;
    t.hotkey = n.hotkey;
    t.peer = protocol::Peer{n.axon_endpoint, n.hotkey};
    t.model = n.model;
  }
  if (o_.sample_size == 0 || o_.sample_size >= all.size()) return all;
  std::vector<Target> out;
  for (size_t k = 0; k < o_.sample_size; ++k) out.push_back(all[(rotation_ + k) % all.size()]);
  rotation_ = (rotation_ + o_.sample_size) % all.size();
  return out;
}

miner::ModelBackend* Validator::Known(const Hash256& hash) { return models_->Find(hash); }

void Validator::PrepareModels(const chain::Metagraph& mg, std::vector<Target>& targets) {
  bool permit = false;
  std::set<Hash256> registered;
  for (const chain::NeuronInfo& n : mg.neurons) {
    if (n.uid == self_uid_) permit = n.validator_permit;
    if (n.model.block != 0) registered.insert(n.model.content_hash);
  }
  {
    std::lock_guard<std::mutex> lock(models_mu_);
    models_->Retain(registered);
  }
  // Models not held yet are fetched by the store's worker (Request never
  // waits), so neither this loop nor the gateway's judge waits for a
  // download; a miner whose model is still coming sits the step out.
  for (Target& t : targets) {
    if (t.model.block == 0) {
      t.model_problem = absl::StrCat("uid ", t.uid, " has no registered model (register_model)");
      continue;
    }
    if (Known(t.model.content_hash) != nullptr) continue;
    if (!permit) {  // miners hand models only to permit holders: not the miner's fault
      t.unverifiable = true;
      t.model_problem = absl::StrCat("not scored: this validator holds no validator permit yet "
                                     "to fetch model ", ToHex(t.model.content_hash));
      continue;
    }
    bool fetching = false;
    absl::StatusOr<miner::ModelBackend*> m = models_->Request(t.model, t.peer, *client_, &fetching);
    if (fetching) {  // in the background (model_store.h): not the miner's fault yet
      t.unverifiable = true;
      t.model_problem = absl::StrCat("not scored: model ", ToHex(t.model.content_hash),
                                     " is being fetched");
    } else if (!m.ok()) {
      t.model_problem = absl::StrCat("registered model ", ToHex(t.model.content_hash),
                                     " not obtained: ", m.status().message());
    }
  }
}

void Validator::ScorePredictStep(const std::vector<Challenge>& challenges, size_t checked,
                                 const std::vector<TimedReply>& replies,
                                 std::vector<MinerOutcome>& out) {
  std::vector<protocol::PredictReply> decoded(replies.size());
  scoring::PredictStep step;
  step.vocab_size = kChallengeVocab;
  for (const Challenge& c : challenges) step.targets.push_back(c.target);
  step.answers.assign(replies.size(), nullptr);
  std::vector<std::string> transport_reason(replies.size());
  for (size_t m = 0; m < replies.size(); ++m) {
    const TimedReply& r = replies[m];
    out[m].latency_ms = r.latency.count() / 1000.0;
    if (!r.reply.ok()) {
      transport_reason[m] = std::string(r.reply.status().message());
      continue;
    }
    out[m].answer_hash = ToHex(Blake2b256(r.reply->body()));
    if (r.reply->header.kind != MessageKind::kPredictReply) {
      transport_reason[m] = "reply of the wrong kind";
      continue;
    }
    absl::StatusOr<protocol::PredictReply> rep =
        protocol::Decode<protocol::PredictReply>(r.reply->body(), "PredictReply");
    if (!rep.ok()) {
      transport_reason[m] = std::string(rep.status().message());
      continue;
    }
    decoded[m] = std::move(*rep);
    out[m].model = ToHex(decoded[m].model_hash);
    models_seen_[out[m].target.uid] = out[m].model;
    transport_reason[m] = ModelVerdict(out[m].target, decoded[m].model_hash);
    if (transport_reason[m].empty()) step.answers[m] = &decoded[m];
  }
  std::vector<scoring::PredictScore> scores =
      scoring::ScorePredict(step, scoring::PredictScoringOptions{.use_cuda = !o_.cpu});
  for (size_t m = 0; m < replies.size(); ++m) {
    out[m].predict = scores[m];
    if (!transport_reason[m].empty()) out[m].predict.reason = transport_reason[m];
  }

  // Re-execution: challenge `checked` (chosen by the epoch's committed
  // secret, check_seed.h) is re-run once per model named by a valid answer,
  // which is always the answering uid's registered model, held (ModelVerdict).
  if (challenges.empty()) return;
  std::lock_guard<std::mutex> lock(models_mu_);
  std::map<Hash256, std::vector<float>> truth;
  for (size_t m = 0; m < replies.size(); ++m) {
    if (!out[m].predict.valid) continue;
    miner::ModelBackend* model = Known(decoded[m].model_hash);
    if (model == nullptr) {  // ModelVerdict passed, so not expected: fail closed
      out[m].predict = scoring::PredictScore{};
      out[m].predict.reason = absl::StrCat("model ", out[m].model, " is not held");
      continue;
    }
    auto it = truth.find(decoded[m].model_hash);
    if (it == truth.end()) {
      absl::StatusOr<miner::Logits> logits = model->NextTokenLogits({challenges[checked].prefix});
      if (!logits.ok()) {
        AGORA_LOG(WARN, "validator", "spot check model: %s", logits.status().ToString());
        continue;
      }
      it = truth.emplace(decoded[m].model_hash, miner::Softmax(logits->Row(0))).first;
    }
    const double gap = DistributionGap(decoded[m].distributions[checked], it->second);
    if (!(gap <= o_.spot_tolerance)) {
      out[m].evidence = absl::StrFormat(
          "predict challenge %d: distribution differs from model %s by %.4f (tolerance %.4f)",
          checked, out[m].model, gap, o_.spot_tolerance);
    }
  }
  // After the spot checks: a miner caught by one may not lead (duplicates.h).
  MarkPredictDuplicates(decoded, replies, predict_races_, SameAnswer(), out);
}

bool Validator::Cleared(const Target& t) const {
  for (const MinerScore& s : state_.scores) {
    if (s.uid == t.uid) return s.hotkey == t.hotkey && s.completion_verified;
  }
  return false;
}

void Validator::ScoreGenerateStep(const Challenge& prompt, const protocol::GenerateRequest& request,
                                  const std::vector<TimedReply>& replies, uint32_t ordinal,
                                  std::vector<MinerOutcome>& out) {
  const uint32_t max_tokens = request.max_tokens;
  std::lock_guard<std::mutex> lock(models_mu_);
  std::vector<protocol::GenerateReply> decoded(replies.size());
  std::vector<size_t> valid;
  for (size_t m = 0; m < replies.size(); ++m) {
    const TimedReply& r = replies[m];
    if (!r.reply.ok()) {
      out[m].generate_reason = std::string(r.reply.status().message());
      continue;
    }
    absl::StatusOr<protocol::GenerateReply> rep =
        r.reply->header.kind == MessageKind::kGenerateReply
            ? protocol::Decode<protocol::GenerateReply>(r.reply->body(), "GenerateReply")
            : absl::InvalidArgumentError("reply of the wrong kind");
    if (!rep.ok()) {
      out[m].generate_reason = std::string(rep.status().message());
      continue;
    }
    std::string bad;
    if (rep->tokens.empty() || rep->tokens.size() > max_tokens) {
      bad = absl::StrCat(rep->tokens.size(), " tokens for max_tokens ", max_tokens);
    } else if (rep->logprobs.size() != rep->tokens.size()) {
      bad = "logprobs and tokens differ in length";
    }
    for (uint32_t t : rep->tokens) {
      if (t >= reference_->vocab_size()) bad = absl::StrCat("token id ", t, " out of range");
    }
    if (bad.empty()) bad = ModelVerdict(out[m].target, rep->model_hash);
    if (!bad.empty()) {
      out[m].generate_reason = bad;
      out[m].generate = 0.0;
      continue;
    }
    decoded[m] = std::move(*rep);
    valid.push_back(m);
  }
  if (valid.empty()) return;
  // One teacher-forced pass of the reference model over every completion.
  {
    std::vector<const protocol::GenerateReply*> completions;
    for (size_t m : valid) completions.push_back(&decoded[m]);
    absl::StatusOr<std::vector<std::vector<float>>> lp =
        CompletionLogprobs(*reference_, prompt.prefix, completions);
    if (!lp.ok()) {
      AGORA_LOG(WARN, "validator", "reference model: %s", lp.status().ToString());
      return;
    }
    for (size_t k = 0; k < valid.size(); ++k) out[valid[k]].generate = scoring::CompletionScore((*lp)[k]);
  }
  // Re-execution: a completion is re-run on the model it names (its uid's
  // registered model, held: ModelVerdict passed) when its miner is not
  // cleared yet, or else when the epoch's committed secret draws it (at
  // completion_check_fraction), in one batched pass per model; every token
  // and log-probability is checked against it (miner/sampling_check.h).
  std::map<Hash256, std::vector<size_t>> by_model;
  for (size_t m : valid) {
    const uint16_t uid = out[m].target.uid;
    out[m].rechecked = !Cleared(out[m].target) ||
                       CompletionDrawn(state_.check.secret, state_.step + 1, ordinal, uid,
                                       o_.completion_check_fraction);
    if (*out[m].rechecked) by_model[decoded[m].model_hash].push_back(m);
  }
  static const miner::ByteTokenizer kBytes;  // the validator's prompts are bytes, as its models'
  miner::CompletionCheckOptions check;
  check.sample_tolerance = o_.sample_tolerance;
  check.logprob_tolerance = o_.spot_tolerance;
  check.tokenizer = &kBytes;
  for (auto& [hash, idx] : by_model) {
    miner::ModelBackend* model = Known(hash);
    if (model == nullptr) {  // ModelVerdict passed, so not expected: fail closed
      for (size_t m : idx) {
        out[m].generate = 0.0;
        out[m].generate_reason = absl::StrCat("model ", ToHex(hash), " is not held");
      }
      continue;
    }
    std::vector<std::vector<uint32_t>> rows;
    std::vector<size_t> from;
    for (size_t m : idx) {
      std::vector<uint32_t> row = prompt.prefix;
      row.insert(row.end(), decoded[m].tokens.begin(), decoded[m].tokens.end());
      from.push_back(prompt.prefix.size());
      rows.push_back(std::move(row));
    }
    absl::StatusOr<std::vector<miner::Logits>> logits = model->PositionLogits(rows, from);
    if (!logits.ok()) {
      AGORA_LOG(WARN, "validator", "re-running model %s: %s", ToHex(hash), logits.status().ToString());
      continue;
    }
    for (size_t k = 0; k < idx.size(); ++k) {
      const miner::CompletionCheck r =
          miner::CheckCompletion(request, decoded[idx[k]], (*logits)[k], check);
      if (r.ok) {
        out[idx[k]].completion_verified = true;
      } else {
        out[idx[k]].evidence = absl::StrCat("generate: ", r.evidence, " (model ", ToHex(hash), ")");
      }
    }
  }
  MarkGenerateDuplicates(decoded, replies, generate_races_, SameAnswer(), out);
  for (MinerOutcome& o : out) {
    // A model whose predict answer is another's in this step (a copy, or a
    // model derived from it) earns nothing for its completion either, even
    // where sampling took it to other tokens.
    if (o.predict_same_as && o.generate && o.generate_reason.empty()) {
      o.generate = 0.0;
      o.generate_reason =
          absl::StrCat("its predict answer was uid ", *o.predict_same_as, "'s: so is its completion");
    }
    if (!o.evidence.empty() || !o.generate_reason.empty()) o.completion_verified = false;
  }
}

// How a step's outcome for a miner moves its standing: a failed check zeroes
// it for two epochs and takes its clearance away; a verified completion
// (re-run and matched) gives clearance back. The audit replays the same.
void ApplyCheckOutcome(MinerScore& s, const std::string& evidence, bool completion_verified,
                       uint64_t epoch) {
  if (!evidence.empty()) {
    s.zeroed_until_epoch = epoch + 2;
    s.completion_verified = false;
  } else if (completion_verified) {
    s.completion_verified = true;
  }
}

void Validator::UpdateScores(const chain::Metagraph& mg, std::vector<MinerOutcome>& out) {
  // Keep only uids still on the subnet; a new hotkey on a uid starts afresh.
  std::map<uint16_t, MinerScore> by_uid;
  for (MinerScore& s : state_.scores) by_uid[s.uid] = s;
  std::map<uint16_t, MinerScore> kept;
  for (const chain::NeuronInfo& n : mg.neurons) {
    auto it = by_uid.find(n.uid);
    if (it != by_uid.end() && it->second.hotkey == n.hotkey) kept[n.uid] = it->second;
  }
  for (MinerOutcome& r : out) {
    MinerScore& s = kept[r.target.uid];
    if (s.hotkey != r.target.hotkey) s = MinerScore{r.target.uid, r.target.hotkey};
    double score = r.predict.valid ? r.predict.score : 0.0;
    if (r.generate) score = (1.0 - o_.generate_weight) * score + o_.generate_weight * *r.generate;
    // Answering within the deadline earns the score; answering faster earns
    // a little more, measured here, so holding answers back never pays.
    const double timeout_ms = double(o_.timeout.count());
    score *= 1.0 - o_.latency_weight * std::min(1.0, r.latency_ms / std::max(1.0, timeout_ms));
    ApplyCheckOutcome(s, r.evidence, r.completion_verified, mg.epoch_index);
    if (!r.evidence.empty()) {
      AGORA_LOG(WARN, "validator", "uid %d (%s) failed a spot check, zeroed until epoch %d: %s",
                r.target.uid, EncodeAddress(r.target.hotkey), s.zeroed_until_epoch, r.evidence);
    }
    if (mg.epoch_index < s.zeroed_until_epoch) score = 0;
    r.step_score = score;
    s.ema += o_.alpha * (score - s.ema);
    ++s.steps;
    if (r.predict.valid) s.last_loss = r.predict.loss;
  }
  state_.scores.clear();
  for (auto& [uid, s] : kept) state_.scores.push_back(s);
}

std::optional<nlohmann::json> Validator::MaybeSetWeights(const chain::Metagraph& mg) {
  const chain::SubnetParams& p = mg.params;
  const uint64_t interval =
      std::max<uint64_t>(o_.weights_interval > 0 ? o_.weights_interval : p.tempo,
                         p.weights_set_rate_limit);
  nlohmann::json done = nlohmann::json::object();
  const SigningKey& key = *wallet_.hotkey;

  // Reveals that are due (commit-reveal subnets).
  for (size_t i = 0; i < state_.commits.size();) {
    const PendingCommit& c = state_.commits[i];
    if (!p.commit_reveal || mg.epoch_index < c.epoch + p.reveal_period_epochs) {
      ++i;
      continue;
    }
    chain::RevealWeightsTx tx{o_.netuid, c.uids, c.weights, c.salt, c.version_key};
    absl::StatusOr<chain::TxReceiptMsg> r = chain_->Send(key, chain::kTxRevealWeights, tx);
    const std::optional<chain::TxReject> why = r.ok() ? std::nullopt : chain::TxRejectOf(r.status());
    if (r.ok()) {
      AGORA_LOG(INFO, "validator", "revealed weights committed in epoch %d (block %d)", c.epoch, r->block);
      state_.last_weights_block = std::max<uint64_t>(state_.last_weights_block, r->block);
      ++state_.weights_set;
      done["revealed"] = {{"epoch", c.epoch}, {"block", r->block}, {"uids", c.uids}, {"weights", c.weights}};
    } else if (why == chain::TxReject::kRevealTooEarly) {
      ++i;
      continue;
    } else if (!why.has_value()) {
      AGORA_LOG(WARN, "validator", "reveal: %s (will retry)", r.status().ToString());
      ++i;
      continue;
    } else {
      AGORA_LOG(WARN, "validator", "reveal refused, dropping that commit: %s", r.status().ToString());
    }
    state_.commits.erase(state_.commits.begin() + static_cast<std::ptrdiff_t>(i));
    (void)Save();
  }

  if (state_.last_weights_block != 0 && mg.block < state_.last_weights_block + interval) {
    return done.empty() ? std::nullopt : std::optional<nlohmann::json>(done);
  }
  if (p.commit_reveal && !state_.commits.empty()) {
    return done.empty() ? std::nullopt : std::optional<nlohmann::json>(done);  // one at a time
  }
  std::vector<uint16_t> uids;
  std::vector<double> scores;
  WeightRules rules;
  rules.n = static_cast<uint16_t>(mg.n);
  rules.self_uid = self_uid_;
  rules.min_allowed_weights = p.min_allowed_weights;
  rules.max_weight_limit = p.max_weight_limit;
  rules.power = o_.weight_power;
  if (o_.copy_weights) {
    CopiedWeights c = MeanVisibleWeights(mg.neurons, self_uid_);
    if (c.sources == 0) {  // nothing revealed yet: a self-weight would only waste the commit
      return done.empty() ? std::nullopt : std::optional<nlohmann::json>(done);
    }
    uids = std::move(c.uids);
    scores = std::move(c.shares);
    rules.power = 1.0;  // the shares are already the copied vector
  } else {
    for (const MinerScore& s : state_.scores) {
      uids.push_back(s.uid);
      scores.push_back(PayableScore(s.ema, s.zeroed_until_epoch, s.completion_verified,
                                    mg.epoch_index, RequiresVerifiedCompletion()));
    }
  }
  const WeightVector w = ComputeWeights(uids, scores, rules);

  absl::StatusOr<chain::TxReceiptMsg> r;
  if (p.commit_reveal) {
    Hash256 salt_bytes;
    RandomBytes(absl::MakeSpan(salt_bytes));
    PendingCommit c{mg.epoch_index, w.uids, w.weights, ToHex(salt_bytes), p.weights_version};
    // The salt is durable before the commit leaves: a crash after the chain
    // took it must still be able to reveal it.
    state_.commits.push_back(c);
    if (!Save().ok()) return std::nullopt;
    chain::CommitWeightsTx tx{o_.netuid, chain::WeightsCommitHash(key.public_key(), o_.netuid, c.uids,
                                                                  c.weights, c.salt, c.version_key)};
    r = chain_->Send(key, chain::kTxCommitWeights, tx);
    if (!r.ok() && chain::TxRejectOf(r.status()).has_value()) state_.commits.pop_back();
  } else {
    // The interval is spent on disk before the transaction leaves: after a
    // kill -9 between the chain taking it and the step's save, the restarted
    // validator must not set weights again within the interval (a kill
    // before the send only delays the next setting). Given back only when
    // the chain definitely refused it.
    const uint64_t previous = state_.last_weights_block;
    state_.last_weights_block = mg.block;
    if (!Save().ok()) {
      state_.last_weights_block = previous;
      return std::nullopt;
    }
    chain::SetWeightsTx tx{o_.netuid, w.uids, w.weights, p.weights_version};
    r = chain_->Send(key, chain::kTxSetWeights, tx);
    if (!r.ok() && chain::TxRejectOf(r.status()).has_value()) state_.last_weights_block = previous;
  }
  const char* what = p.commit_reveal ? "commit_weights" : "set_weights";
  if (!r.ok()) {
    const std::optional<chain::TxReject> why = chain::TxRejectOf(r.status());
    if (why == chain::TxReject::kRateLimited) {
      AGORA_LOG(INFO, "validator", "%s: too soon (%s); retrying next step", what, r.status().message());
    } else {
      AGORA_LOG(WARN, "validator", "%s refused: %s", what, r.status().ToString());
    }
    done["refused"] = {{"tx", what}, {"reason", std::string(r.status().message())}};
    ++weights_refused_;
    return done;
  }
  state_.last_weights_block = r->block;
  ++weights_ok_;
  if (!p.commit_reveal) ++state_.weights_set;
  std::string line;
  for (size_t k = 0; k < w.uids.size(); ++k) absl::StrAppend(&line, " ", w.uids[k], ":", w.weights[k]);
  AGORA_LOG(INFO, "validator", "%s in block %d:%s", what, r->block, line);
  // With what ComputeWeights was given, so anyone can recompute the vector.
  done[what] = {{"block", r->block}, {"uids", w.uids}, {"weights", w.weights},
                {"inputs", WeightInputsJson(uids, scores, rules)}};
  return done;
}

std::vector<double> Validator::Judge(const std::vector<uint32_t>& prompt,
                                     const std::vector<const protocol::GenerateReply*>& completions) {
  std::vector<double> out(completions.size(), 0.0);
  std::lock_guard<std::mutex> lock(models_mu_);
  absl::StatusOr<std::vector<std::vector<float>>> lp =
      CompletionLogprobs(*reference_, prompt, completions);
  if (!lp.ok()) return out;
  for (size_t k = 0; k < out.size(); ++k) out[k] = scoring::CompletionScore((*lp)[k]);
  return out;
}

// Answers the gateway collected: judged like generate challenges (when the
// validator has a reference model), each folding into the moving average
// with weight generate_weight; a failed spot check zeroes the miner.
void Validator::ScoreOrganic(const chain::Metagraph& mg) {
  if (!gateway_) return;
  uint32_t ordinal = kGenerateChallengeOrdinal;  // organic samples: 1, 2, ...
  for (OrganicSample& sample : gateway_->TakeOrganic(o_.organic_per_step)) {
    const bool predict = !sample.predict.empty();
    if (!predict && reference_ == nullptr) continue;
    std::vector<Target> targets;
    for (const auto& miner : sample.miners) {
      Target t;
      t.uid = miner.uid;
      t.hotkey = miner.hotkey;
      t.peer = protocol::Peer{miner.endpoint, miner.hotkey};
      for (const chain::NeuronInfo& n : mg.neurons) {
        if (n.uid == miner.uid && n.hotkey == miner.hotkey) t.model = n.model;
      }
      targets.push_back(std::move(t));
    }
    PrepareModels(mg, targets);
    std::vector<MinerOutcome> out(targets.size());
    for (size_t m = 0; m < out.size(); ++m) out[m].target = targets[m];
    ++ordinal;
    if (predict) {
      CheckOrganicPredict(sample, ordinal, out);
    } else {
      Challenge prompt;
      prompt.prefix = sample.prompt;
      ScoreGenerateStep(prompt, sample.request, sample.replies, ordinal, out);
    }
    for (const MinerOutcome& r : out) {
      if (r.target.unverifiable) continue;
      for (MinerScore& s : state_.scores) {
        if (s.uid != r.target.uid || s.hotkey != r.target.hotkey) continue;
        ApplyCheckOutcome(s, r.evidence, r.completion_verified, mg.epoch_index);
        if (!r.evidence.empty()) {
          AGORA_LOG(WARN, "validator", "uid %d failed a spot check on organic traffic: %s",
                    r.target.uid, r.evidence);
        }
        if (r.generate) s.ema += o_.alpha * o_.generate_weight * (*r.generate - s.ema);
        // Recorded in the order applied, so the moving average can be audited.
        nlohmann::json u = {{"uid", s.uid}, {"hotkey", EncodeAddress(s.hotkey)}};
        if (r.generate) u["generate_score"] = *r.generate;
        if (!r.evidence.empty()) u["evidence"] = r.evidence;
        if (r.completion_verified) u["completion_verified"] = true;
        if (r.rechecked) {
          u["sample"] = ordinal;
          u["rechecked"] = *r.rechecked;
        }
        if (predict) u["predict"] = true;
        if (r.generate || !r.evidence.empty() || (predict && r.rechecked)) {
          organic_.push_back(std::move(u));
        }
      }
    }
  }
}

// A gateway request for log-probabilities only (max_tokens 0): each valid
// answer is re-run under the rule of completions (always until its miner is
// cleared, then as the epoch's secret draws), at one of its positions the
// miner cannot know in advance; a distribution off by more than
// spot_tolerance is evidence. Answers earn no score here: quality is what
// challenges measure.
void Validator::CheckOrganicPredict(const OrganicSample& sample, uint32_t ordinal,
                                    std::vector<MinerOutcome>& out) {
  size_t positions = 0;
  for (const protocol::PredictRequest& r : sample.predict) positions += r.prefixes.size();
  if (positions == 0) return;
  std::lock_guard<std::mutex> lock(models_mu_);
  for (size_t m = 0; m < out.size() && m < sample.predict_replies.size(); ++m) {
    if (out[m].target.unverifiable) continue;
    const std::vector<TimedReply>& replies = sample.predict_replies[m];
    if (replies.size() != sample.predict.size()) continue;
    std::vector<protocol::PredictReply> decoded;
    for (const TimedReply& t : replies) {
      if (!t.reply.ok() || t.reply->header.kind != MessageKind::kPredictReply) break;
      absl::StatusOr<protocol::PredictReply> d =
          protocol::Decode<protocol::PredictReply>(t.reply->body(), "PredictReply");
      if (!d.ok()) break;
      decoded.push_back(std::move(*d));
    }
    if (decoded.size() != replies.size()) continue;  // no answer: nothing to check
    if (!CollectDistributions(sample.predict, decoded).ok()) continue;  // malformed: never served
    bool same_model = true;
    for (const protocol::PredictReply& d : decoded) same_model &= d.model_hash == decoded[0].model_hash;
    if (!same_model || !ModelVerdict(out[m].target, decoded[0].model_hash).empty()) continue;
    out[m].rechecked = !Cleared(out[m].target) ||
                       CompletionDrawn(state_.check.secret, state_.step + 1, ordinal,
                                       out[m].target.uid, o_.completion_check_fraction);
    if (!*out[m].rechecked) continue;
    miner::ModelBackend* model = Known(decoded[0].model_hash);
    if (model == nullptr) continue;
    size_t pick = RandomU64() % positions, chunk = 0;
    while (pick >= sample.predict[chunk].prefixes.size()) pick -= sample.predict[chunk++].prefixes.size();
    const std::vector<uint32_t>& prefix = sample.predict[chunk].prefixes[pick];
    absl::StatusOr<miner::Logits> logits = model->NextTokenLogits({prefix});
    if (!logits.ok()) {
      AGORA_LOG(WARN, "validator", "re-running model %s: %s", ToHex(decoded[0].model_hash),
                logits.status().ToString());
      continue;
    }
    const double gap =
        DistributionGap(decoded[chunk].distributions[pick], miner::Softmax(logits->Row(0)));
    if (!(gap <= o_.spot_tolerance)) {
      out[m].evidence = absl::StrFormat(
          "predict (organic): distribution differs from model %s by %.4f (tolerance %.4f)",
          ToHex(decoded[0].model_hash), gap, o_.spot_tolerance);
    }
  }
}

void Validator::PublishToGateway(const chain::Metagraph& mg) {
  if (!gateway_) return;
  absl::StatusOr<size_t> credited =
      gateway_->CreditDeposits(*chain_, wallet_.hotkey->public_key(), mg.block);
  if (!credited.ok()) {
    AGORA_LOG(WARN, "gateway", "scanning deposits: %s", credited.status().ToString());
  } else if (*credited > 0) {
    AGORA_LOG(INFO, "gateway", "credited %d deposits", *credited);
  }
  if (o_.fee_forward_interval > 0 && state_.step % o_.fee_forward_interval == 0) {
    absl::StatusOr<size_t> paid = gateway_->ForwardFees(*chain_, *wallet_.hotkey);
    if (!paid.ok()) AGORA_LOG(WARN, "gateway", "forwarding fees: %s", paid.status().ToString());
  }
  std::map<uint16_t, const MinerScore*> by_uid;
  for (const MinerScore& s : state_.scores) by_uid[s.uid] = &s;
  std::vector<RankedMiner> ranked;
  nlohmann::json neurons = nlohmann::json::array();
  HistoryPoint point;  // the dashboard's history (validator/gateway_history.h)
  point.block = mg.block;
  point.epoch = mg.epoch_index;
  point.step = state_.step;
  for (const chain::NeuronInfo& n : mg.neurons) {
    auto it = by_uid.find(n.uid);
    const MinerScore* s = it != by_uid.end() && it->second->hotkey == n.hotkey ? it->second : nullptr;
    const bool zeroed = s != nullptr && mg.epoch_index < s->zeroed_until_epoch;
    const bool unverified = s != nullptr && RequiresVerifiedCompletion() && !s->completion_verified;
    const double payable =
        s == nullptr ? 0.0
                     : PayableScore(s->ema, s->zeroed_until_epoch, s->completion_verified,
                                    mg.epoch_index, RequiresVerifiedCompletion());
    const std::string model = models_seen_.count(n.uid) ? models_seen_[n.uid] : "";
    if (n.uid != self_uid_ && !n.axon_endpoint.empty() && payable > 0) {
      ranked.push_back(RankedMiner{n.uid, n.hotkey, n.axon_endpoint, s->ema, model, n.coldkey});
    }
    neurons.push_back({{"uid", n.uid},
                       {"hotkey", EncodeAddress(n.hotkey)},
                       {"stake", n.stake},
                       {"validator_permit", n.validator_permit},
                       {"incentive", n.incentive / 65535.0},
                       {"dividends", n.dividends / 65535.0},
                       {"consensus", n.consensus / 65535.0},
                       {"validator_trust", n.validator_trust / 65535.0},
                       {"active", n.active},
                       {"emission", n.emission},
                       {"endpoint", n.axon_endpoint},
                       {"model", model},
                       {"score", s ? s->ema : 0.0},
                       {"heldout_loss", s ? s->last_loss : 0.0},
                       {"zeroed", zeroed},
                       {"unverified", unverified}});
    point.neurons.push_back(HistoryNeuron{n.uid, n.incentive / 65535.0, n.emission, n.validator_permit,
                                          n.validator_trust / 65535.0});
  }
  gateway_->RecordHistory(std::move(point));
  nlohmann::json mgj = {{"netuid", mg.netuid}, {"block", mg.block}, {"epoch", mg.epoch_index},
                        {"validator_uid", self_uid_}, {"step", state_.step}, {"neurons", neurons}};
  gateway_->SetMiners(std::move(ranked), mgj.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  gateway_->SetExtraMetrics(absl::StrCat(
      "# HELP agora_validator_steps_total Validator steps completed.\n"
      "# TYPE agora_validator_steps_total counter\n"
      "agora_validator_steps_total ", state_.step, "\n",
      "# HELP agora_validator_weights_total Weight transactions by outcome.\n"
      "# TYPE agora_validator_weights_total counter\n"
      "agora_validator_weights_total{outcome=\"accepted\"} ", weights_ok_, "\n",
      "agora_validator_weights_total{outcome=\"refused\"} ", weights_refused_, "\n"));
}

absl::Status Validator::Save() {
  state_.predict_races = predict_races_.Export();
  state_.generate_races = generate_races_.Export();
  return SaveState(state_path_, state_);
}

// The copier's step: the metagraph with everyone's visible weights, then the
// same weight path as an honest step. It scores nothing, so it writes no
// score record.
absl::Status Validator::CopyStep() {
  absl::StatusOr<chain::Metagraph> mg = Metagraph(/*include_weights=*/true);
  if (!mg.ok()) return absl::OkStatus();  // logged; the next step retries
  ++state_.step;
  std::optional<nlohmann::json> weights = MaybeSetWeights(*mg);
  absl::Status s = Save();
  if (!s.ok()) return s;
  AGORA_LOG(INFO, "validator", "copy step %d (block %d, epoch %d)%s", state_.step, mg->block,
            mg->epoch_index, weights ? absl::StrCat(": ", weights->dump()) : std::string());
  return absl::OkStatus();
}

absl::Status Validator::Step() {
  if (o_.copy_weights) return CopyStep();
  absl::StatusOr<chain::Metagraph> mg = Metagraph();
  if (!mg.ok()) return absl::OkStatus();  // logged; the next step retries
  std::vector<Target> targets = PickTargets(*mg);
  PrepareModels(*mg, targets);
  // Miners this validator cannot check yet (no permit to fetch their models
  // with, or a model still being fetched) are not asked, scored or recorded
  // this step.
  targets.erase(std::remove_if(targets.begin(), targets.end(),
                               [](const Target& t) { return t.unverifiable; }),
                targets.end());
  const uint64_t seed = RandomU64();
  const bool generate_step =
      o_.generate_every > 0 && (state_.step + 1) % o_.generate_every == 0;

  // Challenges: the cursor moves (durably) before any prefix is revealed.
  uint64_t next = 0;
  std::vector<Challenge> challenges = holdout_->Cut(state_.holdout_cursor, o_.challenges,
                                                    o_.min_prefix, o_.max_prefix, seed, &next);
  std::optional<Challenge> prompt;
  if (generate_step) {
    std::vector<Challenge> p = holdout_->Cut(next, 1, o_.min_prefix, o_.max_prefix, seed + 1, &next);
    if (!p.empty()) prompt = std::move(p[0]);
  }
  // Out of held-out text, the validator asks nothing (a reused prefix could
  // be memorized) but keeps everything else going: organic traffic is still
  // judged, weights are still set from the moving averages, the gateway
  // still serves and credits deposits.
  if (challenges.empty()) {
    prompt.reset();
    if (Clock::now() - last_holdout_error_ > std::chrono::minutes(1)) {
      last_holdout_error_ = Clock::now();
      if (holdout_->endless()) {
        AGORA_LOG(ERROR, "validator", "no challenge text this step: %s", holdout_->problem());
      } else {
        AGORA_LOG(ERROR, "validator",
                  "held-out text is used up (%d bytes): no challenges until more sources are configured",
                  holdout_->size());
      }
    }
  } else {
    state_.holdout_cursor = next;
  }
  // This epoch's check secret, durable before any record commits to it; the
  // last epoch's is revealed in this epoch's records (check_seed.h).
  if (state_.check.secret.empty() || state_.check.epoch != mg->epoch_index) {
    if (!state_.check.secret.empty()) state_.check_revealed = state_.check;
    state_.check = CheckSecret{mg->epoch_index, NewCheckSecret()};
  }
  const size_t checked = CheckedChallenge(state_.check.secret, state_.step + 1, challenges.size());
  absl::Status s = Save();
  if (!s.ok()) return s;
  const double steps_left = StepsLeft(holdout_->size(), state_.holdout_cursor, o_.challenges,
                                      o_.min_prefix, o_.max_prefix);
  if (!holdout_->endless() && steps_left < o_.warn_steps_left && !warned_holdout_) {
    warned_holdout_ = true;
    AGORA_LOG(WARN, "validator", "held-out text lasts only ~%.0f more steps: add sources", steps_left);
  }

  std::vector<MinerOutcome> out;
  std::vector<protocol::Peer> peers;
  if (!challenges.empty()) {
    for (const Target& t : targets) {
      out.emplace_back().target = t;
      peers.push_back(t.peer);
    }
  }
  if (!peers.empty()) {
    protocol::PredictRequest req;
    for (const Challenge& c : challenges) req.prefixes.push_back(c.prefix);
    const std::vector<TimedReply> replies =
        FanOutTimed(*client_, peers, MessageKind::kPredictRequest, protocol::Encode(req),
                    protocol::DeadlineAfter(o_.timeout));
    ScorePredictStep(challenges, checked, replies, out);
    // Every answers_every-th record publishes the answers themselves.
    if (o_.answers_every > 0 && (state_.step + 1) % o_.answers_every == 0) {
      for (size_t m = 0; m < replies.size(); ++m) {
        if (replies[m].reply.ok()) out[m].answer_body = std::string(replies[m].reply->body());
      }
    }
    if (prompt) {
      protocol::GenerateRequest g;  // the gateway's schema: prompt text
      g.prompt.assign(prompt->prefix.begin(), prompt->prefix.end());
      g.max_tokens = o_.generate_tokens;
      g.temperature = 1.0f;
      g.seed = seed;
      const std::vector<TimedReply> greplies =
          FanOutTimed(*client_, peers, MessageKind::kGenerateRequest, protocol::Encode(g),
                      protocol::DeadlineAfter(o_.timeout));
      ScoreGenerateStep(*prompt, g, greplies, kGenerateChallengeOrdinal, out);
    }
  }
  UpdateScores(*mg, out);
  ScoreOrganic(*mg);
  ++state_.step;
  // The signed record of this step travels inside the state from the first
  // save that says the step is done (state.h), and the file is written only
  // after the last: a kill -9 anywhere leaves no gap in records/.
  nlohmann::json rec;
  rec["step"] = state_.step;
  rec["netuid"] = o_.netuid;
  rec["block"] = mg->block;
  rec["epoch"] = mg->epoch_index;
  rec["seed"] = absl::StrCat(seed);
  rec["time_ms"] = UnixMillis();
  // The challenge text itself, published once it is answered: anyone can
  // check it against public text, and recompute losses from the answers.
  auto prefix_hex = [](const Challenge& c) {
    const std::vector<uint8_t> bytes(c.prefix.begin(), c.prefix.end());  // byte-level tokens
    return ToHex(bytes);
  };
  nlohmann::json ch = nlohmann::json::array();
  for (const Challenge& c : challenges) {
    ch.push_back({{"offset", c.offset},
                  {"len", c.prefix.size()},
                  {"target", c.target},
                  {"prefix", prefix_hex(c)}});
  }
  rec["challenges"] = ch;
  rec["check"] = {{"epoch", state_.check.epoch},
                  {"commit", CheckCommitment(state_.check.secret)},
                  {"challenge", checked}};
  if (!state_.check_revealed.secret.empty()) {
    rec["check_reveal"] = {{"epoch", state_.check_revealed.epoch},
                           {"secret", state_.check_revealed.secret}};
  }
  if (prompt) {
    rec["generate_prompt"] = {
        {"offset", prompt->offset}, {"len", prompt->prefix.size()}, {"prefix", prefix_hex(*prompt)}};
  }
  nlohmann::json miners = nlohmann::json::array();
  size_t answered = 0;
  double loss_sum = 0;
  for (const MinerOutcome& r : out) {
    nlohmann::json j = {{"uid", r.target.uid},
                        {"hotkey", EncodeAddress(r.target.hotkey)},
                        {"answer_hash", r.answer_hash},
                        {"model", r.model},
                        {"latency_ms", r.latency_ms},
                        {"valid", r.predict.valid},
                        {"reason", r.predict.reason},
                        {"loss", r.predict.loss},
                        {"predict_score", r.predict.score},
                        {"step_score", r.step_score}};
    if (r.generate) j["generate_score"] = *r.generate;
    if (!r.generate_reason.empty()) j["generate_reason"] = r.generate_reason;
    if (!r.evidence.empty()) j["evidence"] = r.evidence;
    if (r.completion_verified) j["completion_verified"] = true;
    if (r.rechecked) j["rechecked"] = *r.rechecked;
    if (!r.answer_body.empty()) j["answer"] = absl::Base64Escape(r.answer_body);
    for (const MinerScore& s2 : state_.scores) {
      if (s2.uid == r.target.uid) j["ema"] = s2.ema;
    }
    miners.push_back(j);
    if (r.predict.valid) {
      ++answered;
      loss_sum += r.predict.loss;
    }
  }
  rec["miners"] = miners;
  // What an audit needs to recompute every moving average from the previous
  // record's (validator/record_audit.h).
  rec["alpha"] = o_.alpha;
  rec["generate_weight"] = o_.generate_weight;
  rec["require_verified_completion"] = RequiresVerifiedCompletion();
  rec["completion_check_fraction"] = o_.completion_check_fraction;
  rec["organic"] = std::exchange(organic_, nlohmann::json::array());
  rec["emas"] = EmaTableJson(state_.scores);
  state_.record_step = state_.step;
  state_.record = SignRecord(rec, *wallet_.hotkey);
  s = Save();
  if (!s.ok()) return s;
  std::optional<nlohmann::json> weights = MaybeSetWeights(*mg);
  if (weights) {
    rec["weights"] = *weights;
    state_.record = SignRecord(rec, *wallet_.hotkey);
  }
  s = Save();
  if (!s.ok()) return s;

  s = WriteRecord(o_.data_dir + "/records", state_.step, state_.record);
  PublishToGateway(*mg);
  if (!s.ok()) AGORA_LOG(WARN, "validator", "score record: %s", s.ToString());
  AGORA_LOG(INFO, "validator", "step %d (block %d): %d/%d miners answered validly, mean loss %.3f",
            state_.step, mg->block, answered, out.size(), answered ? loss_sum / answered : 0.0);
  return absl::OkStatus();
}

}  // namespace

absl::Status Run(const ValidatorOptions& o, const std::atomic<bool>* stop) {
  KeepFreedMemoryForReuse();  // scoring allocates a step's tensors again every step
  Validator v(o, stop);
  absl::Status s = v.Init();
  if (!s.ok()) return s;
  bool ready = false;
  for (uint64_t n = 0; !stop->load() && (o.max_steps == 0 || n < o.max_steps); ++n) {
    const Clock::time_point start = Clock::now();
    s = v.Step();
    if (!s.ok()) return s;
    if (!ready && !o.ready_file.empty()) {
      ready = true;
      s = WriteFileAtomic(o.ready_file, "ready\n", 0644);
      if (!s.ok()) return s;
    }
    // Jittered (0.5x to 1.5x the interval) so the challenges' timing looks
    // like organic traffic rather than a clock miners could key on.
    const auto wait = std::chrono::duration_cast<Clock::duration>(
        o.step_interval * (0.5 + double(RandomU64() >> 11) * 0x1.0p-53));
    while (!stop->load() && Clock::now() - start < wait) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  AGORA_LOG(INFO, "validator", "stopped");
  return absl::OkStatus();
}

}  // namespace agora::validator
