// The validator's durable state: what must survive kill -9 so a restarted
// validator resumes where it was. One msgpack file, <data_dir>/validator.state,
// replaced atomically (common/file_util.h WriteFileAtomic) after every step
// and before every action whose effect outside the process must not be
// repeated: a held-out cursor is saved before its text is revealed to
// miners, a commit's salt before the commit is sent. A completed step's
// state carries that step's signed score record, written to records/ only
// after the state (so the two can never disagree after a crash).
//
// Thread-compatible: owned by the validator loop.
#ifndef AGORA_VALIDATOR_STATE_H_
#define AGORA_VALIDATOR_STATE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "common/msgpack.h"

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/crypto.h"
#include "validator/check_seed.h"
#include "validator/duplicates.h"

namespace agora::validator {

// A miner's moving-average score; reset when the uid's hotkey changes.
struct MinerScore {
  uint16_t uid = 0;
  PublicKey hotkey{};
  double ema = 0;             // moving average of step scores, in [0, 1]
  uint64_t steps = 0;         // steps that scored it since the last reset
  double last_loss = 0;       // held-out log-loss of its last valid answer (nats)
  uint64_t zeroed_until_epoch = 0;  // caught lying: scores 0 before this epoch
  // One of its completions was re-run on its model and matched since it was
  // last caught (or first scored). See PayableScore.
  bool completion_verified = false;
  MSGPACK_DEFINE_MAP(uid, hotkey, ema, steps, last_loss, zeroed_until_epoch, completion_verified)
};

// What a moving average is worth in the weights and the gateway's ranking at
// `epoch`: nothing while the miner is zeroed by a failed check, and, where
// the validator re-runs completions (`require_verified`: it sends generate
// challenges), nothing until one of the miner's completions has been re-run
// and matched since it was last caught. A miner that serves honest
// predictions but never samples honestly (greedy, cut-short completions)
// otherwise earns from its predictions between checks; with the rule it
// earns nothing until it samples its own model. Shared with the audit, which
// recomputes every weight input from the records.
double PayableScore(double ema, uint64_t zeroed_until_epoch, bool completion_verified,
                    uint64_t epoch, bool require_verified);

// A commit_weights sent (or about to be sent) whose reveal is still due.
struct PendingCommit {
  uint64_t epoch = 0;         // the subnet's epoch when committed
  std::vector<uint16_t> uids;
  std::vector<uint16_t> weights;
  std::string salt;
  uint64_t version_key = 0;
  MSGPACK_DEFINE_MAP(epoch, uids, weights, salt, version_key)
};

struct ValidatorState {
  uint32_t version = 1;
  PublicKey hotkey{};         // the validator's; a state file of another key is refused
  uint16_t netuid = 0;
  uint64_t step = 0;          // steps completed
  // Held-out text consumed: bytes of the concatenated sources (holdout.h).
  uint64_t holdout_cursor = 0;
  std::string holdout_fingerprint;  // names the sources the cursor belongs to
  std::vector<MinerScore> scores;   // sorted by uid
  std::vector<PendingCommit> commits;
  uint64_t last_weights_block = 0;  // block of the last accepted set/reveal
  uint64_t weights_set = 0;         // accepted set_weights / reveal_weights
  // The duplicate rule's race history (duplicates.h), predict and generate
  // answers: after a restart, who answered first still decides who leads.
  std::vector<PairRaces> predict_races;
  std::vector<PairRaces> generate_races;
  // The signed score record of step `record_step` (score_record.h), saved in
  // the same rename as the state that completes the step: a kill -9 before
  // records/step-<N>.json is written cannot leave a gap, because a restart
  // writes it from here (WritePendingRecord).
  uint64_t record_step = 0;
  std::string record;
  // Which answers are re-run (check_seed.h): this epoch's secret, committed
  // in every record of the epoch, and the last epoch's, revealed in them.
  CheckSecret check;
  CheckSecret check_revealed;
  MSGPACK_DEFINE_MAP(version, hotkey, netuid, step, holdout_cursor, holdout_fingerprint, scores,
                     commits, last_weights_block, weights_set, predict_races, generate_races,
                     record_step, record, check, check_revealed)
};

// Reads <path>; NotFound when it does not exist (a fresh validator),
// DataLoss when it does not decode.
absl::StatusOr<ValidatorState> LoadState(const std::string& path);
absl::Status SaveState(const std::string& path, const ValidatorState& state);

// After a restart: writes state.record as <records_dir>/step-<record_step>
// when the state's last completed step is that record's (state.step ==
// record_step > 0) and the file is missing. OK when there is nothing to do.
absl::Status WritePendingRecord(const ValidatorState& state, const std::string& records_dir);

}  // namespace agora::validator

#endif  // AGORA_VALIDATOR_STATE_H_
