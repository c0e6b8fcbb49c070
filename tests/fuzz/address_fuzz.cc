// Fuzz target for the address parser (common/address.h).
//
// Any input either parses to a key whose address is exactly the input (the
// encoding is canonical), or fails with InvalidArgument "address: ...".
// Inputs of 32 bytes or more also serve as a public key: its address must
// parse back to it.
#include <algorithm>
#include <cstdint>
#include <cstdlib>

#include "absl/strings/match.h"
#include "common/address.h"

namespace {
void Check(bool ok) {
  if (!ok) std::abort();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view text(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<agora::PublicKey> key = agora::ParseAddress(text);
  if (key.ok()) {
    Check(agora::EncodeAddress(*key) == text);
  } else {
    Check(key.status().code() == absl::StatusCode::kInvalidArgument);
    Check(absl::StartsWith(key.status().message(), "address: "));
  }
  if (size >= agora::kPublicKeyBytes) {
    agora::PublicKey raw{};
    std::copy_n(data, raw.size(), raw.begin());
    const std::string address = agora::EncodeAddress(raw);
    Check(address.size() == agora::kAddressChars);
    absl::StatusOr<agora::PublicKey> back = agora::ParseAddress(address);
    Check(back.ok() && *back == raw);
  }
  return 0;
}
