// Small POSIX file helpers with crash-safe semantics, shared by every part of
// Agora that persists state (key files, wallets, and later chain and score
// stores). All functions are thread-safe in the sense that they keep no state
// of their own; concurrent writers to the same path race as rename(2) does
// (the last rename wins, and a reader never sees a half-written file).
//
// Errors carry the errno-derived code (absl::ErrnoToStatus: NotFound,
// PermissionDenied, AlreadyExists, ResourceExhausted, ...) and a message that
// names the path and the failing system call.
#ifndef AGORA_COMMON_FILE_UTIL_H_
#define AGORA_COMMON_FILE_UTIL_H_

#include <sys/types.h>

#include <cstddef>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace agora {

// What WriteFileAtomic does when `path` already exists.
enum class IfExists {
  kReplace,  // atomically replace it (rename(2))
  kFail,     // leave it alone and return AlreadyExists (link(2), which never replaces)
};

// Writes `bytes` to `path` so that a reader (or a crash) sees either the old
// file or the complete new one, never a mix:
//   1. creates "<path>.tmp-<random>" in the same directory with
//      O_CREAT|O_EXCL|O_NOFOLLOW and permissions `mode` (fchmod'ed to exactly
//      `mode`, whatever the umask),
//   2. writes all bytes and fsyncs the file,
//   3. renames it over `path` (or links it to `path` under IfExists::kFail),
//   4. fsyncs the directory so the new name is durable.
// On any failure the temporary file is removed and `path` is untouched.
// Requires: the parent directory of `path` exists.
absl::Status WriteFileAtomic(absl::string_view path, absl::string_view bytes, mode_t mode = 0600,
                             IfExists if_exists = IfExists::kReplace);

// Reads the whole regular file at `path`. Refuses (FailedPrecondition) a path
// that is not a regular file, and (ResourceExhausted) a file longer than
// `max_bytes`, without reading more than max_bytes + 1 bytes of it: a hostile
// or runaway file cannot make us allocate without bound.
absl::StatusOr<std::string> ReadFile(absl::string_view path, size_t max_bytes);

// Creates `path` and any missing parents with permissions `mode` (like
// `mkdir -p`; existing directories are left as they are). FailedPrecondition if
// a component exists and is not a directory.
absl::Status MakeDirs(absl::string_view path, mode_t mode = 0700);

// True iff `path` exists (any type; symlinks are not followed).
bool PathExists(absl::string_view path);

// The status for errno value `error_number` (absl::ErrnoToStatus), with the
// message "<what> <path>: <strerror>".
absl::Status ErrnoError(int error_number, absl::string_view what, absl::string_view path);

}  // namespace agora

#endif  // AGORA_COMMON_FILE_UTIL_H_
