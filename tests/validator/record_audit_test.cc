// The audit of signed score records (validator/record_audit.h) and the
// `agora-validator audit` command over a directory of them. Records are
// built here as the validator builds them: the moving averages follow
// docs/VALIDATOR.md (ema += alpha * (step_score - ema), organic answers with
// weight generate_weight), the weights are ComputeWeights of the averages.
#include "validator/check_seed.h"
#include "validator/record_audit.h"

#include <cmath>
#include <filesystem>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "cli/cli.h"
#include "common/address.h"
#include "common/crypto.h"
#include "common/file_util.h"
#include "gtest/gtest.h"
#include "protocol/codec.h"
#include "protocol/task_messages.h"
#include "tests/common/temp_dir.h"
#include "validator/audit_command.h"
#include "validator/score_record.h"
#include "validator/state.h"
#include "validator/weights.h"

namespace agora::validator {
namespace {

using json = nlohmann::json;

constexpr double kAlpha = 0.3;
constexpr double kGenerateWeight = 0.2;

struct Scored {
  uint16_t uid;
  PublicKey hotkey;
  double step_score;
  bool evidence = false;
  bool completion_verified = false;  // a completion re-run and matched in the step
  bool completion = false;  // a valid completion, re-run as validator.cc decides
};

struct Organic {
  uint16_t uid;
  PublicKey hotkey;
  std::optional<double> score;
  bool completion_verified = false;
  bool completion = false;
};

// validator.cc ApplyCheckOutcome, on paper.
void Apply(MinerScore& s, bool evidence, bool completion_verified, uint64_t epoch) {
  if (evidence) {
    s.zeroed_until_epoch = epoch + 2;
    s.completion_verified = false;
  } else if (completion_verified) {
    s.completion_verified = true;
  }
}

PublicKey NewKey() { return SigningKey::Generate().public_key(); }

// The rules a validator that sends generate challenges follows (state.h
// PayableScore): pay waits for a verified completion.
constexpr bool kRequireVerified = true;

// A validator on paper: its moving averages and the records of its steps.
class Records {
 public:
  Records() : key_(SigningKey::Generate()) {}

  // Step `step`'s record (not signed): scores, then organic updates, then
  // weights if asked. `step` is usually the next one; a test may skip one.
  json Step(uint64_t step, uint64_t epoch, const std::vector<Scored>& scored,
            const std::vector<Organic>& organic = {}, bool set_weights = false) {
    if (!secrets_.count(epoch)) secrets_[epoch] = NewCheckSecret();
    // validator.cc's re-run rule: always for a miner not cleared, else as the
    // epoch's secret draws.
    auto rechecked = [&](const MinerScore& s, uint32_t ordinal) {
      return !s.completion_verified ||
             CompletionDrawn(secrets_[epoch], step, ordinal, s.uid, fraction_);
    };
    std::map<uint16_t, MinerScore> table;
    for (const MinerScore& s : table_) table[s.uid] = s;
    json miners = json::array();
    for (const Scored& x : scored) {
      MinerScore& s = table[x.uid];
      if (s.hotkey != x.hotkey) s = MinerScore{x.uid, x.hotkey};
      // Without `completion`: a record that says nothing of re-runs (as
      // before the draw), its completion_verified as given.
      const bool rerun = x.completion ? rechecked(s, kGenerateChallengeOrdinal) : true;
      Apply(s, x.evidence, x.completion_verified && rerun, epoch);
      const double score = epoch < s.zeroed_until_epoch ? 0.0 : x.step_score;
      s.ema += kAlpha * (score - s.ema);
      json m = {{"uid", x.uid},
                {"hotkey", EncodeAddress(x.hotkey)},
                {"step_score", score},
                {"ema", s.ema}};
      if (x.evidence) m["evidence"] = "predict challenge 0: distribution differs";
      if (x.completion_verified && rerun) m["completion_verified"] = true;
      if (x.completion) m["rechecked"] = rerun;
      miners.push_back(m);
    }
    json org = json::array();
    uint32_t sample = kGenerateChallengeOrdinal;
    for (const Organic& o : organic) {
      MinerScore& s = table.at(o.uid);
      ++sample;  // each its own organic sample
      const bool rerun = o.completion ? rechecked(s, sample) : true;
      Apply(s, false, o.completion_verified && rerun, epoch);
      if (o.score) s.ema += kAlpha * kGenerateWeight * (*o.score - s.ema);
      json u = {{"uid", o.uid}, {"hotkey", EncodeAddress(o.hotkey)}};
      if (o.score) u["generate_score"] = *o.score;
      if (o.completion_verified && rerun) u["completion_verified"] = true;
      if (o.completion) {
        u["sample"] = sample;
        u["rechecked"] = rerun;
      }
      org.push_back(u);
    }
    for (auto& [uid, s] : table) {  // the miner entries show the final average
      for (json& m : miners) {
        if (m["uid"] == uid) m["ema"] = s.ema;
      }
    }
    table_.clear();
    for (auto& [uid, s] : table) table_.push_back(s);
    json rec = {{"step", step},       {"netuid", 1},
                {"block", step * 10}, {"epoch", epoch},
                {"seed", "7"},        {"miners", miners},
                {"alpha", kAlpha},    {"generate_weight", kGenerateWeight},
                {"organic", org},     {"emas", EmaTableJson(table_)},
                {"require_verified_completion", kRequireVerified},
                {"completion_check_fraction", fraction_}};
    // The epoch's check secret: committed in each record of the epoch,
    // revealed in the next epoch's (check_seed.h).
    json challenges = json::array();
    for (int i = 0; i < 8; ++i) challenges.push_back({{"offset", i * 100}, {"len", 32}, {"target", 0}});
    rec["challenges"] = challenges;
    rec["check"] = {{"epoch", epoch},
                    {"commit", CheckCommitment(secrets_[epoch])},
                    {"challenge", CheckedChallenge(secrets_[epoch], step, 8)}};
    if (secrets_.count(epoch - 1)) {
      rec["check_reveal"] = {{"epoch", epoch - 1}, {"secret", secrets_[epoch - 1]}};
    }
    if (set_weights) {
      std::vector<uint16_t> uids;
      std::vector<double> scores;
      for (const MinerScore& s : table_) {
        uids.push_back(s.uid);
        scores.push_back(PayableScore(s.ema, s.zeroed_until_epoch, s.completion_verified, epoch,
                                      kRequireVerified));
      }
      const WeightRules rules{
          .n = 8, .self_uid = 0, .min_allowed_weights = 2, .max_weight_limit = 65535, .power = 2.0};
      const WeightVector w = ComputeWeights(uids, scores, rules);
      rec["weights"] = {{"set_weights",
                         {{"block", step * 10},
                          {"uids", w.uids},
                          {"weights", w.weights},
                          {"inputs", WeightInputsJson(uids, scores, rules)}}}};
    }
    return rec;
  }

