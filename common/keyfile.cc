#include "common/keyfile.h"

#include <sodium.h>

#include <algorithm>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "common/wire.h"

namespace agora {

static_assert(kKeyFileSaltBytes == crypto_pwhash_SALTBYTES);
static_assert(kKeyFileNonceBytes == crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
static_assert(kKeyFileTagBytes == crypto_aead_xchacha20poly1305_ietf_ABYTES);
static_assert(crypto_aead_xchacha20poly1305_ietf_KEYBYTES == 32);
static_assert(kMinKdfOpsLimit >= crypto_pwhash_argon2id_OPSLIMIT_MIN);
static_assert(uint64_t{kMinKdfMemLimitKib} * 1024 >= crypto_pwhash_argon2id_MEMLIMIT_MIN);
static_assert(kKeyFileHeaderBytes ==
              8 + 2 + 1 + 1 + 4 + 4 + kKeyFileSaltBytes + kKeyFileNonceBytes + kPublicKeyBytes);
static_assert(kKeyFileBytes == 140);

namespace {

constexpr size_t kAeadKeyBytes = crypto_aead_xchacha20poly1305_ietf_KEYBYTES;
// Field offsets; see the table in keyfile.h.
constexpr size_t kOffVersion = 8;
constexpr size_t kOffKdfId = 10;
constexpr size_t kOffCipherId = 11;
constexpr size_t kOffOps = 12;
constexpr size_t kOffMem = 16;
constexpr size_t kOffSalt = 20;
constexpr size_t kOffNonce = kOffSalt + kKeyFileSaltBytes;
constexpr size_t kOffPublicKey = kOffNonce + kKeyFileNonceBytes;
constexpr size_t kOffCiphertext = kOffPublicKey + kPublicKeyBytes;
static_assert(kOffCiphertext == kKeyFileHeaderBytes);

const uint8_t* U8(absl::string_view s) { return reinterpret_cast<const uint8_t*>(s.data()); }

absl::Status CheckKdfParams(const KdfParams& kdf) {
  if (kdf.opslimit < kMinKdfOpsLimit || kdf.opslimit > kMaxKdfOpsLimit) {
    return absl::InvalidArgumentError(absl::StrCat("kdf opslimit ", kdf.opslimit, " outside [",
                                                   kMinKdfOpsLimit, ", ", kMaxKdfOpsLimit, "]"));
  }
  if (kdf.memlimit_kib < kMinKdfMemLimitKib || kdf.memlimit_kib > kMaxKdfMemLimitKib) {
    return absl::InvalidArgumentError(absl::StrCat("kdf memlimit ", kdf.memlimit_kib,
                                                   " KiB outside [", kMinKdfMemLimitKib, ", ",
                                                   kMaxKdfMemLimitKib, "] KiB"));
  }
  return absl::OkStatus();
}

// The 32-byte XChaCha20-Poly1305 key for `password` under `header`'s KDF.
// Requires: header.kdf passed CheckKdfParams.
absl::StatusOr<SecretBytes> DeriveKey(const SecretBytes& password, const KeyFileHeader& header) {
  SecretBytes key(kAeadKeyBytes);
  static const char kEmpty[1] = {0};
  const char* pw = password.empty() ? kEmpty : reinterpret_cast<const char*>(password.data());
  if (crypto_pwhash(key.data(), key.size(), pw, password.size(), header.salt.data(),
                    header.kdf.opslimit, size_t{header.kdf.memlimit_kib} * 1024,
                    crypto_pwhash_ALG_ARGON2ID13) != 0) {
    return absl::ResourceExhaustedError(
        absl::StrCat("key file: argon2id could not allocate ", header.kdf.memlimit_kib, " KiB"));
  }
  return key;
}

}  // namespace

KdfParams KdfParamsFor(KdfStrength strength) {
  switch (strength) {
    case KdfStrength::kInteractive:
      return {crypto_pwhash_argon2id_OPSLIMIT_INTERACTIVE,
              crypto_pwhash_argon2id_MEMLIMIT_INTERACTIVE / 1024};
    case KdfStrength::kModerate:
      return {crypto_pwhash_argon2id_OPSLIMIT_MODERATE,
              crypto_pwhash_argon2id_MEMLIMIT_MODERATE / 1024};
  }
  return {crypto_pwhash_argon2id_OPSLIMIT_MODERATE,
          crypto_pwhash_argon2id_MEMLIMIT_MODERATE / 1024};  // unreachable for valid enums
}

absl::StatusOr<KdfStrength> ParseKdfStrength(absl::string_view name) {
  if (name == "interactive") return KdfStrength::kInteractive;
  if (name == "moderate") return KdfStrength::kModerate;
  return absl::InvalidArgumentError(absl::StrCat("kdf: unknown strength '", absl::CEscape(name),
                                                 "' (use 'interactive' or 'moderate')"));
}

absl::StatusOr<KeyFileHeader> ParseKeyFileHeader(absl::string_view bytes) {
  const size_t magic_seen = std::min(bytes.size(), kKeyFileMagic.size());
  if (bytes.substr(0, magic_seen) != kKeyFileMagic.substr(0, magic_seen)) {
    return absl::DataLossError("key file: bad magic (not an Agora key file)");
  }
  if (bytes.size() >= kOffVersion + 2) {
    const uint16_t version = wire::GetU16(U8(bytes) + kOffVersion);
    if (version != kKeyFileVersion) {
      return absl::DataLossError(absl::StrCat("key file: unsupported format version ", version,
                                              " (this build reads ", kKeyFileVersion, ")"));
    }
  }
  if (bytes.size() < kKeyFileBytes) {
    return absl::DataLossError(absl::StrCat("key file: truncated (", bytes.size(),
                                            " bytes, expected ", kKeyFileBytes, ")"));
  }
  if (bytes.size() > kKeyFileBytes) {
    return absl::DataLossError(absl::StrCat("key file: ", bytes.size() - kKeyFileBytes,
                                            " unexpected trailing bytes (expected ", kKeyFileBytes,
                                            " bytes)"));
  }
  const uint8_t* p = U8(bytes);
  if (p[kOffKdfId] != kKeyFileKdfArgon2id) {
    return absl::DataLossError(absl::StrCat("key file: unknown kdf id ", int{p[kOffKdfId]}));
  }
  if (p[kOffCipherId] != kKeyFileCipherXChaCha20Poly1305) {
    return absl::DataLossError(absl::StrCat("key file: unknown cipher id ", int{p[kOffCipherId]}));
  }
  KeyFileHeader header;
  header.version = kKeyFileVersion;
  header.kdf.opslimit = wire::GetU32(p + kOffOps);
  header.kdf.memlimit_kib = wire::GetU32(p + kOffMem);
  if (absl::Status s = CheckKdfParams(header.kdf); !s.ok()) {
    return absl::DataLossError(absl::StrCat("key file: ", s.message()));
  }
  std::copy_n(p + kOffSalt, header.salt.size(), header.salt.begin());
  std::copy_n(p + kOffNonce, header.nonce.size(), header.nonce.begin());
  std::copy_n(p + kOffPublicKey, header.public_key.size(), header.public_key.begin());
  return header;
}

std::string EncodeKeyFileHeader(const KeyFileHeader& header) {
  std::string out(kKeyFileHeaderBytes, '\0');
  uint8_t* p = reinterpret_cast<uint8_t*>(out.data());
  std::copy(kKeyFileMagic.begin(), kKeyFileMagic.end(), p);
  wire::PutU16(p + kOffVersion, header.version);
  p[kOffKdfId] = kKeyFileKdfArgon2id;
  p[kOffCipherId] = kKeyFileCipherXChaCha20Poly1305;
  wire::PutU32(p + kOffOps, header.kdf.opslimit);
  wire::PutU32(p + kOffMem, header.kdf.memlimit_kib);
  std::copy(header.salt.begin(), header.salt.end(), p + kOffSalt);
  std::copy(header.nonce.begin(), header.nonce.end(), p + kOffNonce);
  std::copy(header.public_key.begin(), header.public_key.end(), p + kOffPublicKey);
  return out;
}

absl::StatusOr<std::string> EncodeKeyFile(const SigningKey& key, const SecretBytes& password,
                                          KdfParams kdf) {
  if (absl::Status s = InitCrypto(); !s.ok()) return s;
  if (password.empty()) return absl::InvalidArgumentError("key file: empty password");
  if (absl::Status s = CheckKdfParams(kdf); !s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("key file: ", s.message()));
  }
  KeyFileHeader header;
  header.kdf = kdf;
  randombytes_buf(header.salt.data(), header.salt.size());
  randombytes_buf(header.nonce.data(), header.nonce.size());
  header.public_key = key.public_key();
  std::string out = EncodeKeyFileHeader(header);
  absl::StatusOr<SecretBytes> aead_key = DeriveKey(password, header);
  if (!aead_key.ok()) return aead_key.status();
  out.resize(kKeyFileBytes);
  uint8_t* p = reinterpret_cast<uint8_t*>(out.data());
  unsigned long long written = 0;
  const absl::Span<const uint8_t> seed = key.seed();
  crypto_aead_xchacha20poly1305_ietf_encrypt(p + kOffCiphertext, &written, seed.data(), seed.size(),
                                             p, kKeyFileHeaderBytes, nullptr, header.nonce.data(),
                                             aead_key->data());
  if (written != kSeedBytes + kKeyFileTagBytes) {
    return absl::InternalError("key file: unexpected ciphertext length");
  }
  return out;
}

absl::StatusOr<std::string> EncodeKeyFile(const SigningKey& key, const SecretBytes& password,
                                          KdfStrength strength) {
  return EncodeKeyFile(key, password, KdfParamsFor(strength));
}

absl::StatusOr<SigningKey> DecodeKeyFile(absl::string_view bytes, const SecretBytes& password) {
  if (absl::Status s = InitCrypto(); !s.ok()) return s;
  absl::StatusOr<KeyFileHeader> header = ParseKeyFileHeader(bytes);
  if (!header.ok()) return header.status();
  absl::StatusOr<SecretBytes> aead_key = DeriveKey(password, *header);
  if (!aead_key.ok()) return aead_key.status();
  SecretBytes seed(kSeedBytes);
  unsigned long long seed_len = 0;
  const uint8_t* p = U8(bytes);
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(
          seed.data(), &seed_len, nullptr, p + kOffCiphertext, kSeedBytes + kKeyFileTagBytes, p,
          kKeyFileHeaderBytes, header->nonce.data(), aead_key->data()) != 0 ||
      seed_len != kSeedBytes) {
    return absl::PermissionDeniedError("key file: wrong password or corrupted ciphertext");
  }
  absl::StatusOr<SigningKey> key = SigningKey::FromSeed({seed.data(), seed.size()});
  if (!key.ok()) return absl::InternalError(key.status().message());
  if (key->public_key() != header->public_key) {
    return absl::DataLossError("key file: the sealed seed does not match the stored public key");
  }
  return key;
}

absl::StatusOr<PublicKey> ReadKeyFilePublicKey(absl::string_view bytes) {
  absl::StatusOr<KeyFileHeader> header = ParseKeyFileHeader(bytes);
  if (!header.ok()) return header.status();
  return header->public_key;
}

}  // namespace agora
