// Challenge text that nobody can have read before it is asked: sampled from
// the validator's own private model (the teacher) with a secret seed.
//
// The teacher is a byte-level checkpoint that only the validator holds (never
// registered, never served). Text is drawn from it one byte at a time at the
// given temperature, each draw's uniform number from BLAKE2b-256(secret ||
// counter), so without the secret the stream cannot be predicted, and with a
// fresh secret per run it is never the same twice. A byte that would complete
// a 32-byte window found in the public texts (public_windows.h) is refused
// and the draw repeated without it, so no lookup over those texts finds a
// challenge's continuation.
//
// Why the loss on this text ranks models as their true quality does:
// docs/VALIDATOR.md "Challenge text".
//
// Thread-compatible.
#ifndef AGORA_VALIDATOR_TEACHER_TEXT_H_
#define AGORA_VALIDATOR_TEACHER_TEXT_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/crypto.h"
#include "miner/handlers.h"
#include "miner/model.h"
#include "validator/public_windows.h"

namespace agora::validator {

class TeacherText {
 public:
  // `model` (vocab 256, byte-level) and `exclude` (may be null) must outlive
  // this. InvalidArgument for another vocabulary or a temperature outside
  // (0, 10].
  static absl::StatusOr<TeacherText> Create(miner::ModelBackend* model, const Hash256& secret,
                                            double temperature, const PublicWindows* exclude);

  // The next n bytes of the stream.
  absl::StatusOr<std::string> Next(size_t n);

  // Draws refused because they completed a public window.
  uint64_t refused() const { return refused_; }

 private:
  TeacherText(miner::ModelBackend* model, const Hash256& secret, double temperature,
              const PublicWindows* exclude)
      : model_(model), secret_(secret), temperature_(temperature), exclude_(exclude) {}
  double Uniform();

  miner::ModelBackend* model_;
  Hash256 secret_;
  double temperature_;
  const PublicWindows* exclude_;
  static constexpr uint64_t kSequence = 1;  // the model's decode-cache slot
  std::string tail_ = "\n";  // what the next byte follows (the text starts as a line does)
  size_t from_ = 0;          // where the model's view of tail_ begins
  std::vector<uint32_t> row_;
  std::vector<float> logits_;      // the next byte's, a refused byte's set to -inf
  miner::TokenSampler sampler_;    // the miner's own draw (inverse CDF in id order)
  uint64_t counter_ = 0;
  uint64_t refused_ = 0;
};

}  // namespace agora::validator

#endif  // AGORA_VALIDATOR_TEACHER_TEXT_H_
