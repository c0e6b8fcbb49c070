#include "common/file_util.h"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "gtest/gtest.h"
#include "tests/common/temp_dir.h"

namespace agora {
namespace {

mode_t ModeOf(const std::string& path) {
  struct stat st;
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return st.st_mode & 07777;
}

size_t EntriesIn(const std::string& dir) {
  size_t n = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir)) ++n;
  return n;
}

// Sets the umask for the life of the object.
class ScopedUmask {
 public:
  explicit ScopedUmask(mode_t mask) : saved_(::umask(mask)) {}
  ~ScopedUmask() { ::umask(saved_); }

 private:
  mode_t saved_;
};

TEST(FileUtilTest, AtomicWriteIs0600WhateverTheUmask) {
  testing::TempDir dir;
  ScopedUmask umask(0);
  const std::string path = dir.Sub("key");
  ASSERT_TRUE(WriteFileAtomic(path, "secret bytes").ok());
  EXPECT_EQ(ModeOf(path), 0600u);
  EXPECT_EQ(*ReadFile(path, 1024), "secret bytes");
  EXPECT_EQ(EntriesIn(dir.path()), 1u);  // no temporary file left behind
}

TEST(FileUtilTest, AtomicWriteHonoursOtherModes) {
  testing::TempDir dir;
  ScopedUmask umask(022);
  const std::string path = dir.Sub("public.txt");
  ASSERT_TRUE(WriteFileAtomic(path, "x", 0644).ok());
  EXPECT_EQ(ModeOf(path), 0644u);
}

TEST(FileUtilTest, ReplaceAndFailIfExists) {
  testing::TempDir dir;
  const std::string path = dir.Sub("f");
  ASSERT_TRUE(WriteFileAtomic(path, "one").ok());
  ASSERT_TRUE(WriteFileAtomic(path, "two").ok());
  EXPECT_EQ(*ReadFile(path, 1024), "two");
  absl::Status s = WriteFileAtomic(path, "three", 0600, IfExists::kFail);
  EXPECT_EQ(s.code(), absl::StatusCode::kAlreadyExists) << s;
  EXPECT_EQ(*ReadFile(path, 1024), "two");
  EXPECT_EQ(EntriesIn(dir.path()), 1u);
  ASSERT_TRUE(WriteFileAtomic(dir.Sub("g"), "new", 0600, IfExists::kFail).ok());
  EXPECT_EQ(*ReadFile(dir.Sub("g"), 1024), "new");
  EXPECT_EQ(EntriesIn(dir.path()), 2u);
}

TEST(FileUtilTest, WriteIntoMissingDirectoryFailsCleanly) {
  testing::TempDir dir;
  absl::Status s = WriteFileAtomic(dir.Sub("missing/f"), "x");
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound) << s;
  EXPECT_NE(s.message().find("missing"), absl::string_view::npos);
  EXPECT_EQ(WriteFileAtomic("", "x").code(), absl::StatusCode::kInvalidArgument);
}

TEST(FileUtilTest, EmptyFile) {
  testing::TempDir dir;
  ASSERT_TRUE(WriteFileAtomic(dir.Sub("e"), "").ok());
  EXPECT_EQ(*ReadFile(dir.Sub("e"), 0), "");
}

TEST(FileUtilTest, ReadFileLimitsAndErrors) {
  testing::TempDir dir;
  const std::string path = dir.Sub("f");
  ASSERT_TRUE(WriteFileAtomic(path, std::string(100, 'a')).ok());
  EXPECT_EQ(ReadFile(path, 100)->size(), 100u);
  EXPECT_EQ(ReadFile(path, 99).status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(ReadFile(dir.Sub("nope"), 10).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(ReadFile(dir.path(), 10).status().code(), absl::StatusCode::kFailedPrecondition);
  const std::string fifo = dir.Sub("fifo");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  EXPECT_EQ(ReadFile(fifo, 10).status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST(FileUtilTest, MakeDirs) {
  testing::TempDir dir;
  const std::string deep = dir.Sub("a/b/c");
  ASSERT_TRUE(MakeDirs(deep).ok());
  EXPECT_EQ(ModeOf(deep) & 0777, 0700u);
  EXPECT_TRUE(MakeDirs(deep).ok());  // idempotent
  ASSERT_TRUE(WriteFileAtomic(dir.Sub("file"), "x").ok());
  EXPECT_EQ(MakeDirs(dir.Sub("file/sub")).code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(PathExists(deep));
  EXPECT_FALSE(PathExists(dir.Sub("zzz")));
}

}  // namespace
}  // namespace agora
