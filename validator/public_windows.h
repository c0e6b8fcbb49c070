// The 32-byte windows of public texts, to keep them out of challenge text.
//
// A challenge is only a test of what a model knows if no miner could have
// read its text before it was asked (docs/VALIDATOR.md "Challenge text"). A
// generated source (validator/teacher_text.h) may still reproduce a phrase
// of the public text its teacher learned from ("And the LORD spake unto
// Moses, saying,"), which a lookup over that text would then complete. So
// the teacher is given the public texts at hand (the Debian packages' text,
// word lists, served checkpoints) and never emits a window found in them,
// and the devnet's proof checks its challenge text against them.
//
// Windows are kept as 64-bit polynomial hashes in one sorted vector (8 bytes
// a window, so the King James Bible's 4.3 MB take 35 MB); a hash collision
// can only make a window look public, never the reverse.
//
// Thread-compatible; const methods are safe to call concurrently.
#ifndef AGORA_VALIDATOR_PUBLIC_WINDOWS_H_
#define AGORA_VALIDATOR_PUBLIC_WINDOWS_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace agora::validator {

inline constexpr size_t kPublicWindow = 32;

class PublicWindows {
 public:
  // Reads every path: a file, or a directory walked recursively (regular
  // files only, symlinks not followed). Paths that do not exist are skipped
  // and named in *missing when given (a word list or fortune package may not
  // be installed). At most max_bytes in all (InvalidArgument beyond).
  static absl::StatusOr<PublicWindows> Load(const std::vector<std::string>& paths,
                                            std::vector<std::string>* missing = nullptr,
                                            size_t max_bytes = size_t{1} << 30);
  // The windows of `text` alone.
  static PublicWindows Of(absl::string_view text);

  // Whether `window` (exactly kPublicWindow bytes) occurs in the texts.
  bool Contains(absl::string_view window) const;
  // The offset of the first window of `text` that occurs in the texts.
  std::optional<size_t> FirstShared(absl::string_view text) const;

  size_t windows() const { return hashes_.size(); }
  size_t files() const { return files_; }
  uint64_t bytes() const { return bytes_; }

 private:
  void Add(absl::string_view text);
  void Seal();
  std::vector<uint64_t> hashes_;  // sorted, unique once sealed
  size_t files_ = 0;
  uint64_t bytes_ = 0;
};

}  // namespace agora::validator

#endif  // AGORA_VALIDATOR_PUBLIC_WINDOWS_H_
