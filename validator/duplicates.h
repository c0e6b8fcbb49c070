// The duplicate rule: when miners return the same answer, only the one that
// answers first keeps its score. An answer relayed from another miner (a
// copycat) adds nothing to the subnet, and a relay can never have an answer
// before its source does; miners serving the very same checkpoint also
// collide, and only the first of them earns (a copy of a model adds nothing
// either).
//
// "The same" compares what the answer says, not its bytes: the claimed model
// hash, timings and the signature are ignored, and answers a re-run could
// not tell apart are the same answer. Predict answers are the same when
// every distribution of one is within the re-execution tolerance (total
// variation, the validator's spot_tolerance) of the other's; completions
// when their tokens are identical and every log-probability agrees within
// the same tolerance in nats (the step's one seed makes models that close
// sample the same tokens). So a relay that perturbs what it relays, and a
// copy of a model with nudged weights (a new content hash), are duplicates
// of their source as long as they stay within what the checks allow;
// beyond it a relay fails its re-run, and a copy is a model of its own.
// Barely trained, near-uniform models can be the same answer too: a re-run
// cannot tell them apart either, and they earn next to nothing anyway.
//
// Who leads a group of the same answers: the miner whose model was
// registered on chain first (NeuronInfo.model.block), since a copy of a
// model can only be registered after its original was; among registrations
// of the same block (or none known), the one that answers first, as follows.
// "First" cannot be read off one step: a relay that batches with its
// source's own work answers within a millisecond of it, and the validator's
// clock (scheduling, the order replies are read) is noisier than that. So
// the validator remembers, for each pair of miners that gave the same
// answer, how often each one answered first (DuplicateHistory), and of a
// group of identical answers the one that has answered first in most of its
// races (this step's included) leads; with no history, this step's fastest.
// A copier is first only by the clock's noise, so it loses the majority.
// The history is part of the validator's durable state (state.h), so a
// restart does not hand a copier the next contested step.
//
// Pure: the same answers, latencies and history always give the same result.
#ifndef AGORA_VALIDATOR_DUPLICATES_H_
#define AGORA_VALIDATOR_DUPLICATES_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <utility>
#include <vector>

#include "common/msgpack.h"

#include "common/crypto.h"
#include "protocol/task_messages.h"

namespace agora::validator {

// How close two answers must be to be the same: the validator's re-run
// tolerance (ValidatorOptions::spot_tolerance) for both, and for predict
// answers also a derived-model distance: answers whose distributions are on
// average within `derived` total variation of each other come from models
// that compute nearly the same function, such as a copy of one model's
// weights nudged beyond the re-run tolerance (a thief escaping the first
// rule), and count as the same answer too. It compares functions, not
// parameters, so no permutation or rescaling of a copy's weights moves it;
// its default keeps clear of independently trained models
// (docs/VALIDATOR.md "Duplicates", docs/BENCHMARKS.md "Perturbed copies").
struct SameAnswerTolerance {
  double distribution = 0.02;  // total variation, per distribution
  double logprob = 0.02;       // nats, per completion token
  double derived = 0.0;        // mean total variation over an answer; 0: off
};

bool SamePredictAnswer(const protocol::PredictReply& a, const protocol::PredictReply& b,
                       const SameAnswerTolerance& tolerance = {});
bool SameCompletion(const protocol::GenerateReply& a, const protocol::GenerateReply& b,
                    const SameAnswerTolerance& tolerance = {});

// One answer of a step. Null `reply`: no usable answer (none, malformed, or
// judged invalid), which takes no part.
template <class Reply>
struct Response {
  const Reply* reply = nullptr;
  uint16_t uid = 0;
  PublicKey hotkey{};     // whose races the history remembers
  double latency_ms = 0;  // measured by the validator
  // False for a miner caught misrepresenting its model in this step (a
  // failed spot check): it can still be a duplicate, but never the answer
  // others duplicate, and its races are not counted, so a liar serving an
  // honest miner's weights cannot take that miner's score by answering first.
  bool may_lead = true;
  // The block its uid registered its model in (0: none known, counts as
  // the latest): an earlier registration leads.
  uint64_t registered_block = 0;
};

// Two miners gave the same answer in a step and `first` answered before `second`.
struct Race {
  PublicKey first{};
  PublicKey second{};
};

// One remembered pair of DuplicateHistory, as the validator's state stores
// it: `lower` < `higher`, and how often each answered first.
struct PairRaces {
  PublicKey lower{};
  PublicKey higher{};
  uint32_t lower_first = 0;
  uint32_t higher_first = 0;
  MSGPACK_DEFINE_MAP(lower, higher, lower_first, higher_first)
};

// How often each of two miners answered first when they gave the same
// answer. Counts are halved when a pair's total reaches kMaxCount (recent
// races weigh more), and at most `max_pairs` pairs are remembered (races of
// new pairs beyond that are not). Thread-compatible.
class DuplicateHistory {
 public:
  static constexpr uint32_t kMaxCount = 64;
  explicit DuplicateHistory(size_t max_pairs = 4096) : max_pairs_(max_pairs) {}

  void Add(const std::vector<Race>& races);
  // Races between a and b that a answered first.
  uint32_t TimesFirst(const PublicKey& a, const PublicKey& b) const;
  size_t pairs() const { return counts_.size(); }

  // Every remembered pair, ordered by (lower, higher).
  std::vector<PairRaces> Export() const;
  // Replaces the history with `pairs` (as Export gave them). Entries that
  // Export could not have produced (lower >= higher, a pair listed twice,
  // counts summing to kMaxCount or more) and pairs beyond max_pairs are
  // dropped, so a damaged state cannot give a miner an unearned lead.
  void Restore(const std::vector<PairRaces>& pairs);

 private:
  size_t max_pairs_;
  // Keyed by the ordered pair (lower key first); [0]: the lower answered first.
  std::map<std::pair<PublicKey, PublicKey>, std::array<uint32_t, 2>> counts_;
};

struct DuplicateResult {
  // For each response, the index of the response it duplicates, or nullopt.
  std::vector<std::optional<size_t>> duplicate_of;
  // This step's races between identical answers of miners that may lead,
  // for DuplicateHistory::Add.
  std::vector<Race> races;
};

// Groups the responses that may lead by the same answers (taken fastest
// first: one joins the group of the first faster answer it is the same as).
// In each group the leader is the member that beats the most others, where
// a beats b if its model was registered in an earlier block, or in the same
// block and it answered first in more of their races (history plus this
// step), or in as many and in this step; every other member is the leader's
// duplicate. A response that may not lead is the duplicate of the leader of
// the first group whose answer it is the same as, whatever its speed.
// Latency ties go to the lower uid, then the lower index; NaN is slowest.
DuplicateResult FindDuplicates(const std::vector<Response<protocol::PredictReply>>& responses,
                               const DuplicateHistory& history,
                               const SameAnswerTolerance& tolerance = {});
DuplicateResult FindDuplicates(const std::vector<Response<protocol::GenerateReply>>& responses,
                               const DuplicateHistory& history,
                               const SameAnswerTolerance& tolerance = {});

}  // namespace agora::validator

#endif  // AGORA_VALIDATOR_DUPLICATES_H_
