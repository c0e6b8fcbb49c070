// Fuzz target: arbitrary bytes as an `agora-chain epoch --input` document.
//
// Parses the bytes as JSON, finds the steps, converts each inputs object (at most a few per
// input) and runs the epoch on those that are valid. It must never crash, and:
//   - an input that EpochInputFromJson accepts must run (RunEpoch returns OK);
//   - the amounts paid never exceed rao_emission;
//   - the output serializes to JSON.
// n is capped at kMaxJsonUids by the parser, so no input can ask for a huge allocation.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "chain/epoch_json.h"
#include "chain/yuma.h"

namespace {

constexpr size_t kMaxStepsPerInput = 4;

unsigned __int128 Total(const std::vector<uint64_t>& v) {
  unsigned __int128 sum = 0;
  for (uint64_t x : v) sum += x;
  return sum;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace agora::chain;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<nlohmann::json> doc = ParseJson(text);
  if (!doc.ok()) return 0;
  absl::StatusOr<EpochSteps> steps = FindEpochSteps(*doc);
  if (!steps.ok()) return 0;
  for (size_t k = 0; k < steps->inputs.size() && k < kMaxStepsPerInput; ++k) {
    absl::StatusOr<EpochInput> input = EpochInputFromJson(*steps->inputs[k]);
    if (!input.ok()) continue;
    absl::StatusOr<EpochOutput> output = RunEpoch(*input);
    if (!output.ok()) std::abort();  // validated input must run
    if (Total(output->server_emission) + Total(output->validator_emission) > input->rao_emission ||
        Total(output->emission) > input->rao_emission) {
      std::abort();
    }
    (void)EpochOutputToJson(*output).dump();
  }
  return 0;
}
