#include "validator/record_audit.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/address.h"
#include "common/crypto.h"
#include "protocol/codec.h"
#include "protocol/task_messages.h"
#include "scoring/predict_host.h"
#include "validator/check_seed.h"
#include "validator/holdout.h"
#include "validator/score_record.h"

namespace agora::validator {
namespace {

using json = nlohmann::json;

// A commit is revealed a few epochs after it is made; older ones are dropped
// so a long audit keeps bounded memory.
constexpr size_t kCommitsKept = 64;
// Moving averages are recomputed with the validator's own arithmetic, so they
// agree to the last bit; the tolerance only forgives another libm.
constexpr double kRelTolerance = 1e-9;
// A loss recomputed from a published answer (float64 over float32
// probabilities) may differ from the validator's in the last float32 bits
// when its step took the tensor path (scoring/predict_scoring.h).
constexpr double kLossTolerance = 1e-5;

bool Close(double a, double b) {
  return a == b || std::fabs(a - b) <= kRelTolerance * std::max(std::fabs(a), std::fabs(b));
}

// Field readers that never throw: a record may hold anything.
bool U64(const json& o, const char* key, uint64_t* out) {
  if (!o.is_object()) return false;
  auto it = o.find(key);
  if (it == o.end() || !it->is_number_unsigned()) return false;
  *out = it->get<uint64_t>();
  return true;
}

bool U16(const json& o, const char* key, uint16_t* out) {
  uint64_t v = 0;
  if (!U64(o, key, &v) || v > 65535) return false;
  *out = static_cast<uint16_t>(v);
  return true;
}

bool Real(const json& o, const char* key, double* out) {
  if (!o.is_object()) return false;
  auto it = o.find(key);
  if (it == o.end() || !it->is_number()) return false;
  *out = it->get<double>();
  return true;
}

bool Text(const json& o, const char* key, std::string* out) {
  if (!o.is_object()) return false;
  auto it = o.find(key);
  if (it == o.end() || !it->is_string()) return false;
  *out = it->get<std::string>();
  return true;
}

bool U16Array(const json& o, const char* key, std::vector<uint16_t>* out) {
  if (!o.is_object()) return false;
  auto it = o.find(key);
  if (it == o.end() || !it->is_array()) return false;
  out->clear();
  for (const json& v : *it) {
    if (!v.is_number_unsigned() || v.get<uint64_t>() > 65535) return false;
    out->push_back(static_cast<uint16_t>(v.get<uint64_t>()));
  }
  return true;
}

bool RealArray(const json& o, const char* key, std::vector<double>* out) {
  if (!o.is_object()) return false;
  auto it = o.find(key);
  if (it == o.end() || !it->is_array()) return false;
  out->clear();
  for (const json& v : *it) {
    if (!v.is_number()) return false;
    out->push_back(v.get<double>());
  }
  return true;
}

// Text taken from a record into a message, cut: a hostile record may hold
// megabytes where an address belongs.
std::string Cut(absl::string_view text) {
  return text.size() <= 64 ? std::string(text) : absl::StrCat(text.substr(0, 64), "...");
}

// "uid:weight ..." for a message, shortened.
std::string Shown(const std::vector<uint16_t>& uids, const std::vector<uint16_t>& weights) {
  std::string out;
  for (size_t k = 0; k < uids.size() && k < weights.size(); ++k) {
    if (k == 8) return absl::StrCat(out, " ... (", uids.size(), " entries)");
    absl::StrAppend(&out, k ? " " : "", uids[k], ":", weights[k]);
  }
  return out.empty() ? "(empty)" : out;
}

// A miner scored in the step (the record's "miners").
struct Scored {
  std::string hotkey;
  double step_score = 0;
  bool evidence = false;
  bool completion_verified = false;
  std::optional<bool> rechecked;  // present: it had a valid completion
  std::optional<double> ema;
};

// A gateway answer folded into a moving average (the record's "organic").
struct Organic {
  uint16_t uid = 0;
  std::string hotkey;
  std::optional<double> score;
  bool evidence = false;
  bool completion_verified = false;
  std::optional<bool> rechecked;
  uint32_t sample = 0;  // its ordinal for the re-run draw (check_seed.h)
};

// An optional boolean field: absent reads as false (records from before the
// field existed).
bool Flag(const json& j, const char* key) {
  return j.contains(key) && j[key].is_boolean() && j[key].get<bool>();
}

}  // namespace

json EmaTableJson(const std::vector<MinerScore>& scores) {
  json out = json::array();
  for (const MinerScore& s : scores) {
    out.push_back({{"uid", s.uid},
                   {"hotkey", EncodeAddress(s.hotkey)},
                   {"ema", s.ema},
                   {"zeroed_until_epoch", s.zeroed_until_epoch},
                   {"completion_verified", s.completion_verified}});
  }
  return out;
}

json WeightInputsJson(const std::vector<uint16_t>& uids, const std::vector<double>& scores,
                      const WeightRules& rules) {
  return {{"uids", uids},
          {"scores", scores},
          {"rules",
           {{"n", rules.n},
            {"self_uid", rules.self_uid},
            {"min_allowed_weights", rules.min_allowed_weights},
            {"max_weight_limit", rules.max_weight_limit},
            {"power", rules.power}}}};
}

std::string ReportText(const AuditReport& r) {
  std::string out;
  if (r.records == 0) return "no score records\n";
  absl::StrAppend(&out, "audited ", r.records, " records, steps ", r.first_step, "..", r.last_step,
                  ", signed by ", r.signer.empty() ? "(none verified)" : r.signer, "\n");
  absl::StrAppend(&out, "  signatures verified: ", r.signatures_verified, "\n");
  absl::StrAppend(&out, "  missing steps: ", r.missing_steps, "\n");
  absl::StrAppend(&out, "  moving averages: ", r.emas_checked, " records recomputed, ",
                  r.emas_not_checkable, " not checkable\n");
  absl::StrAppend(&out, "  weights: ", r.weights_checked, " vectors recomputed, ",
                  r.weights_not_checkable, " not checkable\n");
  absl::StrAppend(&out, "  re-run selections: ", r.checks_verified, " matched to revealed secrets, ",
                  r.checks_not_checkable, " not checkable\n");
  absl::StrAppend(&out, "  completion re-run draws: ", r.draws_verified,
                  " of cleared miners matched to revealed secrets\n");
  absl::StrAppend(&out, "  published answers: ", r.answers_checked,
                  " matched to their hashes, losses of the valid ones recomputed\n");
  absl::StrAppend(&out, "discrepancies: ", r.discrepancies, "\n");
  for (const AuditFinding& f : r.findings)
    absl::StrAppend(&out, "  step ", f.step, ": ", f.what, "\n");
  if (r.discrepancies > r.findings.size()) {
    absl::StrAppend(&out, "  ... and ", r.discrepancies - r.findings.size(), " more\n");
  }
  return out;
}

json ReportJson(const AuditReport& r) {
  json findings = json::array();
  for (const AuditFinding& f : r.findings) findings.push_back({{"step", f.step}, {"what", f.what}});
  return {{"ok", r.ok()},
          {"records", r.records},
          {"first_step", r.first_step},
          {"last_step", r.last_step},
          {"signer", r.signer},
          {"signatures_verified", r.signatures_verified},
          {"missing_steps", r.missing_steps},
          {"emas_checked", r.emas_checked},
          {"emas_not_checkable", r.emas_not_checkable},
          {"weights_checked", r.weights_checked},
          {"weights_not_checkable", r.weights_not_checkable},
          {"checks_verified", r.checks_verified},
          {"draws_verified", r.draws_verified},
          {"checks_not_checkable", r.checks_not_checkable},
          {"answers_checked", r.answers_checked},
          {"discrepancies", r.discrepancies},
          {"findings", findings}};
}

RecordAuditor::RecordAuditor(std::string signer, size_t max_findings)
    : signer_(std::move(signer)), max_findings_(max_findings) {
  report_.signer = signer_;
}

void RecordAuditor::Find(uint64_t step, std::string what) {
  ++report_.discrepancies;
  if (report_.findings.size() < max_findings_) report_.findings.push_back({step, std::move(what)});
}

bool RecordAuditor::Arrive(uint64_t step) {
  if (any_ && step <= report_.last_step) {
    Find(step, absl::StrCat("out of order: comes after step ", report_.last_step));
    return false;
  }
  if (any_ && step > report_.last_step + 1) {
    const uint64_t from = report_.last_step + 1, missing = step - from;
    Find(from, missing == 1 ? absl::StrCat("step ", from, " is missing")
                            : absl::StrCat("steps ", from, "..", step - 1, " are missing (",
                                           missing, " records)"));
    report_.missing_steps += missing;
    prev_.reset();  // the moving averages of the lost steps are unknown
  }
  if (!any_) report_.first_step = step;
  any_ = true;
  report_.last_step = step;
  ++report_.records;
  return true;
}

void RecordAuditor::AddUnreadable(uint64_t step, absl::string_view why) {
  if (!Arrive(step)) return;
  Find(step, absl::StrCat("unreadable: ", why));
  prev_.reset();
}

void RecordAuditor::Add(uint64_t step, const std::string& text) {
  if (!Arrive(step)) return;
  absl::StatusOr<VerifiedRecord> v = VerifySignedRecord(text);
  if (!v.ok()) {
    Find(step, std::string(v.status().message()));
    prev_.reset();
    return;
  }
  ++report_.signatures_verified;
  if (signer_.empty()) {
    signer_ = v->signer;
    report_.signer = signer_;
  } else if (v->signer != signer_) {
    Find(step, absl::StrCat("signed by ", v->signer, ", not by ", signer_));
    prev_.reset();
    return;
  }
  Check(step, v->record);
}

void RecordAuditor::Check(uint64_t step, const json& rec) {
  uint64_t said = 0, netuid = 0;
  if (!U64(rec, "step", &said) || said != step) {
    const std::string says =
        rec.contains("step") ? Cut(rec["step"].dump(-1, ' ', false, json::error_handler_t::replace))
                             : "nothing";
    Find(step, absl::StrCat("the file is step ", step, " but the record says ", says));
    prev_.reset();
    return;
  }
  if (U64(rec, "netuid", &netuid)) {
    if (!have_netuid_) {
      have_netuid_ = true;
      netuid_ = netuid;
    } else if (netuid != netuid_) {
      Find(step, absl::StrCat("subnet ", netuid, ", earlier records subnet ", netuid_));
    }
  }
  std::optional<EmaTable> table;
  if (rec.contains("emas")) {
    const json& arr = rec["emas"];
    EmaTable t;
    bool good = arr.is_array();
    if (good) {
      for (const json& e : arr) {
        uint16_t uid = 0;
        Ema x;
        if (!U16(e, "uid", &uid) || !Text(e, "hotkey", &x.hotkey) || !Real(e, "ema", &x.ema) ||
            !U64(e, "zeroed_until_epoch", &x.zeroed_until_epoch) || t.count(uid) ||
            (!t.empty() && uid < t.rbegin()->first)) {
          good = false;
          break;
        }
        x.completion_verified = Flag(e, "completion_verified");
        t.emplace(uid, std::move(x));
      }
    }
    if (!good) {
      Find(step, "malformed emas: each needs uid, hotkey, ema, zeroed_until_epoch, uids ascending");
      prev_.reset();
      return;
    }
    table = std::move(t);
  }
  CheckEmas(step, rec, table);
  CheckWeights(step, rec, table);
  CheckSelection(step, rec);
  CheckAnswers(step, rec);
  prev_ = std::move(table);
}

void RecordAuditor::CheckAnswers(uint64_t step, const json& rec) {
  if (!rec.contains("miners") || !rec["miners"].is_array()) return;
  std::vector<uint32_t> targets;
  if (rec.contains("challenges") && rec["challenges"].is_array()) {
    for (const json& c : rec["challenges"]) {
      uint64_t t = 0;
      if (!U64(c, "target", &t) || t >= kChallengeVocab) {
        Find(step, "malformed challenges: each needs a target below 256");
        return;
      }
      targets.push_back(static_cast<uint32_t>(t));
    }
  }
  const scoring::PredictScoringOptions scoring;  // the validator's
  for (const json& m : rec["miners"]) {
    if (!m.is_object() || !m.contains("answer")) continue;
    uint16_t uid = 0;
    std::string published, hash, body;
    if (!U16(m, "uid", &uid) || !Text(m, "answer", &published) || !Text(m, "answer_hash", &hash)) {
      Find(step, "malformed miner entry: a published answer needs uid, answer and answer_hash");
      continue;
    }
    if (!absl::Base64Unescape(published, &body) || ToHex(Blake2b256(body)) != hash) {
      Find(step, absl::StrCat("uid ", uid, ": the published answer is not the one its answer_hash names"));
      continue;
    }
    ++report_.answers_checked;
    if (!Flag(m, "valid")) continue;  // scored 0 for a reason of its own (shape, model, duplicate...)
    double loss = 0, score = 0;
    if (!Real(m, "loss", &loss) || !Real(m, "predict_score", &score)) {
      Find(step, absl::StrCat("uid ", uid, ": a valid answer needs loss and predict_score"));
      continue;
    }
    absl::StatusOr<protocol::PredictReply> reply =
        protocol::Decode<protocol::PredictReply>(body, "PredictReply");
    std::optional<std::vector<double>> losses;
    if (reply.ok() && scoring::CheckShape(&*reply, kChallengeVocab, targets.size()).empty()) {
      scoring::PredictStep s;
      s.vocab_size = kChallengeVocab;
      s.targets = targets;
      s.answers = {&*reply};
      losses = scoring::WellFormedLosses(s, {""}, scoring.sum_tolerance, scoring.probability_floor);
    }
    if (!losses) {
      Find(step, absl::StrCat("uid ", uid, ": recorded valid, but its published answer is malformed"));
      continue;
    }
    const double recomputed = (*losses)[0];
    const double recomputed_score = scoring::PredictScoreOfLoss(recomputed, kChallengeVocab);
    if (std::fabs(recomputed - loss) > kLossTolerance ||
        std::fabs(recomputed_score - score) > kLossTolerance) {
      Find(step, absl::StrFormat("uid %d: loss %.6f and predict score %.6f recorded, its published "
                                 "answer gives %.6f and %.6f",
                                 uid, loss, score, recomputed, recomputed_score));
    }
  }
}

void RecordAuditor::CheckSelection(uint64_t step, const json& rec) {
  if (!rec.contains("check") || !rec["check"].is_object()) {
    ++report_.checks_not_checkable;
    return;
  }
  const json& c = rec["check"];
  uint64_t epoch = 0, challenge = 0;
  std::string commit;
  if (!U64(c, "epoch", &epoch) || !Text(c, "commit", &commit) || !U64(c, "challenge", &challenge) ||
      !rec.contains("challenges") || !rec["challenges"].is_array()) {
    Find(step, "malformed check: needs epoch, commit, challenge and the challenges");
    return;
  }
  auto [known, fresh] = check_commits_.try_emplace(epoch, commit);
  if (!fresh && known->second != commit) {
    Find(step, absl::StrCat("check commitment of epoch ", epoch, " changed within the epoch"));
  }
  unrevealed_[epoch].push_back(Selection{step, rec["challenges"].size(), size_t(challenge)});
  if (!rec.contains("check_reveal")) return;
  const json& r = rec["check_reveal"];
  uint64_t revealed = 0;
  std::string secret;
  if (!r.is_object() || !U64(r, "epoch", &revealed) || !Text(r, "secret", &secret)) {
    Find(step, "malformed check_reveal: needs epoch and secret");
    return;
  }
  auto committed = check_commits_.find(revealed);
  if (committed == check_commits_.end()) return;  // its records are not among those audited
  if (CheckCommitment(secret) != committed->second) {
    Find(step, absl::StrCat("the secret revealed for epoch ", revealed,
                            " does not hash to the commitment its records carry"));
  } else {
    for (const Selection& s : unrevealed_[revealed]) {
      const size_t selected = CheckedChallenge(secret, s.step, s.challenges);
      if (s.challenges > 0 && selected != s.challenge) {
        Find(s.step, absl::StrCat("re-ran challenge ", s.challenge, ", the epoch's secret selects ",
                                  selected));
      } else {
        ++report_.checks_verified;
      }
    }
    for (const Draw& d : draws_[revealed]) {
      const bool drawn = CompletionDrawn(secret, d.step, d.ordinal, d.uid, d.fraction);
      if (drawn != d.rechecked) {
        Find(d.step, absl::StrCat("uid ", d.uid, ": completion ", d.ordinal,
                                  d.rechecked ? " re-run" : " not re-run", ", the epoch's secret ",
                                  drawn ? "draws it" : "does not draw it"));
      } else {
        ++report_.draws_verified;
      }
    }
  }
  unrevealed_.erase(revealed);
  draws_.erase(draws_.begin(), draws_.upper_bound(revealed));
  fractions_.erase(fractions_.begin(), fractions_.upper_bound(revealed));
  // Epochs before a revealed one are never revealed later.
  check_commits_.erase(check_commits_.begin(), check_commits_.find(revealed));
  for (auto it = unrevealed_.begin(); it != unrevealed_.end() && it->first < revealed;) {
    report_.checks_not_checkable += it->second.size();
    it = unrevealed_.erase(it);
  }
}

AuditReport RecordAuditor::report() const {
  AuditReport r = report_;
  for (const auto& [epoch, waiting] : unrevealed_) r.checks_not_checkable += waiting.size();
  return r;
}

void RecordAuditor::CheckEmas(uint64_t step, const json& rec,
                              const std::optional<EmaTable>& table) {
  double alpha = 0, generate_weight = 0;
  uint64_t epoch = 0;
  const bool fields = table.has_value() && Real(rec, "alpha", &alpha) &&
                      Real(rec, "generate_weight", &generate_weight) && rec.contains("organic") &&
                      rec.contains("miners") && U64(rec, "epoch", &epoch);
  if (!fields) {
    ++report_.emas_not_checkable;
    return;
  }
  std::map<uint16_t, Scored> scored;
  if (!rec["miners"].is_array()) {
    Find(step, "malformed miners: not an array");
    return;
  }
  for (const json& m : rec["miners"]) {
    uint16_t uid = 0;
    Scored s;
    if (!U16(m, "uid", &uid) || !Text(m, "hotkey", &s.hotkey) ||
        !Real(m, "step_score", &s.step_score)) {
      Find(step, "malformed miners: each needs uid, hotkey and step_score");
      return;
    }
    s.evidence = m.contains("evidence");
    s.completion_verified = Flag(m, "completion_verified");
    if (m.contains("rechecked")) s.rechecked = Flag(m, "rechecked");
    double ema = 0;
    if (Real(m, "ema", &ema)) s.ema = ema;
    if (!scored.emplace(uid, std::move(s)).second) {
      Find(step, absl::StrCat("uid ", uid, " is scored twice"));
      return;
    }
  }
  std::vector<Organic> organic;
  if (!rec["organic"].is_array()) {
    Find(step, "malformed organic: not an array");
    return;
  }
  for (const json& o : rec["organic"]) {
    Organic x;
    double score = 0;
    if (!U16(o, "uid", &x.uid) || !Text(o, "hotkey", &x.hotkey)) {
      Find(step, "malformed organic: each needs uid and hotkey");
      return;
    }
    if (Real(o, "generate_score", &score)) x.score = score;
    x.evidence = o.contains("evidence");
    x.completion_verified = Flag(o, "completion_verified");
    if (o.contains("rechecked")) {
      uint64_t sample = 0;
      if (!U64(o, "sample", &sample) || sample == kGenerateChallengeOrdinal || sample > UINT32_MAX) {
        Find(step, "malformed organic: a re-run draw needs its sample (1, 2, ...)");
        return;
      }
      x.rechecked = Flag(o, "rechecked");
      x.sample = static_cast<uint32_t>(sample);
    }
    organic.push_back(std::move(x));
  }

  // What the record says about itself, checkable without the previous record.
  for (const auto& [uid, s] : scored) {
    auto it = table->find(uid);
    if (it == table->end()) {
      Find(step, absl::StrCat("uid ", uid, " was scored but has no moving average"));
    } else if (s.ema.has_value() && !Close(*s.ema, it->second.ema)) {
      Find(step, absl::StrFormat("uid %d: its miner entry says ema %.12g, the table %.12g", uid,
                                 *s.ema, it->second.ema));
    }
  }
  for (const Organic& o : organic) {
    auto it = table->find(o.uid);
    if (it == table->end() || it->second.hotkey != o.hotkey) {
      Find(step, absl::StrCat("an organic update of uid ", o.uid, " has no moving average"));
    }
  }

  // Recomputing needs the moving averages before the step: the previous
  // record's, or none at all before the first step.
  if (!prev_.has_value() && step != 1) {
    ++report_.emas_not_checkable;
    return;
  }
  const EmaTable empty;
  const EmaTable& before = prev_.has_value() ? *prev_ : empty;
  double fraction = 1.0;  // records from before the draw re-ran every completion
  Real(rec, "completion_check_fraction", &fraction);
  // The rate is part of the epoch's committed rule: a validator that lowered
  // it for one step could spare whom it liked.
  if (auto [known, fresh] = fractions_.try_emplace(epoch, fraction);
      !fresh && known->second != fraction) {
    Find(step, absl::StrFormat("completion_check_fraction %g, earlier in epoch %d %g", fraction,
                               epoch, known->second));
  }
  ++report_.emas_checked;
  for (const auto& [uid, now] : *table) {
    auto b = before.find(uid);
    const bool carried =
        b != before.end() && b->second.hotkey == now.hotkey;  // else: restarts at 0
    double ema = carried ? b->second.ema : 0.0;
    uint64_t zeroed = carried ? b->second.zeroed_until_epoch : 0;
    bool verified = carried && b->second.completion_verified;
    const uint16_t id = uid;
    // validator.cc ScoreGenerateStep's re-run rule: a miner not cleared is
    // always re-run; a cleared one as the epoch's secret draws (checked when
    // it is revealed, CheckSelection).
    auto rerun = [&](const std::optional<bool>& rechecked, bool completion_verified,
                     uint32_t ordinal) {
      if (!rechecked.has_value()) return;
      if (!*rechecked && completion_verified) {
        Find(step, absl::StrCat("uid ", id, ": completion verified but not re-run"));
      } else if (!*rechecked && !verified) {
        Find(step, absl::StrCat("uid ", id, ": completion not re-run, though the miner was not ",
                                "cleared by a verified one"));
      } else if (verified) {
        draws_[epoch].push_back(Draw{step, ordinal, id, *rechecked, fraction});
      }
    };
    // validator.cc ApplyCheckOutcome, replayed.
    auto apply = [&](bool evidence, bool completion_verified) {
      if (evidence) {
        zeroed = epoch + 2;
        verified = false;
      } else if (completion_verified) {
        verified = true;
      }
    };
    auto s = scored.find(uid);
    if (s != scored.end()) {
      if (s->second.hotkey != now.hotkey) {
        Find(step, absl::StrCat("uid ", uid, " was scored as ", Cut(s->second.hotkey),
                                " but its moving average belongs to ", Cut(now.hotkey)));
        continue;
      }
      rerun(s->second.rechecked, s->second.completion_verified, kGenerateChallengeOrdinal);
      apply(s->second.evidence, s->second.completion_verified);
      if (epoch < zeroed && s->second.step_score != 0) {
        Find(step, absl::StrFormat("uid %d is zeroed until epoch %d but scored %.12g", uid, zeroed,
                                   s->second.step_score));
      }
      ema += alpha * (s->second.step_score - ema);
    } else if (!carried) {
      Find(step, absl::StrCat("uid ", uid, " has a moving average but neither the previous ",
                              "record nor this step scored it"));
      continue;
    }
    for (const Organic& o : organic) {
      if (o.uid != uid || o.hotkey != now.hotkey) continue;
      rerun(o.rechecked, o.completion_verified, o.sample);
      apply(o.evidence, o.completion_verified);
      if (o.score) ema += alpha * generate_weight * (*o.score - ema);
    }
    if (!Close(ema, now.ema)) {
      Find(step, absl::StrFormat("uid %d: moving average %.12g, but the previous record and this "
                                 "step's scores give %.12g",
                                 uid, now.ema, ema));
    }
    if (zeroed != now.zeroed_until_epoch) {
      Find(step,
           absl::StrFormat("uid %d: zeroed until epoch %d, but its spot-check evidence gives %d",
                           uid, now.zeroed_until_epoch, zeroed));
    }
    if (verified != now.completion_verified) {
      Find(step, absl::StrFormat("uid %d: completion_verified %d, but its checks give %d", uid,
                                 now.completion_verified, verified));
    }
  }
}

void RecordAuditor::CheckWeights(uint64_t step, const json& rec,
                                 const std::optional<EmaTable>& table) {
  if (!rec.contains("weights")) return;
  const json& w = rec["weights"];
  if (!w.is_object()) {
    Find(step, "malformed weights: not an object");
    return;
  }
  uint64_t epoch = 0;
  const bool have_epoch = U64(rec, "epoch", &epoch);
  for (const char* what : {"set_weights", "commit_weights"}) {
    if (!w.contains(what)) continue;
    const json& x = w[what];
    std::vector<uint16_t> uids, weights;
    if (!U16Array(x, "uids", &uids) || !U16Array(x, "weights", &weights) ||
        uids.size() != weights.size()) {
      Find(step, absl::StrCat(what, ": malformed uids/weights"));
      continue;
    }
    if (std::string(what) == "commit_weights" && have_epoch) {
      commits_[epoch] = Committed{uids, weights};
      while (commits_.size() > kCommitsKept) commits_.erase(commits_.begin());
    }
    if (!x.contains("inputs")) {
      ++report_.weights_not_checkable;
      continue;
    }
    const json& in = x["inputs"];
    std::vector<uint16_t> in_uids;
    std::vector<double> scores;
    WeightRules rules;
    const json* r = in.is_object() && in.contains("rules") ? &in["rules"] : nullptr;
    if (!U16Array(in, "uids", &in_uids) || !RealArray(in, "scores", &scores) ||
        in_uids.size() != scores.size() || r == nullptr || !U16(*r, "n", &rules.n) ||
        !U16(*r, "self_uid", &rules.self_uid) ||
        !U16(*r, "min_allowed_weights", &rules.min_allowed_weights) ||
        !U16(*r, "max_weight_limit", &rules.max_weight_limit) || !Real(*r, "power", &rules.power) ||
        !std::isfinite(rules.power)) {
      Find(step, absl::StrCat(what, ": malformed inputs"));
      continue;
    }
    ++report_.weights_checked;
    const WeightVector got = ComputeWeights(in_uids, scores, rules);
    if (got.uids != uids || got.weights != weights) {
      Find(step, absl::StrCat(what, ": weights ", Shown(uids, weights),
                              " differ from ComputeWeights of their inputs: ",
                              Shown(got.uids, got.weights)));
    }
    // The inputs must be the moving averages the record holds, as much as
    // they are payable (state.h PayableScore).
    if (!table.has_value() || !have_epoch) continue;
    const bool require_verified = Flag(rec, "require_verified_completion");
    if (in_uids.size() != table->size()) {
      Find(step, absl::StrCat(what, ": inputs name ", in_uids.size(), " uids, the moving averages ",
                              table->size()));
      continue;
    }
    size_t k = 0;
    for (const auto& [uid, e] : *table) {
      const double want = PayableScore(e.ema, e.zeroed_until_epoch, e.completion_verified, epoch,
                                       require_verified);
      if (in_uids[k] != uid || scores[k] != want) {
        Find(step,
             absl::StrFormat(
                 "%s: input %d is uid %d score %.12g, the moving averages say uid %d score %.12g",
                 what, k, in_uids[k], scores[k], uid, want));
        break;
      }
      ++k;
    }
  }
  if (w.contains("revealed")) {
    const json& x = w["revealed"];
    uint64_t committed_in = 0;
    std::vector<uint16_t> uids, weights;
    if (!U64(x, "epoch", &committed_in) || !U16Array(x, "uids", &uids) ||
        !U16Array(x, "weights", &weights)) {
      Find(step, "revealed: malformed epoch/uids/weights");
      return;
    }
    auto it = commits_.find(committed_in);
    if (it == commits_.end()) {
      ++report_.weights_not_checkable;  // committed before the first record audited
    } else if (it->second.uids != uids || it->second.weights != weights) {
      Find(step,
           absl::StrCat("revealed ", Shown(uids, weights), " but committed ",
                        Shown(it->second.uids, it->second.weights), " in epoch ", committed_in));
    } else {
      ++report_.weights_checked;
    }
  }
}

AuditReport AuditRecords(const std::map<uint64_t, std::string>& records,
                         const std::string& signer) {
  RecordAuditor auditor(signer);
  for (const auto& [step, text] : records) auditor.Add(step, text);
  return auditor.report();
}

}  // namespace agora::validator
