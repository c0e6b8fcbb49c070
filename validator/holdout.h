// Held-out text for predict challenges, consumed without replacement.
//
// Every prefix a miner sees reveals text, so a miner that records prefixes
// could learn the held-out source and answer from memory. The validator
// therefore walks its sources (files, in the configured order, directories
// expanded to their regular files sorted by name) as one byte stream with a
// cursor that only moves forward: a step's challenges are consecutive
// windows [prefix | target] cut from the stream at the cursor, and the
// cursor passes the last target before any prefix is sent (the caller saves
// it first). No target byte is ever one that an earlier prefix revealed,
// and within a step no prefix contains another challenge's target.
//
// Tokens are bytes (the byte-level tokenizer of miner/tokenizer.h), so a
// prefix of L tokens and its target cost L + 1 bytes of the source.
//
// Thread-compatible.
#ifndef AGORA_VALIDATOR_HOLDOUT_H_
#define AGORA_VALIDATOR_HOLDOUT_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace agora::validator {

struct Challenge {
  uint64_t offset = 0;               // stream position of the prefix's first byte
  std::vector<uint32_t> prefix;      // token ids
  uint32_t target = 0;               // the true next token
};

class HoldoutSource {
 public:
  // Reads every source (each file at most 1 GiB). InvalidArgument when no
  // source is given or they hold fewer than 2 bytes; file errors otherwise.
  static absl::StatusOr<std::unique_ptr<HoldoutSource>> Open(const std::vector<std::string>& paths);

  // Names the sources and their sizes: a saved cursor is only valid for the
  // same fingerprint.
  const std::string& fingerprint() const { return fingerprint_; }
  uint64_t size() const { return text_.size(); }

  // Cuts `count` challenges starting at `cursor`, prefix lengths drawn
  // uniformly from [min_len, max_len] with `seed`. Returns fewer (maybe
  // none) when the stream runs out. *next is where the next step starts.
  std::vector<Challenge> Cut(uint64_t cursor, size_t count, uint32_t min_len, uint32_t max_len,
                             uint64_t seed, uint64_t* next) const;

 private:
  HoldoutSource(std::string text, std::string fingerprint)
      : text_(std::move(text)), fingerprint_(std::move(fingerprint)) {}
  std::string text_;
  std::string fingerprint_;
};

// How long the rest of the source lasts: bytes left / (bytes per step), in
// steps, for the log line the validator prints at start and when it warns.
double StepsLeft(uint64_t size, uint64_t cursor, size_t challenges_per_step, uint32_t min_len,
                 uint32_t max_len);

}  // namespace agora::validator

#endif  // AGORA_VALIDATOR_HOLDOUT_H_
