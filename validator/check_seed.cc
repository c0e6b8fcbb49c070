#include "validator/check_seed.h"

#include <array>

#include "absl/types/span.h"
#include "common/crypto.h"

namespace agora::validator {
namespace {

bool SecretBytes(const std::string& hex, std::string* out) {
  absl::StatusOr<std::string> raw = FromHex(hex);
  if (!raw.ok() || raw->size() != 32) return false;
  *out = std::move(*raw);
  return true;
}

}  // namespace

std::string NewCheckSecret() {
  std::array<uint8_t, 32> b{};
  RandomBytes(absl::MakeSpan(b));
  return ToHex(b);
}

std::string CheckCommitment(const std::string& secret_hex) {
  std::string raw;
  if (!SecretBytes(secret_hex, &raw)) return "";
  return ToHex(Blake2b256(raw));
}

size_t CheckedChallenge(const std::string& secret_hex, uint64_t step, size_t challenges) {
  std::string raw;
  if (challenges == 0 || !SecretBytes(secret_hex, &raw)) return 0;
  std::string msg = "agora-check-v1" + raw;
  for (int i = 0; i < 8; ++i) msg.push_back(static_cast<char>((step >> (8 * i)) & 0xff));
  const Hash256 h = Blake2b256(msg);
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | h[i];
  return static_cast<size_t>(v % challenges);
}

}  // namespace agora::validator
