#include "validator/check_seed.h"

#include <array>
#include <cmath>

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

void AppendLittleEndian(std::string& msg, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) msg.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
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
  AppendLittleEndian(msg, step, 8);
  return static_cast<size_t>(First64(Blake2b256(msg)) % challenges);
}

bool CompletionDrawn(const std::string& secret_hex, uint64_t step, uint32_t ordinal, uint16_t uid,
                     double fraction) {
  if (fraction >= 1.0) return true;
  std::string raw;
  if (!(fraction > 0.0) || !SecretBytes(secret_hex, &raw)) return false;
  std::string msg = "agora-check-completion-v1" + raw;
  AppendLittleEndian(msg, step, 8);
  AppendLittleEndian(msg, ordinal, 4);
  AppendLittleEndian(msg, uid, 2);
  return std::ldexp(static_cast<double>(First64(Blake2b256(msg))), -64) < fraction;
}

}  // namespace agora::validator
