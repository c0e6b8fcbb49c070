#include "common/address.h"

#include <algorithm>
#include <array>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace agora {
namespace {

constexpr char kAlphabet[] = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
constexpr absl::string_view kChecksumDomain = "agora-address";
constexpr size_t kPayloadBytes = 1 + kPublicKeyBytes + kAddressChecksumBytes;

// The value of a Base58 digit, or -1 for a character outside the alphabet.
int DigitValue(char c) {
  const char* p = std::find(kAlphabet, kAlphabet + 58, c);
  return p == kAlphabet + 58 ? -1 : static_cast<int>(p - kAlphabet);
}

std::string Base58Encode(absl::Span<const uint8_t> bytes) {
  size_t zeros = 0;
  while (zeros < bytes.size() && bytes[zeros] == 0) ++zeros;
  // Base-58 digits, least significant first. log(256)/log(58) < 1.37.
  std::vector<uint8_t> digits;
  digits.reserve(bytes.size() * 137 / 100 + 1);
  for (size_t i = zeros; i < bytes.size(); ++i) {
    int carry = bytes[i];
    for (uint8_t& d : digits) {
      carry += 256 * d;
      d = static_cast<uint8_t>(carry % 58);
      carry /= 58;
    }
    while (carry > 0) {
      digits.push_back(static_cast<uint8_t>(carry % 58));
      carry /= 58;
    }
  }
  std::string out(zeros, '1');
  for (auto it = digits.rbegin(); it != digits.rend(); ++it) out.push_back(kAlphabet[*it]);
  return out;
}

// Requires: every character of `text` is in the alphabet.
std::vector<uint8_t> Base58Decode(absl::string_view text) {
  size_t ones = 0;
  while (ones < text.size() && text[ones] == '1') ++ones;
  std::vector<uint8_t> value;  // base-256, least significant first
  for (size_t i = ones; i < text.size(); ++i) {
    int carry = DigitValue(text[i]);
    for (uint8_t& b : value) {
      carry += 58 * b;
      b = static_cast<uint8_t>(carry & 0xff);
      carry >>= 8;
    }
    while (carry > 0) {
      value.push_back(static_cast<uint8_t>(carry & 0xff));
      carry >>= 8;
    }
  }
  std::vector<uint8_t> out(ones, 0);
  out.insert(out.end(), value.rbegin(), value.rend());
  return out;
}

std::array<uint8_t, kAddressChecksumBytes> Checksum(uint8_t version, const uint8_t* key) {
  std::string input(kChecksumDomain);
  input.push_back(static_cast<char>(version));
  input.append(reinterpret_cast<const char*>(key), kPublicKeyBytes);
  const Hash256 h = Blake2b256(input);
  std::array<uint8_t, kAddressChecksumBytes> out{};
  std::copy_n(h.begin(), out.size(), out.begin());
  return out;
}

}  // namespace

std::string EncodeAddress(const PublicKey& key) {
  std::array<uint8_t, kPayloadBytes> payload{};
  payload[0] = kAddressVersion;
  std::copy(key.begin(), key.end(), payload.begin() + 1);
  const auto sum = Checksum(kAddressVersion, key.data());
  std::copy(sum.begin(), sum.end(), payload.begin() + 1 + kPublicKeyBytes);
  return absl::StrCat(kAddressPrefix, Base58Encode(payload));
}

absl::StatusOr<PublicKey> ParseAddress(absl::string_view address) {
  if (address.empty()) return absl::InvalidArgumentError("address: empty");
  if (address.substr(0, kAddressPrefix.size()) != kAddressPrefix) {
    return absl::InvalidArgumentError(
        absl::StrCat("address: must start with \"", kAddressPrefix, "\""));
  }
  const absl::string_view body = address.substr(kAddressPrefix.size());
  for (size_t i = 0; i < body.size(); ++i) {
    if (DigitValue(body[i]) < 0) {
      const unsigned char c = static_cast<unsigned char>(body[i]);
      const std::string shown = (c >= 0x21 && c < 0x7f)
                                    ? absl::StrCat("'", std::string(1, body[i]), "'")
                                    : absl::StrFormat("byte 0x%02x", c);
      return absl::InvalidArgumentError(absl::StrCat("address: invalid character ", shown,
                                                     " at position ", i + kAddressPrefix.size(),
                                                     " (Base58 has no 0, O, I or l)"));
    }
  }
  if (address.size() != kAddressChars) {
    return absl::InvalidArgumentError(absl::StrCat("address: ", address.size(),
                                                   " characters, expected ", kAddressChars,
                                                   " (truncated or mistyped?)"));
  }
  const std::vector<uint8_t> payload = Base58Decode(body);
  if (payload.size() != kPayloadBytes) {
    return absl::InvalidArgumentError(absl::StrCat("address: decodes to ", payload.size(),
                                                   " bytes, expected ", kPayloadBytes,
                                                   " (mistyped?)"));
  }
  if (payload[0] != kAddressVersion) {
    return absl::InvalidArgumentError(
        absl::StrCat("address: unknown version ", static_cast<int>(payload[0]),
                     " (this build reads ", static_cast<int>(kAddressVersion), ")"));
  }
  const auto expected = Checksum(payload[0], payload.data() + 1);
  if (!std::equal(expected.begin(), expected.end(), payload.begin() + 1 + kPublicKeyBytes)) {
    return absl::InvalidArgumentError("address: checksum mismatch (mistyped address?)");
  }
  PublicKey key{};
  std::copy_n(payload.begin() + 1, kPublicKeyBytes, key.begin());
  return key;
}

}  // namespace agora
