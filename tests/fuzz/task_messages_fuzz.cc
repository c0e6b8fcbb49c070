// Fuzz target: every task message decoder (protocol/task_messages.h). The
// first byte picks the struct; whatever decodes must re-encode to exactly the
// same bytes.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "protocol/codec.h"
#include "protocol/task_messages.h"

namespace {

template <typename T>
void Check(absl::string_view bytes) {
  absl::StatusOr<T> value = agora::protocol::Decode<T>(bytes, "fuzz");
  if (value.ok() && agora::protocol::Encode(*value) != bytes) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace agora::protocol;
  if (size == 0) return 0;
  const absl::string_view bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 6) {
    case 0: Check<PredictRequest>(bytes); break;
    case 1: Check<PredictReply>(bytes); break;
    case 2: Check<GenerateRequest>(bytes); break;
    case 3: Check<GenerateReply>(bytes); break;
    case 4: Check<GenerateChunk>(bytes); break;
    case 5: Check<TokenDistribution>(bytes); break;
  }
  return 0;
}
