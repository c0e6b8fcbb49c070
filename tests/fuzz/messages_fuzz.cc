// Fuzz target: every transport message decoder. The first byte picks the
// struct; whatever decodes must re-encode to exactly the same bytes.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "tests/fuzz/round_trip.h"
#include "protocol/messages.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace agora::protocol;
  if (size == 0) return 0;
  const absl::string_view bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 5) {
    case 0: agora::fuzz::CheckRoundTrip<ErrorReply>(bytes); break;
    case 1: agora::fuzz::CheckRoundTrip<Ping>(bytes); break;
    case 2: agora::fuzz::CheckRoundTrip<Pong>(bytes); break;
    case 3: agora::fuzz::CheckRoundTrip<InfoRequest>(bytes); break;
    case 4: agora::fuzz::CheckRoundTrip<InfoReply>(bytes); break;
  }
  return 0;
}
