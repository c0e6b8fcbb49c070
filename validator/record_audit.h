// The audit of a validator's signed score records (validator/score_record.h):
// anyone holding a validator's records can check, without trusting it, that
//   - every record verifies and all are signed by the same hotkey;
//   - the steps are consecutive (a missing record is data lost or withheld);
//   - each miner's moving average follows from the previous record's and
//     this step's recorded scores:
//       ema = ema_before + alpha * (step_score - ema_before)   (UpdateScores)
//       ema += alpha * generate_weight * (score - ema)          (each organic
//                                                               update, in order)
//     where ema_before is 0 for a uid new to the table or whose hotkey changed;
//   - each weight vector set or committed equals ComputeWeights of its
//     recorded inputs, and those inputs are the recorded moving averages
//     (0 for a miner zeroed by a failed spot check);
//   - each revealed vector equals the one committed in its epoch;
//   - every record of an epoch carries the same check commitment, the secret
//     revealed for an epoch hashes to it, and each record's re-run
//     challenge is the one that secret selects (validator/check_seed.h);
//   - every valid completion of a miner not cleared by a verified one was
//     re-run, and a cleared miner's was re-run exactly when the revealed
//     secret draws it at "completion_check_fraction".
//
// The fields this needs, written by the validator through the helpers below:
//   "alpha", "generate_weight"   the moving-average rates;
//   "emas"     every scored uid after the step, ascending:
//              [{"uid", "hotkey", "ema", "zeroed_until_epoch"}];
//   "organic"  the gateway answers folded in this step, in the order applied:
//              [{"uid", "hotkey", "generate_score"?, "evidence"?,
//                "completion_verified"?, "rechecked"?, "sample"?}];
//   "miners"   each scored miner: "step_score", "evidence"?,
//              "completion_verified"?, "rechecked"? (a valid completion:
//              whether it was re-run);
//   "weights": {"set_weights"|"commit_weights": {..., "inputs":
//              {"uids", "scores", "rules": {"n", "self_uid",
//               "min_allowed_weights", "max_weight_limit", "power"}}}};
//   "check"    {"epoch", "commit", "challenge"}: the epoch's secret's
//              commitment and the predict challenge re-run in this step;
//   "check_reveal" {"epoch", "secret"}: the previous epoch's secret;
//   "challenges" [{"offset", "len", "target", "prefix"}] and, in every
//              `answers_every`-th record, each miner's "answer" (base64 of
//              its reply body): its hash, loss and predict score are
//              recomputed.
// Records written before these fields existed are counted as not checkable,
// never as failures.
//
// Pure: no files, no clock. Thread-compatible.
#ifndef AGORA_VALIDATOR_RECORD_AUDIT_H_
#define AGORA_VALIDATOR_RECORD_AUDIT_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/strings/string_view.h"
#include "validator/state.h"
#include "validator/weights.h"

