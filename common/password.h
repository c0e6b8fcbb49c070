// Where a wallet password comes from: a file, an environment variable (for
// unattended miners and validators), or a prompt on the controlling terminal
// with echo off. The password is returned in SecretBytes (sodium_malloc
// memory, wiped when freed) and never passes through std::string.
//
// Thread-compatible: ReadPassword reads the environment and, when prompting,
// changes the terminal's echo setting, so call it from one thread at a time
// (in practice: from the CLI's main thread). See docs/KEYFILES.md "Passwords".
#ifndef AGORA_COMMON_PASSWORD_H_
#define AGORA_COMMON_PASSWORD_H_

#include <cstddef>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/crypto.h"

namespace agora {

inline constexpr absl::string_view kDefaultPasswordEnvVar = "AGORA_WALLET_PASSWORD";
// Longest accepted password, in bytes (after removing a trailing newline).
inline constexpr size_t kMaxPasswordBytes = 1024;

// The sources to try, in this order: the first one that is configured is the
// only one used (a given but unreadable file is an error, not a fallback).
struct PasswordSources {
  // --password-file PATH: the first line of the file (one trailing "\n" or
  // "\r\n" is removed; other bytes, spaces included, are part of the password).
  std::string password_file;
  // Name of the environment variable to read; empty disables it.
  std::string env_var = std::string(kDefaultPasswordEnvVar);
  // Prompt on /dev/tty when stdin is a terminal.
  bool allow_prompt = true;
};

enum class PasswordUse {
  kUnlock,  // opening existing key files: prompt once
  kCreate,  // sealing new key files: prompt twice and compare
};

// The password from the first configured source of `sources`.
// `what` names what the password is for in the prompt ("wallet 'alice'").
// Errors:
//   InvalidArgument     the password is empty or longer than kMaxPasswordBytes,
//                       or the two prompted entries differ;
//   NotFound / PermissionDenied / ...  the password file cannot be read;
//   FailedPrecondition  no source is configured and stdin is not a terminal
//                       (or there is no /dev/tty): the message lists the
//                       options, and nothing ever waits for input.
absl::StatusOr<SecretBytes> ReadPassword(const PasswordSources& sources, PasswordUse use,
                                         absl::string_view what);

// Reads one line from `fd` one byte at a time (so nothing past the newline is
// consumed), without the newline and any '\r' before it. InvalidArgument if
// the line is longer than `max_bytes`. Exposed for tests and other prompts.
absl::StatusOr<SecretBytes> ReadSecretLine(int fd, size_t max_bytes);

}  // namespace agora

#endif  // AGORA_COMMON_PASSWORD_H_
