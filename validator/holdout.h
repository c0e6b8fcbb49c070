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
// A source may instead be a command whose standard output is the text (for
// example `agora-validator teacher`, validator/teacher_text.h): it is read as
// needed, never ends, and is a new stream at every start (its cursor starts
// at 0), so the command must never repeat itself. A command that exits or
// stalls is started again, at most once a minute.
//
// Thread-compatible.
#ifndef AGORA_VALIDATOR_HOLDOUT_H_
#define AGORA_VALIDATOR_HOLDOUT_H_

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace agora::validator {

// Challenge text is bytes: token ids are byte values, the vocabulary 256
// (the validator's predict steps and the audit's recomputed losses).
inline constexpr uint32_t kChallengeVocab = 256;

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
  // Starts `command` (/bin/sh -c) with its standard output as the stream;
  // it is stopped when the source is destroyed (or the validator dies).
  // `first_wait` bounds the wait for its first bytes (a command may load a
  // model first), `wait` every later read. InvalidArgument for an empty
  // command; Internal when it cannot be started.
  static absl::StatusOr<std::unique_ptr<HoldoutSource>> OpenCommand(
      const std::string& command, std::chrono::milliseconds first_wait = std::chrono::seconds(120),
      std::chrono::milliseconds wait = std::chrono::seconds(30));
  ~HoldoutSource();
  HoldoutSource(const HoldoutSource&) = delete;
  HoldoutSource& operator=(const HoldoutSource&) = delete;

  // A command's stream: endless, and new at every start.
  bool endless() const { return !command_.empty(); }
  // Names the sources and their sizes: a saved cursor is only valid for the
  // same fingerprint.
  const std::string& fingerprint() const { return fingerprint_; }
  // Bytes of the sources (files), or read so far (a command).
  uint64_t size() const { return base_ + text_.size(); }
  // Why a command's stream gave no more text (empty while it flows).
  const std::string& problem() const { return problem_; }

  // Cuts `count` challenges starting at `cursor`, prefix lengths drawn
  // uniformly from [min_len, max_len] with `seed`. Returns fewer (maybe
  // none) when the files run out or the command gives no text in time.
  // *next is where the next step starts. Text before `cursor` is consumed:
  // a command's stream forgets it.
  std::vector<Challenge> Cut(uint64_t cursor, size_t count, uint32_t min_len, uint32_t max_len,
                             uint64_t seed, uint64_t* next);

 private:
  HoldoutSource(std::string text, std::string fingerprint)
      : text_(std::move(text)), fingerprint_(std::move(fingerprint)) {}
  // A command's stream: reads until `end` bytes have been read in all, the
  // wait runs out, or the command ends (then it is restarted later).
  void ReadUpTo(uint64_t end);
  absl::Status Start();
  void Stop();

  std::string text_;  // bytes [base_, base_ + size) of the stream
  uint64_t base_ = 0;
  std::string fingerprint_;
  // A command's stream.
  std::string command_;
  std::chrono::milliseconds first_wait_{0}, wait_{0};
  pid_t pid_ = -1;
  int fd_ = -1;
  bool got_bytes_ = false;  // since the command was (re)started
  std::chrono::steady_clock::time_point started_{};
  std::string problem_;
};

// How long the rest of the source lasts: bytes left / (bytes per step), in
// steps, for the log line the validator prints at start and when it warns.
double StepsLeft(uint64_t size, uint64_t cursor, size_t challenges_per_step, uint32_t min_len,
                 uint32_t max_len);

}  // namespace agora::validator

#endif  // AGORA_VALIDATOR_HOLDOUT_H_
