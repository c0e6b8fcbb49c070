// `agora-chain epoch`: in process through RunEpochCommand, and end to end through the built
// binary (its path comes from CMake as AGORA_CHAIN_BINARY).
#include "chain/epoch_cli.h"

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

namespace agora::chain {
namespace {

const std::string kExample = std::string(AGORA_YUMA_TESTDATA_DIR) + "/02_classic_active_stake.json";
const std::string kExample3 =
    std::string(AGORA_YUMA_TESTDATA_DIR) + "/10_yuma3_liquid_alpha_disabled.json";

nlohmann::json ReadJson(const std::string& path) {
  std::ifstream in(path);
  return nlohmann::json::parse(in);
}

std::string ReadText(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

std::string WriteTemp(const std::string& name, const std::string& text) {
  const std::string path = testing::TempDir() + "/epoch_cli_test_" + name;
  std::ofstream(path) << text;
  return path;
}

int CountLines(const std::string& s) {
  int lines = 0;
  for (char c : s) lines += c == '\n';
  return lines;
}

struct Result {
  int rc;
  std::string out, err;
};

Result RunInProcess(const std::vector<std::string>& args) {
  std::ostringstream out, err;
  const int rc = RunEpochCommand(args, out, err);
  return {rc, out.str(), err.str()};
}

TEST(EpochCliTest, HelpPrintsUsage) {
  const Result r = RunInProcess({"--help"});
  EXPECT_EQ(r.rc, 0);
  EXPECT_NE(r.out.find("usage: agora-chain epoch --input FILE.json [--step K]"), std::string::npos);
  EXPECT_TRUE(r.err.empty());
}

TEST(EpochCliTest, UsageErrorsExitTwoWithOneLine) {
  for (const std::vector<std::string>& args :
       std::vector<std::vector<std::string>>{{},
                                             {"--bogus"},
                                             {"--input"},
                                             {"--input", kExample, "--step", "x"},
                                             {"--input", kExample, "--step", "-1"},
                                             {"--input", kExample, "--step", "99"},
                                             {"--input", "/nonexistent/file.json"}}) {
    const Result r = RunInProcess(args);
    EXPECT_EQ(r.rc, 2);
    EXPECT_EQ(CountLines(r.err), 1) << r.err;
    EXPECT_TRUE(r.out.empty());
  }
  EXPECT_NE(RunInProcess({"--input", kExample, "--step", "99"})
                .err.find("--step: 99 out of range (the input has 4 steps)"),
            std::string::npos);
  EXPECT_NE(RunInProcess({"--input", "/nonexistent/file.json"}).err.find("--input: cannot open"),
            std::string::npos);
}

TEST(EpochCliTest, AllStepsPrintAnArrayOfExpectedObjects) {
  for (const std::string& file : {kExample, kExample3}) {
    const Result r = RunInProcess({"--input", file});
    ASSERT_EQ(r.rc, 0) << r.err;
    const nlohmann::json out = nlohmann::json::parse(r.out);
    const nlohmann::json doc = ReadJson(file);
    ASSERT_TRUE(out.is_array());
    ASSERT_EQ(out.size(), doc["steps"].size());
    for (size_t k = 0; k < out.size(); ++k) EXPECT_EQ(out[k], doc["steps"][k]["expected"]) << k;
  }
}

TEST(EpochCliTest, OneStepAndBareInputsPrintOneObject) {
  const nlohmann::json doc = ReadJson(kExample);
  Result r = RunInProcess({"--input", kExample, "--step", "2"});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out), doc["steps"][2]["expected"]);
  r = RunInProcess({"--step=3", "--input=" + kExample});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out), doc["steps"][3]["expected"]);

  const std::string bare = WriteTemp("bare.json", doc["steps"][1]["inputs"].dump());
  r = RunInProcess({"--input", bare});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out), doc["steps"][1]["expected"]);
}

TEST(EpochCliTest, BadInputExitsTwoNamingTheField) {
  nlohmann::json doc = ReadJson(kExample);
  doc["steps"][0]["inputs"]["stake"][1] = 1.5;
  const std::string path = WriteTemp("bad_stake.json", doc.dump());
  Result r = RunInProcess({"--input", path});
  EXPECT_EQ(r.rc, 2);
  EXPECT_EQ(r.err,
            "agora-chain epoch: steps[0].inputs.stake[1]: must be a non-negative integer, got "
            "1.5\n");
  EXPECT_TRUE(r.out.empty());
  // Another step still runs on its own.
  r = RunInProcess({"--input", path, "--step", "1"});
  EXPECT_EQ(r.rc, 0) << r.err;

  r = RunInProcess({"--input", WriteTemp("syntax.json", "{\"steps\": [")});
  EXPECT_EQ(r.rc, 2);
  EXPECT_EQ(CountLines(r.err), 1);
  EXPECT_NE(r.err.find("JSON: "), std::string::npos);
}

// End to end: the built binary.
Result RunBinary(const std::string& args, const std::string& name) {
  const std::string out = testing::TempDir() + "/epoch_cli_" + name + ".out";
  const std::string err = testing::TempDir() + "/epoch_cli_" + name + ".err";
  const std::string command =
      std::string("'") + AGORA_CHAIN_BINARY + "' " + args + " >'" + out + "' 2>'" + err + "'";
  const int status = std::system(command.c_str());
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, ReadText(out), ReadText(err)};
}

TEST(AgoraChainBinaryTest, EpochOnAnExampleFileMatchesExpected) {
  const Result r = RunBinary("epoch --input '" + kExample3 + "'", "example");
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_TRUE(r.err.empty());
  const nlohmann::json out = nlohmann::json::parse(r.out);
  const nlohmann::json doc = ReadJson(kExample3);
  ASSERT_EQ(out.size(), doc["steps"].size());
  for (size_t k = 0; k < out.size(); ++k) EXPECT_EQ(out[k], doc["steps"][k]["expected"]) << k;
}

TEST(AgoraChainBinaryTest, BadInputExitsTwoWithOneLineNamingTheField) {
  nlohmann::json doc = ReadJson(kExample);
  doc["steps"][3]["inputs"]["weights"][0][0][0] = 9;
  const std::string path = WriteTemp("bad_uid.json", doc.dump());
  const Result r = RunBinary("epoch --input '" + path + "' --step 3", "bad_uid");
  EXPECT_EQ(r.rc, 2);
  EXPECT_EQ(r.err,
            "agora-chain epoch: steps[3].inputs.weights[0][0]: uid 9 out of range (n = 4)\n");
  EXPECT_TRUE(r.out.empty());
}

TEST(AgoraChainBinaryTest, UnknownOrMissingCommandPrintsUsage) {
  Result r = RunBinary("", "no_command");
  EXPECT_EQ(r.rc, 2);
  EXPECT_NE(r.err.find("epoch"), std::string::npos);
  r = RunBinary("no-such-command", "bogus_command");
  EXPECT_EQ(r.rc, 2);
  EXPECT_NE(r.err.find("unknown command"), std::string::npos);
  r = RunBinary("epoch --help", "epoch_help");
  EXPECT_EQ(r.rc, 0);
  EXPECT_NE(r.out.find("--step K"), std::string::npos);
}

}  // namespace
}  // namespace agora::chain
