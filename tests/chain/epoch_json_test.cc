#include "chain/epoch_json.h"

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "chain/yuma.h"

namespace agora::chain {
namespace {

nlohmann::json Example() {
  std::ifstream in(std::string(AGORA_YUMA_TESTDATA_DIR) + "/02_classic_active_stake.json");
  return nlohmann::json::parse(in);
}

// A valid inputs object (step 2 of the classic example: n = 4, weights and bonds set).
nlohmann::json ValidInputs() { return Example()["steps"][2]["inputs"]; }

// The error message for `inputs`, or "" if it parses.
std::string ErrorOf(const nlohmann::json& inputs) {
  absl::StatusOr<EpochInput> in = EpochInputFromJson(inputs);
  if (in.ok()) return "";
  EXPECT_EQ(in.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(in.status().message());
}

TEST(EpochJsonTest, ParsesTheExampleInputs) {
  absl::StatusOr<EpochInput> in = EpochInputFromJson(ValidInputs());
  ASSERT_TRUE(in.ok()) << in.status();
  EXPECT_EQ(in->n, 4u);
  EXPECT_EQ(in->current_block, 5002u);
  EXPECT_EQ(in->kappa, 32767);
  EXPECT_FALSE(in->owner_uid.has_value());
  EXPECT_EQ(in->weights[0], (U16Row{{2, 65535}, {3, 65535}}));
  EXPECT_EQ(in->validator_permit, (std::vector<bool>{true, true, true, true}));
  EXPECT_TRUE(in->commit_block.empty());
}

TEST(EpochJsonTest, ErrorsNameTheField) {
  nlohmann::json j = ValidInputs();
  j.erase("tempo");
  EXPECT_EQ(ErrorOf(j), "tempo: missing field");

  j = ValidInputs();
  j["stake"] = {1, 1, 1};
  EXPECT_EQ(ErrorOf(j), "stake: length 3, expected n = 4");

  j = ValidInputs();
  j["weights"][1] = {{7, 100}};
  EXPECT_EQ(ErrorOf(j), "weights[1][0]: uid 7 out of range (n = 4)");

  j = ValidInputs();
  j["stake"][2] = 1.5;
  EXPECT_EQ(ErrorOf(j), "stake[2]: must be a non-negative integer, got 1.5");

  j = ValidInputs();
  j["stake"][2] = "1";
  EXPECT_EQ(ErrorOf(j), "stake[2]: must be a non-negative integer, got \"1\"");

  j = ValidInputs();
  j["last_update"][0] = -1;
  EXPECT_EQ(ErrorOf(j), "last_update[0]: must be a non-negative integer, got -1");

  j = ValidInputs();
  j["kappa"] = 70000;
  EXPECT_EQ(ErrorOf(j), "kappa: 70000 out of range (max 65535)");

  j = ValidInputs();
  j["bonds"][0][1][1] = 65536;
  EXPECT_EQ(ErrorOf(j), "bonds[0][1][1]: 65536 out of range (max 65535)");

  j = ValidInputs();
  j["yuma3"] = "yes";
  EXPECT_EQ(ErrorOf(j), "yuma3: must be true or false, got \"yes\"");

  j = ValidInputs();
  j["validator_permit"][3] = 1;
  EXPECT_EQ(ErrorOf(j), "validator_permit[3]: must be true or false, got 1");

  j = ValidInputs();
  j["n"] = 5000;
  EXPECT_EQ(ErrorOf(j), "n: 5000 out of range (max 4096)");

  j = ValidInputs();
  j["weights"][0] = {{2, 1}, {2, 5}};
  EXPECT_EQ(ErrorOf(j), "weights[0][1]: duplicate uid 2 in the row");

  j = ValidInputs();
  j["weights"][0] = {{1}};
  EXPECT_EQ(ErrorOf(j), "weights[0][0]: must be a [uid, value] pair, got [1]");

  j = ValidInputs();
  j["weights"][0] = 3;
  EXPECT_EQ(ErrorOf(j), "weights[0]: must be an array of [uid, value] pairs, got number");

  j = ValidInputs();
  j["owner_uid"] = 9;
  EXPECT_EQ(ErrorOf(j), "owner_uid: uid 9 out of range (n = 4)");

  j = ValidInputs();
  j["alpha_sigmoid_steepness"] = 40000;
  EXPECT_EQ(ErrorOf(j), "alpha_sigmoid_steepness: 40000 out of range (i16)");

  j = ValidInputs();
  j["stake"] = {UINT64_MAX, 1, 1, 1};
  EXPECT_EQ(ErrorOf(j), "stake[0]: total stake exceeds 2^63 - 1");

  j = ValidInputs();
  j["stake"][0] = 1e30;
  EXPECT_EQ(ErrorOf(j), "stake[0]: must be a non-negative integer, got 1e+30");

  EXPECT_EQ(ErrorOf(nlohmann::json::array()), "inputs: must be an object, got array");
}

TEST(EpochJsonTest, AcceptsOptionalValuesInTheirRange) {
  nlohmann::json j = ValidInputs();
  j["owner_uid"] = 1;
  j["alpha_sigmoid_steepness"] = -32768;
  j["stake"][0] = 0;
  j["extra_field"] = "ignored";
  absl::StatusOr<EpochInput> in = EpochInputFromJson(j);
  ASSERT_TRUE(in.ok()) << in.status();
  EXPECT_EQ(in->owner_uid, 1);
  EXPECT_EQ(in->alpha_sigmoid_steepness, -32768);
}

TEST(EpochJsonTest, StepsFilesAndPaths) {
  const nlohmann::json doc = Example();
  absl::StatusOr<EpochSteps> steps = FindEpochSteps(doc);
  ASSERT_TRUE(steps.ok());
  EXPECT_TRUE(steps->has_steps);
  EXPECT_EQ(steps->inputs.size(), doc["steps"].size());

  absl::StatusOr<EpochSteps> bare = FindEpochSteps(ValidInputs());
  ASSERT_TRUE(bare.ok());
  EXPECT_FALSE(bare->has_steps);
  EXPECT_EQ(bare->inputs.size(), 1u);

  nlohmann::json bad = doc;
  bad["steps"][1]["inputs"]["stake"][0] = -3;
  absl::StatusOr<EpochSteps> bad_steps = FindEpochSteps(bad);
  ASSERT_TRUE(bad_steps.ok());
  absl::StatusOr<EpochInput> in = EpochInputFromJson(*bad_steps->inputs[1], "steps[1].inputs.");
  ASSERT_FALSE(in.ok());
  EXPECT_EQ(in.status().message(),
            "steps[1].inputs.stake[0]: must be a non-negative integer, got -3");

  bad = doc;
  bad["steps"][0].erase("inputs");
  EXPECT_EQ(FindEpochSteps(bad).status().message(), "steps[0].inputs: missing field");
  EXPECT_EQ(FindEpochSteps(nlohmann::json::array()).status().message(),
            "input: must be a JSON object, got array");
}

TEST(EpochJsonTest, ParseJsonRejectsSyntaxErrorsAndDeepNesting) {
  EXPECT_TRUE(ParseJson("{\"n\": 1}").ok());
  absl::StatusOr<nlohmann::json> bad = ParseJson("{\"n\": }");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message().substr(0, 6), "JSON: ");
  const std::string deep = std::string(100, '[') + std::string(100, ']');
  absl::StatusOr<nlohmann::json> too_deep = ParseJson(deep);
  ASSERT_FALSE(too_deep.ok());
  EXPECT_EQ(too_deep.status().message(), "JSON: nesting deeper than 16 levels at byte 16");
  // Brackets inside strings do not count.
  EXPECT_TRUE(ParseJson("{\"s\": \"" + std::string(100, '[') + "\\\"\"}").ok());
}

TEST(EpochJsonTest, OutputMatchesTheExpectedObjectExactly) {
  const nlohmann::json doc = Example();
  for (const nlohmann::json& step : doc["steps"]) {
    absl::StatusOr<EpochInput> in = EpochInputFromJson(step["inputs"]);
    ASSERT_TRUE(in.ok());
    absl::StatusOr<EpochOutput> out = RunEpoch(*in);
    ASSERT_TRUE(out.ok());
    // Through text, as the command prints it: doubles round-trip, and 0.0 == 0 in nlohmann.
    const nlohmann::json printed = nlohmann::json::parse(EpochOutputToJson(*out).dump());
    EXPECT_EQ(printed, step["expected"]);
  }
}

TEST(EpochJsonTest, OutputKeysInTheOrderOfTheExamples) {
  absl::StatusOr<EpochInput> in = EpochInputFromJson(ValidInputs());
  ASSERT_TRUE(in.ok());
  const nlohmann::ordered_json out = EpochOutputToJson(*RunEpoch(*in));
  std::vector<std::string> keys;
  for (const auto& [key, value] : out.items()) keys.push_back(key);
  std::ifstream file(std::string(AGORA_YUMA_TESTDATA_DIR) + "/02_classic_active_stake.json");
  const nlohmann::ordered_json doc = nlohmann::ordered_json::parse(file);
  std::vector<std::string> expected_keys;
  for (const auto& [key, value] : doc["steps"][2]["expected"].items()) {
    expected_keys.push_back(key);
  }
  EXPECT_EQ(keys, expected_keys);
}

}  // namespace
}  // namespace agora::chain
