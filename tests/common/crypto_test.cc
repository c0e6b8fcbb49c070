#include "common/crypto.h"

#include <string>
#include <utility>

#include "gtest/gtest.h"

namespace agora {
namespace {

SigningKey KeyFromHexSeed(const std::string& hex) {
  absl::StatusOr<std::string> seed = FromHex(hex);
  EXPECT_TRUE(seed.ok()) << seed.status();
  absl::StatusOr<SigningKey> key = SigningKey::FromSeed(AsBytes(*seed));
  EXPECT_TRUE(key.ok()) << key.status();
  return *std::move(key);
}

TEST(CryptoTest, Blake2b256OfEmptyStringIsKnownVector) {
  EXPECT_EQ(ToHex(Blake2b256("")),
            "0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8");
}

TEST(CryptoTest, Ed25519MatchesRfc8032Test1) {
  const SigningKey key =
      KeyFromHexSeed("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60");
  EXPECT_EQ(ToHex(key.public_key()),
            "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
  EXPECT_EQ(ToHex(key.Sign(absl::string_view())),
            "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e"
            "39701cf9b46bd25bf5f0595bbe24655141438e7a100b");
}

TEST(CryptoTest, SignThenVerify) {
  const SigningKey key = SigningKey::Generate();
  const Signature sig = key.Sign("hello agora");
  EXPECT_TRUE(VerifySignature(key.public_key(), AsBytes("hello agora"), sig));
}

TEST(CryptoTest, TamperedMessageSignatureOrKeyFailsVerification) {
  const SigningKey key = SigningKey::Generate();
  const std::string message = "transfer 10 to bob";
  const Signature sig = key.Sign(message);
  for (size_t i = 0; i < message.size(); ++i) {
    std::string m = message;
    m[i] ^= 1;
    EXPECT_FALSE(VerifySignature(key.public_key(), AsBytes(m), sig)) << "message byte " << i;
  }
  for (size_t i = 0; i < sig.size(); ++i) {
    Signature s = sig;
    s[i] ^= 0x40;
    EXPECT_FALSE(VerifySignature(key.public_key(), AsBytes(message), s)) << "signature byte " << i;
  }
  const SigningKey other = SigningKey::Generate();
  EXPECT_FALSE(VerifySignature(other.public_key(), AsBytes(message), sig));
}

TEST(CryptoTest, FromSeedIsDeterministicAndChecksLength) {
  const std::string seed(kSeedBytes, '\x07');
  absl::StatusOr<SigningKey> a = SigningKey::FromSeed(AsBytes(seed));
  absl::StatusOr<SigningKey> b = SigningKey::FromSeed(AsBytes(seed));
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->public_key(), b->public_key());
  EXPECT_EQ(std::string(a->seed().begin(), a->seed().end()), seed);
  absl::StatusOr<SigningKey> short_seed = SigningKey::FromSeed(AsBytes(seed.substr(1)));
  EXPECT_EQ(short_seed.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(CryptoTest, HexRoundTripAndErrors) {
  const std::string bytes("\x00\x01\xab\xff", 4);
  EXPECT_EQ(ToHex(AsBytes(bytes)), "0001abff");
  EXPECT_EQ(*FromHex("0001abff"), bytes);
  EXPECT_EQ(*FromHex("0001ABFF"), bytes);
  EXPECT_EQ(*FromHex(""), "");
  EXPECT_EQ(FromHex("abc").status().code(), absl::StatusCode::kInvalidArgument);
  absl::StatusOr<std::string> bad = FromHex("00zz");
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("offset 2"), absl::string_view::npos);
}

TEST(CryptoTest, ConstantTimeEqual) {
  EXPECT_TRUE(ConstantTimeEqual(AsBytes("abc"), AsBytes("abc")));
  EXPECT_FALSE(ConstantTimeEqual(AsBytes("abc"), AsBytes("abd")));
  EXPECT_FALSE(ConstantTimeEqual(AsBytes("abc"), AsBytes("ab")));
  EXPECT_TRUE(ConstantTimeEqual(AsBytes(""), AsBytes("")));
}

TEST(CryptoTest, SecretBytesIsZeroedAndMovable) {
  SecretBytes a(16);
  for (size_t i = 0; i < a.size(); ++i) EXPECT_EQ(a.data()[i], 0);
  a.data()[0] = 42;
  SecretBytes b = std::move(a);
  EXPECT_EQ(b.size(), 16u);
  EXPECT_EQ(b.data()[0], 42);
  EXPECT_TRUE(a.empty());  // NOLINT(bugprone-use-after-move): moved-from state is specified
}

TEST(CryptoTest, CurveKeysOfSameKeyAgree) {
  const SigningKey key = SigningKey::Generate();
  absl::StatusOr<CurveKey> from_public = Ed25519ToCurvePublic(key.public_key());
  ASSERT_TRUE(from_public.ok());
  EXPECT_EQ(*from_public, key.CurvePublicKey());
  EXPECT_EQ(key.CurveSecretKey().size(), kCurveKeyBytes);
}

}  // namespace
}  // namespace agora
