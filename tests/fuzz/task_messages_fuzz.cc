// Fuzz target: every task message decoder (protocol/task_messages.h) and
// the model package decoder (protocol/model_package.h). The
// first byte picks the struct; whatever decodes must re-encode to exactly the
// same bytes.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "tests/fuzz/round_trip.h"
#include "protocol/model_package.h"
#include "protocol/task_messages.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace agora::protocol;
  if (size == 0) return 0;
  const absl::string_view bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 9) {
    case 0: agora::fuzz::CheckRoundTrip<PredictRequest>(bytes); break;
    case 1: agora::fuzz::CheckRoundTrip<PredictReply>(bytes); break;
    case 2: agora::fuzz::CheckRoundTrip<GenerateRequest>(bytes); break;
    case 3: agora::fuzz::CheckRoundTrip<GenerateReply>(bytes); break;
    case 4: agora::fuzz::CheckRoundTrip<GenerateChunk>(bytes); break;
    case 5: agora::fuzz::CheckRoundTrip<TokenDistribution>(bytes); break;
    case 6: agora::fuzz::CheckRoundTrip<ModelFetchRequest>(bytes); break;
    case 7: agora::fuzz::CheckRoundTrip<ModelFetchReply>(bytes); break;
    case 8: (void)agora::protocol::DecodeModelPackage(bytes); break;
  }
  return 0;
}