  std::string Sign(const json& rec) const { return SignRecord(rec, key_); }
  void set_fraction(double f) { fraction_ = f; }
  std::string address() const { return EncodeAddress(key_.public_key()); }

 private:
  SigningKey key_;
  std::vector<MinerScore> table_;
  std::map<uint64_t, std::string> secrets_;  // by epoch
  double fraction_ = 1.0;                     // completion_check_fraction
};

bool Mentions(const AuditReport& r, uint64_t step, const std::string& text) {
  for (const AuditFinding& f : r.findings) {
    if (f.step == step && absl::StrContains(f.what, text)) return true;
  }
  return false;
}

// Five honest steps: two miners, organic answers, verified completions, a
// failed spot check (zeroed), a uid taken over by a new hotkey (unpaid until
// verified), weights three times.
struct Honest {
  PublicKey a = NewKey(), b = NewKey(), c = NewKey();
  Records r;
  std::map<uint64_t, json> recs;
  Honest() {
    recs[1] = r.Step(1, 0, {{1, a, 0.8}, {2, b, 0.4}});
    recs[2] = r.Step(2, 0, {{1, a, 0.7, false, /*completion_verified=*/true}, {2, b, 0.5}},
                     {{2, b, 0.9, /*completion_verified=*/true}}, /*set_weights=*/true);
    recs[3] = r.Step(3, 1, {{1, a, 0.9}, {2, b, 0.6, /*evidence=*/true}}, {{1, a, 0.4}}, true);
    recs[4] =
        r.Step(4, 1, {{1, a, 0.6}, {2, c, 0.3}}, {}, /*set_weights=*/true);  // uid 2: new hotkey
    recs[5] = r.Step(5, 2, {{1, a, 0.5}});
  }
  std::map<uint64_t, std::string> Signed() const {
    std::map<uint64_t, std::string> out;
    for (const auto& [step, rec] : recs) out[step] = r.Sign(rec);
    return out;
  }
};

TEST(RecordAuditTest, HonestRecordsCheckOut) {
  Honest h;
  const AuditReport rep = AuditRecords(h.Signed());
  EXPECT_TRUE(rep.ok()) << ReportText(rep);
  EXPECT_EQ(rep.records, 5u);
  EXPECT_EQ(rep.first_step, 1u);
  EXPECT_EQ(rep.last_step, 5u);
  EXPECT_EQ(rep.signer, h.r.address());
  EXPECT_EQ(rep.signatures_verified, 5u);
  EXPECT_EQ(rep.missing_steps, 0u);
  EXPECT_EQ(rep.emas_checked, 5u);
  EXPECT_EQ(rep.emas_not_checkable, 0u);
  EXPECT_EQ(rep.weights_checked, 3u);
  EXPECT_EQ(rep.weights_not_checkable, 0u);
  EXPECT_EQ(rep.checks_verified, 4u);       // epochs 0 and 1, revealed in 1 and 2
  EXPECT_EQ(rep.checks_not_checkable, 1u);  // epoch 2's secret is not revealed yet
  // Pinning the right signer changes nothing.
  EXPECT_TRUE(AuditRecords(h.Signed(), h.r.address()).ok());
  // A directory that starts later: its first averages cannot be recomputed.
  std::map<uint64_t, std::string> later = h.Signed();
  later.erase(1);
  const AuditReport tail = AuditRecords(later);
  EXPECT_TRUE(tail.ok()) << ReportText(tail);
  EXPECT_EQ(tail.emas_checked, 3u);
  EXPECT_EQ(tail.emas_not_checkable, 1u);
}

TEST(RecordAuditTest, ASignedButWrongScoreIsFound) {
  Honest h;
  h.recs[3]["miners"][0]["step_score"] = 0.95;  // the validator lies about what uid 1 earned
  const AuditReport rep = AuditRecords(h.Signed());
  EXPECT_FALSE(rep.ok());
  EXPECT_EQ(rep.discrepancies, 1u) << ReportText(rep);
  EXPECT_TRUE(Mentions(rep, 3, "uid 1: moving average")) << ReportText(rep);
}

// An answer a record publishes (every answers_every-th step): uid 1's reply
// to the eight challenges, each giving the target (0) probability 1/2.
struct Published {
  std::string body;
  double loss = -std::log(0.5);
  double score = 1.0 - -std::log(0.5) / std::log(256.0);
  Published() {
    protocol::PredictReply reply;
    reply.vocab_size = 256;
    reply.model_hash = Hash256{};
    for (int i = 0; i < 8; ++i) {
      protocol::TokenDistribution d;
      d.probs.assign(256, 0.5f / 255);
      d.probs[0] = 0.5f;
      reply.distributions.push_back(d);
    }
    body = protocol::Encode(reply);
  }
  void Into(json& miner) const {
    miner["answer"] = absl::Base64Escape(body);
    miner["answer_hash"] = ToHex(Blake2b256(body));
    miner["valid"] = true;
    miner["loss"] = loss;
    miner["predict_score"] = score;
  }
};

TEST(RecordAuditTest, PublishedAnswersAreRecomputedAndATamperedOneIsNamed) {
  const Published answer;
  Honest h;
  answer.Into(h.recs[5]["miners"][0]);
  const AuditReport good = AuditRecords(h.Signed());
  EXPECT_TRUE(good.ok()) << ReportText(good);
  EXPECT_EQ(good.answers_checked, 1u);

  Honest lied;  // the signed loss is not what the published answer gives
  answer.Into(lied.recs[5]["miners"][0]);
  lied.recs[5]["miners"][0]["loss"] = answer.loss - 0.1;
  AuditReport rep = AuditRecords(lied.Signed());
  EXPECT_TRUE(Mentions(rep, 5, "uid 1: loss 0.593147")) << ReportText(rep);

  Honest swapped;  // another answer published than the one hashed
  answer.Into(swapped.recs[5]["miners"][0]);
  swapped.recs[5]["miners"][0]["answer_hash"] = ToHex(Blake2b256("another body"));
  rep = AuditRecords(swapped.Signed());
  EXPECT_TRUE(Mentions(rep, 5, "uid 1: the published answer is not the one")) << ReportText(rep);

  Honest malformed;  // recorded valid, but it does not answer the eight challenges
  answer.Into(malformed.recs[5]["miners"][0]);
  malformed.recs[5]["challenges"].erase(7);
  rep = AuditRecords(malformed.Signed());
  EXPECT_TRUE(Mentions(rep, 5, "uid 1: recorded valid, but its published answer is malformed"))
      << ReportText(rep);
}

TEST(RecordAuditTest, AWrongMovingAverageIsFound) {
  Honest h;
  h.recs[2]["emas"][1]["ema"] = 0.9;  // uid 2 inflated; its miner entry and the weights agree
  h.recs[2]["miners"][1]["ema"] = 0.9;
  const AuditReport rep = AuditRecords(h.Signed());
  EXPECT_FALSE(rep.ok());
  EXPECT_TRUE(Mentions(rep, 2, "uid 2: moving average 0.9")) << ReportText(rep);
}

TEST(RecordAuditTest, TamperingAfterSigningIsFound) {
  Honest h;
  std::map<uint64_t, std::string> texts = h.Signed();
  std::string& t = texts[2];
  const size_t at = t.find("\"step_score\": ");
  ASSERT_NE(at, std::string::npos);
  t.insert(at + 14, "1");  // 0.7 becomes 10.7
  const AuditReport rep = AuditRecords(texts);
  EXPECT_FALSE(rep.ok());
  EXPECT_TRUE(Mentions(rep, 2, "signature does not verify")) << ReportText(rep);
  // The record after it has nothing verified to start from.
  EXPECT_EQ(rep.emas_not_checkable, 1u);
}

TEST(RecordAuditTest, ASignedButWrongWeightIsFound) {
  Honest h;
  json& w = h.recs[2]["weights"]["set_weights"]["weights"];  // two miners paid
  ASSERT_GT(w[0].get<int>(), 1000);
  w[0] = w[0].get<int>() - 1000;
  const AuditReport rep = AuditRecords(h.Signed());
  EXPECT_FALSE(rep.ok());
  EXPECT_EQ(rep.discrepancies, 1u) << ReportText(rep);
  EXPECT_TRUE(Mentions(rep, 2, "set_weights: weights")) << ReportText(rep);
  EXPECT_TRUE(Mentions(rep, 2, "differ from ComputeWeights of their inputs")) << ReportText(rep);
}

TEST(RecordAuditTest, WeightInputsThatAreNotTheAveragesAreFound) {
  Honest h;
  // Inputs and vector agree, but uid 2 was zeroed in step 3 and is paid anyway.
  json& x = h.recs[3]["weights"]["set_weights"];
  const std::vector<uint16_t> uids = x["inputs"]["uids"].get<std::vector<uint16_t>>();
  std::vector<double> scores = x["inputs"]["scores"].get<std::vector<double>>();
  ASSERT_EQ(scores[1], 0.0);
  scores[1] = h.recs[3]["emas"][1]["ema"].get<double>();
  const WeightRules rules{
      .n = 8, .self_uid = 0, .min_allowed_weights = 2, .max_weight_limit = 65535, .power = 2.0};
  const WeightVector v = ComputeWeights(uids, scores, rules);
  x["uids"] = v.uids;
  x["weights"] = v.weights;
  x["inputs"] = WeightInputsJson(uids, scores, rules);
  const AuditReport rep = AuditRecords(h.Signed());
  EXPECT_FALSE(rep.ok());
  EXPECT_TRUE(Mentions(rep, 3, "the moving averages say uid 2 score 0")) << ReportText(rep);
  EXPECT_EQ(rep.discrepancies, 1u) << ReportText(rep);
}

// Pay waits for a verified completion: a new hotkey paid before one is
// found, and so is a table that claims a verification no check gave.
TEST(RecordAuditTest, PayBeforeAVerifiedCompletionIsFound) {
  Honest h;
  // Step 4: uid 2 is a new hotkey, never verified, so its input is 0.
  json& x = h.recs[4]["weights"]["set_weights"];
  const std::vector<uint16_t> uids = x["inputs"]["uids"].get<std::vector<uint16_t>>();
  std::vector<double> scores = x["inputs"]["scores"].get<std::vector<double>>();
  ASSERT_EQ(scores[1], 0.0);
  ASSERT_GT(h.recs[4]["emas"][1]["ema"].get<double>(), 0.0);
  {
    Honest paid;
    json& y = paid.recs[4]["weights"]["set_weights"];
    std::vector<double> s2 = scores;
    s2[1] = paid.recs[4]["emas"][1]["ema"].get<double>();
    const WeightRules rules{
        .n = 8, .self_uid = 0, .min_allowed_weights = 2, .max_weight_limit = 65535, .power = 2.0};
    const WeightVector v = ComputeWeights(uids, s2, rules);
    y["uids"] = v.uids;
    y["weights"] = v.weights;
    y["inputs"] = WeightInputsJson(uids, s2, rules);
    const AuditReport rep = AuditRecords(paid.Signed());
    EXPECT_EQ(rep.discrepancies, 1u) << ReportText(rep);
    EXPECT_TRUE(Mentions(rep, 4, "the moving averages say uid 2 score 0")) << ReportText(rep);
  }
  {
    Honest claimed;
    claimed.recs[4]["emas"][1]["completion_verified"] = true;
    const AuditReport rep = AuditRecords(claimed.Signed());
    EXPECT_FALSE(rep.ok());
    EXPECT_TRUE(Mentions(rep, 4, "uid 2: completion_verified 1, but its checks give 0"))
        << ReportText(rep);
  }
  {
    // A failed check takes the verification away: uid 2 (b) in step 3.
    Honest kept;
    ASSERT_TRUE(h.recs[2]["emas"][1]["completion_verified"].get<bool>());
    kept.recs[3]["emas"][1]["completion_verified"] = true;
    const AuditReport rep = AuditRecords(kept.Signed());
    EXPECT_TRUE(Mentions(rep, 3, "uid 2: completion_verified 1, but its checks give 0"))
        << ReportText(rep);
  }
}

TEST(RecordAuditTest, ARecordOfAnotherSignerIsFound) {
  Honest h;
  std::map<uint64_t, std::string> texts = h.Signed();
  Records other;
  texts[3] = other.Sign(h.recs[3]);
  const AuditReport rep = AuditRecords(texts);
  EXPECT_FALSE(rep.ok());
  EXPECT_TRUE(Mentions(rep, 3, "signed by " + other.address() + ", not by " + h.r.address()))
      << ReportText(rep);
  // Pinned to another hotkey, every record is found.
  const AuditReport pinned = AuditRecords(h.Signed(), other.address());
  EXPECT_EQ(pinned.discrepancies, 5u) << ReportText(pinned);
  EXPECT_TRUE(Mentions(pinned, 1, "not by " + other.address()));
}

TEST(RecordAuditTest, AMissingStepIsFound) {
  Honest h;
  std::map<uint64_t, std::string> texts = h.Signed();
  texts.erase(3);
  const AuditReport rep = AuditRecords(texts);
  EXPECT_FALSE(rep.ok());
  EXPECT_EQ(rep.missing_steps, 1u);
  EXPECT_EQ(rep.discrepancies, 1u) << ReportText(rep);
  EXPECT_TRUE(Mentions(rep, 3, "step 3 is missing")) << ReportText(rep);
  EXPECT_EQ(rep.emas_not_checkable, 1u);  // step 4 has no step 3 to start from
  texts.erase(4);
  const AuditReport two = AuditRecords(texts);
  EXPECT_TRUE(Mentions(two, 3, "steps 3..4 are missing (2 records)")) << ReportText(two);
}

TEST(RecordAuditTest, AFileNamedForAnotherStepIsFound) {
  Honest h;
  std::map<uint64_t, std::string> texts = h.Signed();
  texts[6] = texts[5];
  const AuditReport rep = AuditRecords(texts);
  EXPECT_TRUE(Mentions(rep, 6, "the file is step 6 but the record says 5")) << ReportText(rep);
}

TEST(RecordAuditTest, RecordsWithoutAuditFieldsAreNotCheckableNotFailures) {
  Records r;
  std::map<uint64_t, std::string> texts;
  const PublicKey a = NewKey();
  for (uint64_t step = 1; step <= 3; ++step) {
    json rec = r.Step(step, 0, {{1, a, 0.5}}, {}, step == 2);
    for (const char* key : {"alpha", "generate_weight", "organic", "emas"}) rec.erase(key);
    if (step == 2) rec["weights"]["set_weights"].erase("inputs");
    texts[step] = r.Sign(rec);
  }
  const AuditReport rep = AuditRecords(texts);
  EXPECT_TRUE(rep.ok()) << ReportText(rep);
  EXPECT_EQ(rep.emas_checked, 0u);
  EXPECT_EQ(rep.emas_not_checkable, 3u);
  EXPECT_EQ(rep.weights_checked, 0u);
  EXPECT_EQ(rep.weights_not_checkable, 1u);
}

TEST(RecordAuditTest, RevealsMustMatchTheirCommit) {
  Records r;
  const PublicKey a = NewKey(), b = NewKey();
  json one = r.Step(1, 4, {{1, a, 0.8}, {2, b, 0.2}}, {}, true);
  one["weights"]["commit_weights"] = one["weights"]["set_weights"];
  one["weights"].erase("set_weights");
  json two = r.Step(2, 5, {{1, a, 0.8}, {2, b, 0.2}});
  two["weights"]["revealed"] = {{"epoch", 4},
                                {"block", 20},
                                {"uids", one["weights"]["commit_weights"]["uids"]},
                                {"weights", one["weights"]["commit_weights"]["weights"]}};
  AuditReport rep = AuditRecords({{1, r.Sign(one)}, {2, r.Sign(two)}});
  EXPECT_TRUE(rep.ok()) << ReportText(rep);
  EXPECT_EQ(rep.weights_checked, 2u);
  two["weights"]["revealed"]["weights"][0] = 1;
  rep = AuditRecords({{1, r.Sign(one)}, {2, r.Sign(two)}});
  EXPECT_TRUE(Mentions(rep, 2, "revealed")) << ReportText(rep);
  EXPECT_TRUE(Mentions(rep, 2, "but committed")) << ReportText(rep);
  // A reveal whose commit predates the records is not checkable.
  rep = AuditRecords({{2, r.Sign(two)}});
  EXPECT_TRUE(rep.ok()) << ReportText(rep);
  EXPECT_EQ(rep.weights_not_checkable, 1u);
}

TEST(RecordAuditTest, ReRunSelectionsMustBeWhatTheCommittedSecretSelects) {
  {  // Step 2 re-ran another challenge than its epoch's secret selects.
    Honest h;
    json& c = h.recs[2]["check"];
    c["challenge"] = (c["challenge"].get<size_t>() + 1) % 8;
    const AuditReport rep = AuditRecords(h.Signed());
    EXPECT_EQ(rep.discrepancies, 1u) << ReportText(rep);
    EXPECT_TRUE(Mentions(rep, 2, "the epoch's secret selects")) << ReportText(rep);
  }
  {  // The secret revealed for epoch 0 is not the one committed.
    Honest h;
    h.recs[3]["check_reveal"]["secret"] = NewCheckSecret();
    const AuditReport rep = AuditRecords(h.Signed());
    EXPECT_TRUE(Mentions(rep, 3, "does not hash to the commitment")) << ReportText(rep);
  }
  {  // The commitment changed within epoch 1.
    Honest h;
    h.recs[4]["check"]["commit"] = CheckCommitment(NewCheckSecret());
    const AuditReport rep = AuditRecords(h.Signed());
    EXPECT_TRUE(Mentions(rep, 4, "changed within the epoch")) << ReportText(rep);
  }
}

TEST(CheckSeedTest, CompletionDrawsAreFixedBySecretAndRunAtTheFraction) {
  const std::string secret = NewCheckSecret();
  size_t drawn = 0, n = 20000;
  for (uint64_t step = 1; step <= n; ++step) {
    const bool d = CompletionDrawn(secret, step, 0, 3, 0.25);
    EXPECT_EQ(d, CompletionDrawn(secret, step, 0, 3, 0.25));  // a function of its inputs
    drawn += d;
  }
  EXPECT_NEAR(double(drawn) / n, 0.25, 0.015);
  // Another secret, uid or ordinal draws independently.
  size_t same_uid = 0, same_ordinal = 0, same_secret = 0;
  const std::string other = NewCheckSecret();
  for (uint64_t step = 1; step <= 2000; ++step) {
    const bool d = CompletionDrawn(secret, step, 0, 3, 0.5);
    same_uid += d == CompletionDrawn(secret, step, 0, 4, 0.5);
    same_ordinal += d == CompletionDrawn(secret, step, 1, 3, 0.5);
    same_secret += d == CompletionDrawn(other, step, 0, 3, 0.5);
  }
  for (size_t same : {same_uid, same_ordinal, same_secret}) EXPECT_NEAR(same / 2000.0, 0.5, 0.06);
  EXPECT_TRUE(CompletionDrawn(secret, 1, 0, 3, 1.0));
  EXPECT_FALSE(CompletionDrawn(secret, 1, 0, 3, 0.0));
  EXPECT_FALSE(CompletionDrawn("not hex", 1, 0, 3, 0.5));
}

// Steps where a cleared miner's completions are re-run only as drawn.
struct Sampled {
  PublicKey a = NewKey(), b = NewKey();
  Records r;
  std::map<uint64_t, json> recs;
  Sampled() {
    r.set_fraction(0.5);
    for (uint64_t step = 1; step <= 12; ++step) {
      const uint64_t epoch = (step - 1) / 4;  // four steps an epoch: epochs 0-2
      recs[step] = r.Step(step, epoch,
                          {{1, a, 0.6, false, true, true}, {2, b, 0.4, false, true, true}},
                          {{1, a, 0.7, true, true}, {2, b, 0.5, true, true}}, step % 4 == 0);
    }
  }
  std::map<uint64_t, std::string> Signed(const std::map<uint64_t, json>& records) const {
    std::map<uint64_t, std::string> out;
    for (const auto& [step, rec] : records) out[step] = r.Sign(rec);
    return out;
  }
};

// The first miner entry or organic update of a cleared miner re-run as
// `rerun` in a step of epoch 0 or 1 (their secrets are revealed).
json* FindRerun(std::map<uint64_t, json>& recs, bool rerun, uint64_t* at) {
  for (auto& [step, rec] : recs) {
    if (step == 1 || step > 8) continue;  // step 1: nobody is cleared yet
    for (const char* list : {"miners", "organic"}) {
      for (json& e : rec[list]) {
        if (e["rechecked"].get<bool>() == rerun) {
          *at = step;
          return &e;
        }
      }
    }
  }
  return nullptr;
}

TEST(RecordAuditTest, CompletionReRunsMustBeWhatTheCommittedSecretDraws) {
  const Sampled h;
  const AuditReport rep = AuditRecords(h.Signed(h.recs));
  EXPECT_TRUE(rep.ok()) << ReportText(rep);
  // Epochs 0 and 1 (steps 1-8) are revealed: 4 completions a step, all of
  // cleared miners but step 1's two challenge answers (nobody cleared yet,
  // so re-run whatever the draw; their organic answers come after).
  EXPECT_EQ(rep.draws_verified, 8u * 4u - 2u) << ReportText(rep);
  uint64_t step = 0;
  {  // A drawn completion left alone: found once the secret is revealed.
    std::map<uint64_t, json> t = h.recs;
    json* e = FindRerun(t, true, &step);
    ASSERT_NE(e, nullptr);
    (*e)["rechecked"] = false;
    e->erase("completion_verified");
    const AuditReport bad = AuditRecords(h.Signed(t));
    EXPECT_TRUE(Mentions(bad, step, "not re-run, the epoch's secret draws it")) << ReportText(bad);
  }
  {  // A completion re-run that was not drawn (a validator singling a miner out).
    std::map<uint64_t, json> t = h.recs;
    json* e = FindRerun(t, false, &step);
    ASSERT_NE(e, nullptr);
    (*e)["rechecked"] = true;
    const AuditReport bad = AuditRecords(h.Signed(t));
    EXPECT_TRUE(Mentions(bad, step, "re-run, the epoch's secret does not draw it"))
        << ReportText(bad);
  }
  {  // A miner not cleared yet must be re-run whatever the draw.
    std::map<uint64_t, json> t = h.recs;
    t[1]["miners"][0]["rechecked"] = false;
    t[1]["miners"][0].erase("completion_verified");
    const AuditReport bad = AuditRecords(h.Signed(t));
    EXPECT_TRUE(Mentions(bad, 1, "uid 1: completion not re-run, though the miner was not cleared"))
        << ReportText(bad);
  }
  {  // The rate lowered for one step of an epoch.
    std::map<uint64_t, json> t = h.recs;
    t[6]["completion_check_fraction"] = 0.0;
    const AuditReport bad = AuditRecords(h.Signed(t));
    EXPECT_TRUE(Mentions(bad, 6, "completion_check_fraction 0, earlier in epoch 1 0.5"))
        << ReportText(bad);
  }
  {  // Verified without a re-run.
    std::map<uint64_t, json> t = h.recs;
    json* e = FindRerun(t, false, &step);
    ASSERT_NE(e, nullptr);
    (*e)["completion_verified"] = true;
    const AuditReport bad = AuditRecords(h.Signed(t));
    EXPECT_TRUE(Mentions(bad, step, "completion verified but not re-run")) << ReportText(bad);
  }
}

TEST(RecordAuditTest, GarbageIsAFindingNotACrash) {
  Honest h;
  std::map<uint64_t, std::string> texts = h.Signed();
  texts[2] = "{not json";
  texts[3] = std::string(200000, '[') + std::string(200000, ']');
  texts[4] = R"({"record": {"step": 4}, "signer": "x", "signature": "00"})";
  RecordAuditor auditor;
  for (const auto& [step, text] : texts) auditor.Add(step, text);
  auditor.AddUnreadable(6, "file too large");
  const AuditReport& rep = auditor.report();
  EXPECT_EQ(rep.records, 6u);
  EXPECT_TRUE(Mentions(rep, 2, "not a JSON object")) << ReportText(rep);
  EXPECT_TRUE(Mentions(rep, 3, "nested too deeply")) << ReportText(rep);
  EXPECT_EQ(rep.findings.size(), 4u) << ReportText(rep);
  EXPECT_TRUE(Mentions(rep, 6, "unreadable: file too large")) << ReportText(rep);
  // Signed nonsense in the audit fields is malformed, not a crash.
  Records r;
  json rec = r.Step(1, 0, {{1, NewKey(), 0.5}}, {}, true);
  rec["emas"] = json::array({{{"uid", "one"}}});
  rec["weights"]["set_weights"]["inputs"]["rules"] = 7;
  const AuditReport bad = AuditRecords({{1, r.Sign(rec)}});
  EXPECT_TRUE(Mentions(bad, 1, "malformed emas")) << ReportText(bad);
  rec = r.Step(2, 0, {{1, NewKey(), 0.5}}, {}, true);
  rec["weights"]["set_weights"]["inputs"]["rules"] = 7;
  const AuditReport bad2 = AuditRecords({{2, r.Sign(rec)}});
  EXPECT_TRUE(Mentions(bad2, 2, "set_weights: malformed inputs")) << ReportText(bad2);
}

TEST(RecordAuditTest, OnlyTheFirstFindingsAreKeptButAllCounted) {
  Honest h;
  Records other;
  std::map<uint64_t, std::string> texts;
  for (const auto& [step, rec] : h.recs) texts[step] = other.Sign(rec);
  RecordAuditor auditor(h.r.address(), /*max_findings=*/2);
  for (const auto& [step, text] : texts) auditor.Add(step, text);
  EXPECT_EQ(auditor.report().discrepancies, 5u);
  EXPECT_EQ(auditor.report().findings.size(), 2u);
  EXPECT_TRUE(absl::StrContains(ReportText(auditor.report()), "... and 3 more"));
}

// The command over a directory written by WriteRecord.
struct CommandResult {
  int code;
  std::string out, err;
};

CommandResult RunAudit(const std::vector<std::string>& args) {
  std::ostringstream out, err;
  const int code = cli::Run(AuditCommand(), args, out, err);
  return {code, out.str(), err.str()};
}

TEST(AuditCommandTest, ExitsZeroForGoodRecordsAndOneWithTheDiscrepancies) {
  Honest h;
  agora::testing::TempDir tmp;
  const std::string dir = tmp.Sub("records");
  for (const auto& [step, text] : h.Signed()) ASSERT_TRUE(WriteRecord(dir, step, text).ok());
  ASSERT_TRUE(WriteFileAtomic(dir + "/step-0000000009.json.tmp-abc", "half a record", 0644).ok());
  ASSERT_TRUE(WriteFileAtomic(dir + "/notes.txt", "not a record", 0644).ok());

  CommandResult r = RunAudit({"--records", dir});
  EXPECT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_TRUE(absl::StrContains(r.out, "audited 5 records, steps 1..5")) << r.out;
  EXPECT_TRUE(absl::StrContains(r.out, "discrepancies: 0")) << r.out;

  r = RunAudit({"--records", dir, "--json", "--signer", h.r.address()});
  EXPECT_EQ(r.code, 0) << r.out << r.err;
  json j = json::parse(r.out);
  EXPECT_EQ(j["ok"], true);
  EXPECT_EQ(j["weights_checked"], 3);

  std::filesystem::remove(dir + "/step-0000000003.json");
  r = RunAudit({"--records", dir, "--json"});
  EXPECT_EQ(r.code, 1) << r.out << r.err;
  j = json::parse(r.out);
  EXPECT_EQ(j["ok"], false);
  ASSERT_EQ(j["findings"].size(), 1u) << r.out;
  EXPECT_EQ(j["findings"][0]["step"], 3);
  EXPECT_EQ(j["findings"][0]["what"], "step 3 is missing");
  EXPECT_TRUE(absl::StrContains(r.err, "1 discrepancies in 4 score records")) << r.err;
}

TEST(AuditCommandTest, AKill9BetweenTheStateAndTheRecordFileLeavesNoGap) {
  // The validator saves step 5's state with step 5's signed record inside,
  // then is killed before records/step-5 is written. Its restart writes the
  // record from the state (WritePendingRecord, as Init does before any new
  // step), and the audit finds no gap.
  Honest h;
  agora::testing::TempDir tmp;
  const std::string dir = tmp.Sub("records");
  const std::map<uint64_t, std::string> signed_records = h.Signed();
  for (const auto& [step, text] : signed_records) {
    if (step < 5) {
      ASSERT_TRUE(WriteRecord(dir, step, text).ok());
    }
  }
  ValidatorState state;
  state.step = 5;
  state.record_step = 5;
  state.record = signed_records.at(5);
  ASSERT_TRUE(SaveState(tmp.Sub("validator.state"), state).ok());
  // The restarted validator's next step: without the pending record, step 5
  // would be the gap the audit reports.
  ASSERT_TRUE(WriteRecord(dir, 6, h.r.Sign(h.r.Step(6, 2, {{1, h.a, 0.4}}))).ok());
  CommandResult r = RunAudit({"--records", dir, "--json"});
  EXPECT_EQ(r.code, 1) << r.out << r.err;
  EXPECT_TRUE(absl::StrContains(r.out, "step 5 is missing")) << r.out;

  absl::StatusOr<ValidatorState> restarted = LoadState(tmp.Sub("validator.state"));
  ASSERT_TRUE(restarted.ok()) << restarted.status();
  ASSERT_TRUE(WritePendingRecord(*restarted, dir).ok());
  r = RunAudit({"--records", dir});
  EXPECT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_TRUE(absl::StrContains(r.out, "audited 6 records, steps 1..6")) << r.out;

  // A record already written is left alone, and a state whose step has not
  // completed (its record is the previous step's, already on disk) writes nothing.
  ASSERT_TRUE(WriteFileAtomic(RecordPath(dir, 5), signed_records.at(5), 0644).ok());
  state.record = "not this";
  ASSERT_TRUE(WritePendingRecord(state, dir).ok());
  absl::StatusOr<std::string> kept = ReadFile(RecordPath(dir, 5), 1 << 20);
  ASSERT_TRUE(kept.ok());
  EXPECT_EQ(*kept, signed_records.at(5));
  std::filesystem::remove(RecordPath(dir, 5));
  state.step = 7;  // the state moved on: its record is not step 5's to write
  ASSERT_TRUE(WritePendingRecord(state, dir).ok());
  EXPECT_FALSE(std::filesystem::exists(RecordPath(dir, 5)));
  EXPECT_FALSE(std::filesystem::exists(RecordPath(dir, 7)));
}

TEST(AuditCommandTest, RefusesBadArguments) {
  agora::testing::TempDir tmp;
  EXPECT_EQ(RunAudit({}).code, cli::kExitUsage);
  EXPECT_EQ(RunAudit({"--records", tmp.path(), "--signer", "nonsense"}).code, cli::kExitUsage);
  CommandResult r = RunAudit({"--records", tmp.Sub("absent")});
  EXPECT_EQ(r.code, 1);
  EXPECT_TRUE(absl::StrContains(r.err, "not a directory")) << r.err;
  r = RunAudit({"--records", tmp.path()});
  EXPECT_EQ(r.code, 1);
  EXPECT_TRUE(absl::StrContains(r.err, "no score records")) << r.err;
}

}  // namespace
}  // namespace agora::validator
