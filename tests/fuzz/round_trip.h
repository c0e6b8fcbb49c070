// The round-trip check shared by the message fuzz targets: whatever decodes
// must re-encode to exactly the bytes it came from (canonical encoding).
#ifndef AGORA_TESTS_FUZZ_ROUND_TRIP_H_
#define AGORA_TESTS_FUZZ_ROUND_TRIP_H_

#include <cstdlib>

#include "protocol/codec.h"

namespace agora::fuzz {

template <typename T>
void CheckRoundTrip(absl::string_view bytes) {
  absl::StatusOr<T> value = protocol::Decode<T>(bytes, "fuzz");
  if (value.ok() && protocol::Encode(*value) != bytes) std::abort();
}

}  // namespace agora::fuzz

#endif  // AGORA_TESTS_FUZZ_ROUND_TRIP_H_
