#include "common/keyfile.h"

#include <cstring>
#include <string>
#include <utility>

#include "common/wire.h"
#include "gtest/gtest.h"

namespace agora {
namespace {

SecretBytes Password(absl::string_view text) {
  SecretBytes out(text.size());
  if (!text.empty()) std::memcpy(out.data(), text.data(), text.size());
  return out;
}

class KeyFileTest : public ::testing::Test {
 protected:
  // The cheapest accepted KDF keeps the byte-by-byte sweeps fast.
  KeyFileTest() : key_(SigningKey::Generate()), password_(Password("correct horse")) {
    absl::StatusOr<std::string> file = EncodeKeyFile(key_, password_, kMinKdfParams);
    EXPECT_TRUE(file.ok()) << file.status();
    file_ = *std::move(file);
  }

  SigningKey key_;
  SecretBytes password_;
  std::string file_;
};

TEST_F(KeyFileTest, RoundTrip) {
  ASSERT_EQ(file_.size(), kKeyFileBytes);
  EXPECT_EQ(file_.substr(0, 8), "AGORAKEY");
  absl::StatusOr<SigningKey> decoded = DecodeKeyFile(file_, password_);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(decoded->public_key(), key_.public_key());
  EXPECT_TRUE(std::equal(decoded->seed().begin(), decoded->seed().end(), key_.seed().begin()));
  const Signature sig = decoded->Sign("msg");
  EXPECT_TRUE(VerifySignature(key_.public_key(), AsBytes("msg"), sig));
}

TEST_F(KeyFileTest, InteractivePresetRoundTrip) {
  absl::StatusOr<std::string> file = EncodeKeyFile(key_, password_, KdfStrength::kInteractive);
  ASSERT_TRUE(file.ok()) << file.status();
  absl::StatusOr<KeyFileHeader> header = ParseKeyFileHeader(*file);
  ASSERT_TRUE(header.ok());
  EXPECT_EQ(header->kdf.opslimit, 2u);
  EXPECT_EQ(header->kdf.memlimit_kib, 64u * 1024);
  absl::StatusOr<SigningKey> decoded = DecodeKeyFile(*file, password_);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(decoded->public_key(), key_.public_key());
}

TEST_F(KeyFileTest, PresetsAndTheirNames) {
  EXPECT_EQ(KdfParamsFor(KdfStrength::kModerate).opslimit, 3u);
  EXPECT_EQ(KdfParamsFor(KdfStrength::kModerate).memlimit_kib, 256u * 1024);
  EXPECT_EQ(*ParseKdfStrength("interactive"), KdfStrength::kInteractive);
  EXPECT_EQ(*ParseKdfStrength("moderate"), KdfStrength::kModerate);
  EXPECT_EQ(ParseKdfStrength("sensitive").status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(KeyFileTest, HeaderRoundTripsAndPublicKeyNeedsNoPassword) {
  absl::StatusOr<KeyFileHeader> header = ParseKeyFileHeader(file_);
  ASSERT_TRUE(header.ok()) << header.status();
  EXPECT_EQ(EncodeKeyFileHeader(*header), file_.substr(0, kKeyFileHeaderBytes));
  EXPECT_EQ(header->public_key, key_.public_key());
  absl::StatusOr<PublicKey> pk = ReadKeyFilePublicKey(file_);
  ASSERT_TRUE(pk.ok());
  EXPECT_EQ(*pk, key_.public_key());
}

TEST_F(KeyFileTest, SaltAndNonceAreFreshEachTime) {
  absl::StatusOr<std::string> again = EncodeKeyFile(key_, password_, kMinKdfParams);
  ASSERT_TRUE(again.ok());
  EXPECT_NE(*again, file_);
  EXPECT_NE(again->substr(20, 16), file_.substr(20, 16));  // salt
  EXPECT_NE(again->substr(36, 24), file_.substr(36, 24));  // nonce
}

TEST_F(KeyFileTest, WrongPasswordIsPermissionDenied) {
  for (absl::string_view wrong : {"correct horsf", "correct hors", "", "correct horse "}) {
    absl::StatusOr<SigningKey> decoded = DecodeKeyFile(file_, Password(wrong));
    ASSERT_FALSE(decoded.ok());
    EXPECT_EQ(decoded.status().code(), absl::StatusCode::kPermissionDenied);
    EXPECT_EQ(decoded.status().message(), "key file: wrong password or corrupted ciphertext");
  }
}

TEST_F(KeyFileTest, EmptyPasswordAndBadParamsAreRefusedOnWrite) {
  EXPECT_EQ(EncodeKeyFile(key_, SecretBytes(), kMinKdfParams).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(EncodeKeyFile(key_, password_, KdfParams{0, 8}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(EncodeKeyFile(key_, password_, KdfParams{1, kMaxKdfMemLimitKib + 1}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(KeyFileTest, TruncatedAtEveryLengthIsDataLoss) {
  for (size_t n = 0; n < file_.size(); ++n) {
    const std::string cut = file_.substr(0, n);
    absl::StatusOr<SigningKey> decoded = DecodeKeyFile(cut, password_);
    ASSERT_FALSE(decoded.ok()) << n;
    EXPECT_EQ(decoded.status().code(), absl::StatusCode::kDataLoss) << n;
    EXPECT_NE(decoded.status().message().find("truncated"), absl::string_view::npos)
        << n << ": " << decoded.status().message();
    EXPECT_EQ(ReadKeyFilePublicKey(cut).status().code(), absl::StatusCode::kDataLoss) << n;
  }
}

TEST_F(KeyFileTest, TrailingBytesAreDataLoss) {
  absl::StatusOr<SigningKey> decoded = DecodeKeyFile(file_ + "x", password_);
  ASSERT_FALSE(decoded.ok());
  EXPECT_EQ(decoded.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(decoded.status().message().find("1 unexpected trailing bytes"),
            absl::string_view::npos);
}

TEST_F(KeyFileTest, EverySingleByteCorruptionIsRefusedWithTheRightCode) {
  for (size_t i = 0; i < file_.size(); ++i) {
    for (uint8_t flip : {0x01, 0x80, 0xff}) {
      std::string bad = file_;
      bad[i] = static_cast<char>(bad[i] ^ flip);
      absl::StatusOr<SigningKey> decoded = DecodeKeyFile(bad, password_);
      ASSERT_FALSE(decoded.ok()) << "byte " << i << " ^ " << int{flip};
      const absl::StatusCode code = decoded.status().code();
      if (i < 12) {
        // magic, version, algorithm ids: the framing is wrong.
        EXPECT_EQ(code, absl::StatusCode::kDataLoss) << i << ": " << decoded.status();
      } else if (i < 20) {
        // KDF parameters: out of bounds (DataLoss) or a different key (PermissionDenied).
        EXPECT_TRUE(code == absl::StatusCode::kDataLoss ||
                    code == absl::StatusCode::kPermissionDenied)
            << i << ": " << decoded.status();
      } else {
        // salt, nonce, public key, ciphertext, tag: authenticated.
        EXPECT_EQ(code, absl::StatusCode::kPermissionDenied) << i << ": " << decoded.status();
      }
    }
  }
}

TEST_F(KeyFileTest, FramingErrorsNameTheField) {
  auto message_for = [&](size_t offset, uint8_t value) {
    std::string bad = file_;
    bad[offset] = static_cast<char>(value);
    return std::string(ReadKeyFilePublicKey(bad).status().message());
  };
  EXPECT_NE(message_for(0, 'X').find("bad magic"), std::string::npos);
  EXPECT_NE(message_for(9, 2).find("unsupported format version 2"), std::string::npos);
  EXPECT_NE(message_for(10, 9).find("unknown kdf id 9"), std::string::npos);
  EXPECT_NE(message_for(11, 9).find("unknown cipher id 9"), std::string::npos);
  EXPECT_NE(ReadKeyFilePublicKey("hello").status().message().find("bad magic"),
            absl::string_view::npos);
  EXPECT_NE(ReadKeyFilePublicKey("AGORAKEY").status().message().find("truncated (8 bytes"),
            absl::string_view::npos);
}

TEST_F(KeyFileTest, HostileKdfParametersAreRefusedBeforeAnyWork) {
  struct Case {
    uint32_t ops;
    uint32_t mem_kib;
    absl::string_view field;
  };
  for (const Case& c :
       {Case{0, 8, "opslimit"}, Case{kMaxKdfOpsLimit + 1, 8, "opslimit"},
        Case{0xffffffffu, 8, "opslimit"}, Case{1, 0, "memlimit"}, Case{1, 7, "memlimit"},
        Case{1, kMaxKdfMemLimitKib + 1, "memlimit"}, Case{1, 0xffffffffu, "memlimit"}}) {
    std::string bad = file_;
    wire::PutU32(reinterpret_cast<uint8_t*>(bad.data()) + 12, c.ops);
    wire::PutU32(reinterpret_cast<uint8_t*>(bad.data()) + 16, c.mem_kib);
    absl::StatusOr<SigningKey> decoded = DecodeKeyFile(bad, password_);
    ASSERT_FALSE(decoded.ok());
    EXPECT_EQ(decoded.status().code(), absl::StatusCode::kDataLoss);
    EXPECT_NE(decoded.status().message().find(c.field), absl::string_view::npos)
        << decoded.status().message();
  }
}

TEST_F(KeyFileTest, SwappedPublicKeyIsDetectedOnDecode) {
  // The clear public key is not authenticated until decryption: a reader
  // without the password sees whatever is written, DecodeKeyFile refuses it.
  std::string bad = file_;
  const PublicKey other = SigningKey::Generate().public_key();
  std::copy(other.begin(), other.end(), bad.begin() + 60);
  EXPECT_EQ(*ReadKeyFilePublicKey(bad), other);
  EXPECT_EQ(DecodeKeyFile(bad, password_).status().code(), absl::StatusCode::kPermissionDenied);
}

}  // namespace
}  // namespace agora
