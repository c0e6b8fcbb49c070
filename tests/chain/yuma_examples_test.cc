// Every step of every worked example (yuma-io.md format) must match bit for bit.
//
// Examples are read from tests/chain/testdata/ (the repo's copy) and from the design folder
// beside the repo (../shared/design/yuma_examples), where more vectors of the same kind may be
// added; a file present in both is run once, from testdata/.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "chain/epoch_json.h"
#include "chain/yuma.h"

namespace agora::chain {
namespace {

std::vector<std::string> ExampleFiles() {
  std::vector<std::string> files;
  std::set<std::string> names;
  for (const char* dir : {AGORA_YUMA_TESTDATA_DIR, AGORA_YUMA_EXAMPLES_DIR}) {
    std::error_code ec;
    if (!std::filesystem::is_directory(dir, ec)) continue;
    std::vector<std::filesystem::path> found;
    for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
      if (entry.path().extension() == ".json") found.push_back(entry.path());
    }
    std::sort(found.begin(), found.end());
    for (const auto& p : found) {
      if (names.insert(p.filename().string()).second) files.push_back(p.string());
    }
  }
  return files;
}

nlohmann::json ReadJson(const std::string& path) {
  std::ifstream in(path);
  return nlohmann::json::parse(in);
}

// A float in an expected file stands for the I32F32 value round(x * 2^32).
int64_t RawOf(const nlohmann::json& v) {
  return static_cast<int64_t>(std::llround(std::ldexp(v.get<double>(), 32)));
}

// Compares `actual` with `expected` recursively; floats compare as I32F32 bits.
void ExpectSame(const nlohmann::json& expected, const nlohmann::json& actual,
                const std::string& path, int* mismatches) {
  auto fail = [&](const std::string& why) {
    if (++*mismatches <= 20) ADD_FAILURE() << path << ": " << why;
  };
  if (expected.is_array()) {
    if (!actual.is_array() || actual.size() != expected.size()) {
      fail("expected " + expected.dump() + ", got " + actual.dump());
      return;
    }
    for (size_t k = 0; k < expected.size(); ++k) {
      ExpectSame(expected[k], actual[k], path + "[" + std::to_string(k) + "]", mismatches);
    }
  } else if (expected.is_number_float()) {
    if (!actual.is_number() || RawOf(expected) != RawOf(actual)) {
      fail("expected " + expected.dump() + " (raw " + std::to_string(RawOf(expected)) + "), got " +
           actual.dump() +
           (actual.is_number() ? " (raw " + std::to_string(RawOf(actual)) + ")" : ""));
    }
  } else if (expected != actual) {
    fail("expected " + expected.dump() + ", got " + actual.dump());
  }
}

class YumaExampleTest : public testing::TestWithParam<std::string> {};

TEST_P(YumaExampleTest, EveryStepMatchesBitForBit) {
  const nlohmann::json file = ReadJson(GetParam());
  ASSERT_TRUE(file.contains("steps")) << GetParam();
  const nlohmann::json& steps = file["steps"];
  ASSERT_FALSE(steps.empty());
  for (size_t k = 0; k < steps.size(); ++k) {
    SCOPED_TRACE(GetParam() + " steps[" + std::to_string(k) + "] " +
                 steps[k].value("label", std::string()));
    absl::StatusOr<EpochInput> input = EpochInputFromJson(steps[k]["inputs"]);
    ASSERT_TRUE(input.ok()) << input.status();
    absl::StatusOr<EpochOutput> output = RunEpoch(*input);
    ASSERT_TRUE(output.ok()) << output.status();
    const nlohmann::json actual = nlohmann::json::parse(EpochOutputToJson(*output).dump());
    const nlohmann::json& expected = steps[k]["expected"];
    int mismatches = 0;
    for (const auto& [field, value] : expected.items()) {
      ASSERT_TRUE(actual.contains(field)) << "missing output field " << field;
      ExpectSame(value, actual[field], field, &mismatches);
    }
    EXPECT_EQ(mismatches, 0);
  }
}

INSTANTIATE_TEST_SUITE_P(Examples, YumaExampleTest, testing::ValuesIn(ExampleFiles()),
                         [](const testing::TestParamInfo<std::string>& info) {
                           std::string name = std::filesystem::path(info.param).stem().string();
                           for (char& c : name) {
                             if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
                           }
                           return name;
                         });

TEST(YumaExampleFilesTest, RepoCopiesArePresent) {
  // The repo must be self-contained: the two worked examples live in testdata/.
  EXPECT_TRUE(std::filesystem::exists(std::string(AGORA_YUMA_TESTDATA_DIR) +
                                      "/02_classic_active_stake.json"));
  EXPECT_TRUE(std::filesystem::exists(std::string(AGORA_YUMA_TESTDATA_DIR) +
                                      "/10_yuma3_liquid_alpha_disabled.json"));
}

}  // namespace
}  // namespace agora::chain
