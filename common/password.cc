#include "common/password.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "common/file_util.h"
#include "common/log.h"

namespace agora {
namespace {

// Copies the first `size` bytes of `buffer` into a right-sized SecretBytes.
SecretBytes Shrink(const SecretBytes& buffer, size_t size) {
  SecretBytes out(size);
  if (size > 0) std::memcpy(out.data(), buffer.data(), size);
  return out;
}

absl::Status CheckNotEmpty(const SecretBytes& password, absl::string_view source) {
  if (password.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("password from ", source, " is empty"));
  }
  return absl::OkStatus();
}

absl::StatusOr<SecretBytes> FromFile(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return ErrnoError(errno, "password file: open", path);
  struct stat st;
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return absl::FailedPreconditionError(
        absl::StrCat("password file ", path, ": not a regular file"));
  }
  if ((st.st_mode & 077) != 0) {
    AGORA_LOG(WARN, "wallet", "password file %s is readable by other users (chmod 600 it)", path);
  }
  // A "line" read of the whole file: the limit allows for the trailing "\r\n".
  SecretBytes buffer(kMaxPasswordBytes + 3);
  size_t size = 0;
  while (size < buffer.size()) {
    const ssize_t n = ::read(fd, buffer.data() + size, buffer.size() - size);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      ::close(fd);
      return ErrnoError(err, "password file: read", path);
    }
    if (n == 0) break;
    size += static_cast<size_t>(n);
  }
  ::close(fd);
  if (size > 0 && buffer.data()[size - 1] == '\n') --size;
  if (size > 0 && buffer.data()[size - 1] == '\r') --size;
  if (size > kMaxPasswordBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("password file ", path, ": longer than ", kMaxPasswordBytes, " bytes"));
  }
  if (std::find(buffer.data(), buffer.data() + size, '\n') != buffer.data() + size) {
    return absl::InvalidArgumentError(
        absl::StrCat("password file ", path, ": has more than one line"));
  }
  return Shrink(buffer, size);
}

absl::StatusOr<SecretBytes> FromEnv(const char* value, absl::string_view name) {
  const size_t size = std::strlen(value);
  if (size > kMaxPasswordBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("password from $", name, ": longer than ", kMaxPasswordBytes, " bytes"));
  }
  SecretBytes out(size);
  if (size > 0) std::memcpy(out.data(), value, size);
  return out;
}

// Writes `text` to the terminal, ignoring errors (a prompt that cannot be shown
// is not fatal; the read that follows reports any real problem).
void TtyWrite(int fd, absl::string_view text) {
  while (!text.empty()) {
    const ssize_t n = ::write(fd, text.data(), text.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    text.remove_prefix(static_cast<size_t>(n));
  }
}

// Prompts once on `tty` with echo off; restores the terminal before returning.
absl::StatusOr<SecretBytes> PromptOnce(int tty, absl::string_view prompt) {
  TtyWrite(tty, prompt);
  struct termios saved;
  const bool have_termios = ::tcgetattr(tty, &saved) == 0;
  if (have_termios) {
    struct termios quiet = saved;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    quiet.c_lflag |= ICANON;
    ::tcsetattr(tty, TCSAFLUSH, &quiet);
  }
  absl::StatusOr<SecretBytes> line = ReadSecretLine(tty, kMaxPasswordBytes);
  if (have_termios) ::tcsetattr(tty, TCSAFLUSH, &saved);
  TtyWrite(tty, "\n");
  return line;
}

absl::StatusOr<SecretBytes> FromPrompt(PasswordUse use, absl::string_view what) {
  const int tty = ::open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (tty < 0) return absl::FailedPreconditionError("no password source: cannot open /dev/tty");
  absl::StatusOr<SecretBytes> first = PromptOnce(
      tty, absl::StrCat(use == PasswordUse::kCreate ? "New password for " : "Password for ", what,
                        ": "));
  if (first.ok() && use == PasswordUse::kCreate && !first->empty()) {
    absl::StatusOr<SecretBytes> second = PromptOnce(tty, "Repeat the password: ");
    if (!second.ok()) {
      first = second.status();
    } else if (!ConstantTimeEqual({first->data(), first->size()},
                                  {second->data(), second->size()})) {
      first = absl::InvalidArgumentError("the two passwords do not match");
    }
  }
  ::close(tty);
  return first;
}

}  // namespace

absl::StatusOr<SecretBytes> ReadSecretLine(int fd, size_t max_bytes) {
  SecretBytes buffer(max_bytes + 1);
  size_t size = 0;
  while (true) {
    char c = 0;
    const ssize_t n = ::read(fd, &c, 1);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return absl::ErrnoToStatus(errno, "password: read");
    if (n == 0 || c == '\n') break;
    if (size == buffer.size()) {
      return absl::InvalidArgumentError(
          absl::StrCat("password: longer than ", max_bytes, " bytes"));
    }
    buffer.data()[size++] = static_cast<uint8_t>(c);
  }
  if (size > 0 && buffer.data()[size - 1] == '\r') --size;
  if (size > max_bytes) {
    return absl::InvalidArgumentError(absl::StrCat("password: longer than ", max_bytes, " bytes"));
  }
  return Shrink(buffer, size);
}

absl::StatusOr<SecretBytes> ReadPassword(const PasswordSources& sources, PasswordUse use,
                                         absl::string_view what) {
  absl::StatusOr<SecretBytes> password;
  std::string source;
  if (!sources.password_file.empty()) {
    source = absl::StrCat("password file ", sources.password_file);
    password = FromFile(sources.password_file);
  } else if (const char* env =
                 sources.env_var.empty() ? nullptr : std::getenv(sources.env_var.c_str());
             env != nullptr) {
    source = absl::StrCat("$", sources.env_var);
    password = FromEnv(env, sources.env_var);
  } else if (sources.allow_prompt && ::isatty(STDIN_FILENO)) {
    source = "the prompt";
    password = FromPrompt(use, what);
  } else {
    return absl::FailedPreconditionError(
        absl::StrCat("no password for ", what, ": pass --password-file FILE",
                     sources.env_var.empty() ? "" : absl::StrCat(", set ", sources.env_var),
                     ", or run in a terminal to be prompted"));
  }
  if (!password.ok()) return password.status();
  if (absl::Status s = CheckNotEmpty(*password, source); !s.ok()) return s;
  return password;
}

}  // namespace agora
