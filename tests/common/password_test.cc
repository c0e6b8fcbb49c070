#include "common/password.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "common/file_util.h"
#include "gtest/gtest.h"
#include "tests/common/temp_dir.h"

namespace agora {
namespace {

std::string Text(const SecretBytes& s) {
  return std::string(reinterpret_cast<const char*>(s.data()), s.size());
}

// Only the sources a test names: no environment, no prompt.
PasswordSources NoSources() {
  PasswordSources s;
  s.env_var = "";
  s.allow_prompt = false;
  return s;
}

TEST(PasswordTest, FileDropsOneTrailingNewlineOnly) {
  testing::TempDir dir;
  PasswordSources sources = NoSources();
  sources.password_file = dir.Sub("pw");
  for (const auto& [content, expected] :
       std::vector<std::pair<std::string, std::string>>{{"hunter2\n", "hunter2"},
                                                        {"hunter2\r\n", "hunter2"},
                                                        {"hunter2", "hunter2"},
                                                        {" spaced out \n", " spaced out "}}) {
    ASSERT_TRUE(WriteFileAtomic(sources.password_file, content).ok());
    absl::StatusOr<SecretBytes> pw = ReadPassword(sources, PasswordUse::kUnlock, "test");
    ASSERT_TRUE(pw.ok()) << pw.status();
    EXPECT_EQ(Text(*pw), expected);
  }
}

TEST(PasswordTest, FileErrors) {
  testing::TempDir dir;
  PasswordSources sources = NoSources();
  sources.password_file = dir.Sub("pw");
  EXPECT_EQ(ReadPassword(sources, PasswordUse::kUnlock, "t").status().code(),
            absl::StatusCode::kNotFound);
  ASSERT_TRUE(WriteFileAtomic(sources.password_file, "\n").ok());
  absl::StatusOr<SecretBytes> empty = ReadPassword(sources, PasswordUse::kCreate, "t");
  EXPECT_EQ(empty.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(empty.status().message().find("is empty"), absl::string_view::npos);
  ASSERT_TRUE(WriteFileAtomic(sources.password_file, "one\ntwo\n").ok());
  EXPECT_EQ(ReadPassword(sources, PasswordUse::kUnlock, "t").status().code(),
            absl::StatusCode::kInvalidArgument);
  ASSERT_TRUE(WriteFileAtomic(sources.password_file, std::string(kMaxPasswordBytes + 1, 'x')).ok());
  EXPECT_EQ(ReadPassword(sources, PasswordUse::kUnlock, "t").status().code(),
            absl::StatusCode::kInvalidArgument);
  ASSERT_TRUE(WriteFileAtomic(sources.password_file, std::string(kMaxPasswordBytes, 'x')).ok());
  EXPECT_TRUE(ReadPassword(sources, PasswordUse::kUnlock, "t").ok());
}

TEST(PasswordTest, EnvironmentVariableWithConfigurableName) {
  PasswordSources sources = NoSources();
  sources.env_var = "AGORA_TEST_PASSWORD_VAR";
  ::setenv("AGORA_TEST_PASSWORD_VAR", "from env", 1);
  absl::StatusOr<SecretBytes> pw = ReadPassword(sources, PasswordUse::kCreate, "t");
  ASSERT_TRUE(pw.ok()) << pw.status();
  EXPECT_EQ(Text(*pw), "from env");
  ::setenv("AGORA_TEST_PASSWORD_VAR", "", 1);
  EXPECT_EQ(ReadPassword(sources, PasswordUse::kUnlock, "t").status().code(),
            absl::StatusCode::kInvalidArgument);
  ::unsetenv("AGORA_TEST_PASSWORD_VAR");
}

TEST(PasswordTest, FileComesBeforeEnvironment) {
  testing::TempDir dir;
  PasswordSources sources = NoSources();
  sources.env_var = "AGORA_TEST_PASSWORD_VAR";
  sources.password_file = dir.Sub("pw");
  ASSERT_TRUE(WriteFileAtomic(sources.password_file, "from file").ok());
  ::setenv("AGORA_TEST_PASSWORD_VAR", "from env", 1);
  EXPECT_EQ(Text(*ReadPassword(sources, PasswordUse::kUnlock, "t")), "from file");
  ::unsetenv("AGORA_TEST_PASSWORD_VAR");
}

TEST(PasswordTest, NoSourceWithoutTerminalFailsFastNamingTheOptions) {
  PasswordSources sources;
  sources.env_var = "AGORA_TEST_PASSWORD_UNSET_VAR";
  ::unsetenv("AGORA_TEST_PASSWORD_UNSET_VAR");
  // stdin from /dev/null, so no prompt can be shown even under a terminal.
  const int saved = ::dup(STDIN_FILENO);
  const int null_fd = ::open("/dev/null", O_RDONLY);
  ASSERT_GE(null_fd, 0);
  ::dup2(null_fd, STDIN_FILENO);
  absl::StatusOr<SecretBytes> pw = ReadPassword(sources, PasswordUse::kCreate, "wallet 'w'");
  ::dup2(saved, STDIN_FILENO);
  ::close(saved);
  ::close(null_fd);
  ASSERT_FALSE(pw.ok());
  EXPECT_EQ(pw.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(pw.status().message().find("--password-file"), absl::string_view::npos);
  EXPECT_NE(pw.status().message().find("AGORA_TEST_PASSWORD_UNSET_VAR"), absl::string_view::npos);
  EXPECT_NE(pw.status().message().find("wallet 'w'"), absl::string_view::npos);
}

TEST(PasswordTest, ReadSecretLineStopsAtTheNewline) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  const std::string input = "pass word\r\nrest";
  ASSERT_EQ(::write(fds[1], input.data(), input.size()), static_cast<ssize_t>(input.size()));
  ::close(fds[1]);
  absl::StatusOr<SecretBytes> line = ReadSecretLine(fds[0], 64);
  ASSERT_TRUE(line.ok());
  EXPECT_EQ(Text(*line), "pass word");
  char rest[8] = {};
  EXPECT_EQ(::read(fds[0], rest, sizeof(rest)), 4);
  EXPECT_EQ(std::string(rest, 4), "rest");
  ::close(fds[0]);
}

TEST(PasswordTest, ReadSecretLineRefusesOverlongLines) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  const std::string input(20, 'x');
  ASSERT_EQ(::write(fds[1], input.data(), input.size()), 20);
  ::close(fds[1]);
  EXPECT_EQ(ReadSecretLine(fds[0], 10).status().code(), absl::StatusCode::kInvalidArgument);
  ::close(fds[0]);
}

}  // namespace
}  // namespace agora