namespace agora::validator {

// The record fields above, as the validator writes them.
nlohmann::json EmaTableJson(const std::vector<MinerScore>& scores);
nlohmann::json WeightInputsJson(const std::vector<uint16_t>& uids,
                                const std::vector<double>& scores, const WeightRules& rules);

// One thing that does not check out.
struct AuditFinding {
  uint64_t step = 0;
  std::string what;
};

struct AuditReport {
  uint64_t records = 0;  // records given, readable or not
  uint64_t first_step = 0, last_step = 0;
  std::string signer;  // the hotkey every record must be signed by
  uint64_t signatures_verified = 0;
  uint64_t missing_steps = 0;       // steps between first and last without a record
  uint64_t emas_checked = 0;        // records whose moving averages were recomputed
  uint64_t emas_not_checkable = 0;  // no previous record, or fields written before the audit
  uint64_t weights_checked = 0;     // weight vectors recomputed (or reveals matched)
  uint64_t weights_not_checkable = 0;
  uint64_t checks_verified = 0;      // re-run challenges matched to a revealed secret
  uint64_t checks_not_checkable = 0; // records without "check", or whose secret is not revealed in them
  uint64_t draws_verified = 0;       // completions of cleared miners re-run (or not) as the secret drew
  uint64_t answers_checked = 0;      // published answers matched to their hashes (losses recomputed)
  uint64_t discrepancies = 0;  // all of them; `findings` holds the first few
  std::vector<AuditFinding> findings;
  bool ok() const { return records > 0 && discrepancies == 0; }
};

// Compact human-readable and JSON forms of a report.
std::string ReportText(const AuditReport& report);
nlohmann::json ReportJson(const AuditReport& report);

// Audits records fed one at a time in increasing step order, so a directory
// of any length needs memory for one record and the moving-average table.
class RecordAuditor {
 public:
  // `signer`: the hotkey address every record must carry; empty: the first
  // verified record's. `max_findings`: how many findings are kept (all are counted).
  explicit RecordAuditor(std::string signer = "", size_t max_findings = 20);

  // The signed file text of the record the file name says is `step`.
  void Add(uint64_t step, const std::string& text);
  // A record that exists but could not be read (too large, not a file).
  void AddUnreadable(uint64_t step, absl::string_view why);

  // The report so far; records whose secret was never revealed in what was
  // added count as not checkable.
  AuditReport report() const;

 private:
  struct Ema {
    std::string hotkey;
    double ema = 0;
    uint64_t zeroed_until_epoch = 0;
    bool completion_verified = false;
  };
  using EmaTable = std::map<uint16_t, Ema>;
  struct Committed {
    std::vector<uint16_t> uids;
    std::vector<uint16_t> weights;
  };

  // Counts `step` in, reports a gap before it; false if it is out of order.
  bool Arrive(uint64_t step);
  void Find(uint64_t step, std::string what);
  void Check(uint64_t step, const nlohmann::json& record);
  void CheckEmas(uint64_t step, const nlohmann::json& record, const std::optional<EmaTable>& table);
  void CheckWeights(uint64_t step, const nlohmann::json& record,
                    const std::optional<EmaTable>& table);
  void CheckSelection(uint64_t step, const nlohmann::json& record);
  // Each published answer ("answer": base64 of the reply body) hashes to its
  // answer_hash, and a valid one's loss on the record's targets and predict
  // score are the recorded ones (scoring/predict_host.h).
  void CheckAnswers(uint64_t step, const nlohmann::json& record);

  std::string signer_;
  size_t max_findings_;
  AuditReport report_;
  bool any_ = false;
  uint64_t netuid_ = 0;
  bool have_netuid_ = false;
  // The previous record's table, when it is the previous step's and checked in.
  std::optional<EmaTable> prev_;
  std::map<uint64_t, Committed> commits_;  // by epoch, the most recent few
  // Check commitments by epoch, and the records waiting for their reveal.
  struct Selection {
    uint64_t step = 0;
    size_t challenges = 0;
    size_t challenge = 0;
  };
  std::map<uint64_t, std::string> check_commits_;
  std::map<uint64_t, std::vector<Selection>> unrevealed_;
  // Completions of cleared miners, by epoch, waiting for the secret that
  // decides whether each should have been re-run (check_seed.h).
  struct Draw {
    uint64_t step = 0;
    uint32_t ordinal = 0;
    uint16_t uid = 0;
    bool rechecked = false;
    double fraction = 1;
  };
  std::map<uint64_t, std::vector<Draw>> draws_;
  std::map<uint64_t, double> fractions_;  // completion_check_fraction by epoch
};

// Audits whole texts in step order: `records` maps step -> signed file text.
AuditReport AuditRecords(const std::map<uint64_t, std::string>& records,
                         const std::string& signer = "");

}  // namespace agora::validator

#endif  // AGORA_VALIDATOR_RECORD_AUDIT_H_
