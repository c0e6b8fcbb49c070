// A fresh temporary directory for one test, removed (recursively) on
// destruction. Shared by tests/common and tests/cli. Not thread-safe.
#ifndef AGORA_TESTS_COMMON_TEMP_DIR_H_
#define AGORA_TESTS_COMMON_TEMP_DIR_H_

#include <cstdlib>
#include <filesystem>
#include <string>
#include <system_error>

#include "gtest/gtest.h"

namespace agora::testing {

class TempDir {
 public:
  TempDir() {
    std::string pattern = ::testing::TempDir() + "agora-test-XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr) {
      ADD_FAILURE() << "mkdtemp failed for " << pattern;
    }
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  std::string Sub(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

}  // namespace agora::testing

#endif  // AGORA_TESTS_COMMON_TEMP_DIR_H_
