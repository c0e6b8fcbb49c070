#include "common/address.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace agora {
namespace {

constexpr absl::string_view kAlphabet =
    "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

PublicKey KeyOf(uint8_t fill) {
  PublicKey k{};
  for (size_t i = 0; i < k.size(); ++i) k[i] = static_cast<uint8_t>(fill + 37 * i);
  return k;
}

// An independent Base58 encoder, to build addresses the encoder would never make.
std::string Base58(const std::vector<uint8_t>& bytes) {
  std::vector<uint8_t> num(bytes);
  std::string out;
  size_t start = 0;
  while (start < num.size() && num[start] == 0) ++start;
  const size_t zeros = start;
  while (start < num.size()) {
    int rem = 0;
    for (size_t i = start; i < num.size(); ++i) {
      const int cur = rem * 256 + num[i];
      num[i] = static_cast<uint8_t>(cur / 58);
      rem = cur % 58;
    }
    out.insert(out.begin(), kAlphabet[rem]);
    while (start < num.size() && num[start] == 0) ++start;
  }
  return std::string(zeros, '1') + out;
}

std::string Checksummed(uint8_t version, const PublicKey& key) {
  std::string input = "agora-address";
  input.push_back(static_cast<char>(version));
  input.append(reinterpret_cast<const char*>(key.data()), key.size());
  const Hash256 h = Blake2b256(input);
  std::vector<uint8_t> payload = {version};
  payload.insert(payload.end(), key.begin(), key.end());
  payload.insert(payload.end(), h.begin(), h.begin() + 4);
  return "ag" + Base58(payload);
}

void ExpectRejected(absl::string_view address, absl::string_view fragment) {
  absl::StatusOr<PublicKey> parsed = ParseAddress(address);
  ASSERT_FALSE(parsed.ok()) << address;
  EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(parsed.status().message().find(fragment), absl::string_view::npos)
      << parsed.status().message();
}

TEST(AddressTest, RoundTrip) {
  std::vector<PublicKey> keys = {PublicKey{}, KeyOf(0), KeyOf(200),
                                 SigningKey::Generate().public_key()};
  PublicKey ones;
  ones.fill(0xff);
  keys.push_back(ones);
  for (const PublicKey& key : keys) {
    const std::string address = EncodeAddress(key);
    EXPECT_EQ(address.substr(0, 2), "ag");
    EXPECT_EQ(address.size(), kAddressChars) << address;
    absl::StatusOr<PublicKey> parsed = ParseAddress(address);
    ASSERT_TRUE(parsed.ok()) << parsed.status();
    EXPECT_EQ(*parsed, key);
  }
}

TEST(AddressTest, MatchesIndependentEncoding) {
  const PublicKey key = KeyOf(9);
  EXPECT_EQ(EncodeAddress(key), Checksummed(1, key));
}

TEST(AddressTest, EverySingleCharacterSubstitutionIsRejected) {
  const std::string address = EncodeAddress(KeyOf(3));
  std::string replacements(kAlphabet);
  replacements += "0OIl _-+/\xc3";
  size_t tried = 0;
  for (size_t i = 0; i < address.size(); ++i) {
    for (char c : replacements) {
      if (c == address[i]) continue;
      std::string typo = address;
      typo[i] = c;
      EXPECT_FALSE(ParseAddress(typo).ok()) << typo;
      ++tried;
    }
  }
  EXPECT_GT(tried, 2500u);
}

TEST(AddressTest, DeletionsInsertionsAndTranspositionsAreRejected) {
  const std::string address = EncodeAddress(KeyOf(5));
  for (size_t i = 0; i < address.size(); ++i) {
    std::string deleted = address;
    deleted.erase(i, 1);
    EXPECT_FALSE(ParseAddress(deleted).ok()) << deleted;
    for (char c : std::string("1zA")) {
      std::string inserted = address;
      inserted.insert(inserted.begin() + i, c);
      EXPECT_FALSE(ParseAddress(inserted).ok()) << inserted;
    }
    if (i + 1 < address.size() && address[i] != address[i + 1]) {
      std::string swapped = address;
      std::swap(swapped[i], swapped[i + 1]);
      EXPECT_FALSE(ParseAddress(swapped).ok()) << swapped;
    }
  }
}

TEST(AddressTest, ErrorsNameTheRuleThatFailed) {
  const std::string good = EncodeAddress(KeyOf(11));
  ExpectRejected("", "empty");
  ExpectRejected("AG" + good.substr(2), "must start with \"ag\"");
  ExpectRejected("5F" + good.substr(2), "must start with \"ag\"");
  ExpectRejected(good.substr(2), "must start with");
  ExpectRejected(good.substr(0, 10) + "0" + good.substr(11),
                 "invalid character '0' at position 10");
  ExpectRejected(" " + good, "must start with");
  ExpectRejected(good + " ", "invalid character byte 0x20");
  ExpectRejected(good + "\n", "invalid character byte 0x0a");
  ExpectRejected(good.substr(0, good.size() - 1), "51 characters, expected 52");
  ExpectRejected(good + "1", "53 characters, expected 52");
  ExpectRejected("ag" + std::string(100, '2'), "102 characters, expected 52");
  ExpectRejected("ag" + std::string(50, '1'), "decodes to 50 bytes");
  std::string bad_sum = good;
  bad_sum.back() = bad_sum.back() == '2' ? '3' : '2';
  ExpectRejected(bad_sum, "");  // checksum or length, depending on the digit
  ExpectRejected(Checksummed(2, KeyOf(11)), "unknown version 2");
  ExpectRejected(Checksummed(0, KeyOf(11)), "unknown version 0");
}

TEST(AddressTest, ChecksumMismatchIsReported) {
  // The same payload with one checksum byte changed keeps its length.
  const PublicKey key = KeyOf(13);
  std::string input = "agora-address";
  input.push_back(1);
  input.append(reinterpret_cast<const char*>(key.data()), key.size());
  const Hash256 h = Blake2b256(input);
  std::vector<uint8_t> payload = {1};
  payload.insert(payload.end(), key.begin(), key.end());
  payload.insert(payload.end(), h.begin(), h.begin() + 4);
  payload.back() ^= 1;
  ExpectRejected("ag" + Base58(payload), "checksum mismatch");
}

}  // namespace
}  // namespace agora
