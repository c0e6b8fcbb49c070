// Agora's cryptographic corner: ed25519 keys and signatures, BLAKE2b-256
// hashing, random bytes and guarded secret memory, all from libsodium.
//
// Only common/crypto.cc and common/keyfile.cc include <sodium.h>; every other
// file uses these fixed-size types. All functions are thread-safe once
// InitCrypto() has returned (it is called by every constructor that needs it).
#ifndef AGORA_COMMON_CRYPTO_H_
#define AGORA_COMMON_CRYPTO_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace agora {

inline constexpr size_t kPublicKeyBytes = 32;   // crypto_sign_PUBLICKEYBYTES
inline constexpr size_t kSecretKeyBytes = 64;   // crypto_sign_SECRETKEYBYTES (seed || pk)
inline constexpr size_t kSeedBytes = 32;        // crypto_sign_SEEDBYTES
inline constexpr size_t kSignatureBytes = 64;   // crypto_sign_BYTES
inline constexpr size_t kHashBytes = 32;        // BLAKE2b-256
inline constexpr size_t kCurveKeyBytes = 32;    // crypto_scalarmult_curve25519_BYTES

using PublicKey = std::array<uint8_t, kPublicKeyBytes>;
using Signature = std::array<uint8_t, kSignatureBytes>;
using Hash256 = std::array<uint8_t, kHashBytes>;
using CurveKey = std::array<uint8_t, kCurveKeyBytes>;
using Bytes = std::string;  // owned byte string (msgpack and ZeroMQ both speak char buffers)

// Initializes libsodium once. Returns Internal if the library cannot start.
absl::Status InitCrypto();

// Memory for secrets: allocated with sodium_malloc (guard pages, mlock'ed where
// permitted), wiped with sodium_memzero and freed on destruction. Move-only.
class SecretBytes {
 public:
  SecretBytes() = default;
  explicit SecretBytes(size_t size);
  ~SecretBytes();
  SecretBytes(SecretBytes&& other) noexcept;
  SecretBytes& operator=(SecretBytes&& other) noexcept;
  SecretBytes(const SecretBytes&) = delete;
  SecretBytes& operator=(const SecretBytes&) = delete;

  uint8_t* data() { return data_; }
  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }

 private:
  uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

// An ed25519 signing key with its public half. The secret lives in SecretBytes.
// Thread-safe for concurrent Sign() calls (const).
class SigningKey {
 public:
  // A fresh random key.
  static SigningKey Generate();
  // The key derived from a 32-byte seed (deterministic; used by key files and tests).
  static absl::StatusOr<SigningKey> FromSeed(absl::Span<const uint8_t> seed);

  SigningKey(SigningKey&&) noexcept = default;
  SigningKey& operator=(SigningKey&&) noexcept = default;

  const PublicKey& public_key() const { return public_key_; }
  // The 32-byte seed, for writing an encrypted key file. Caller must wipe copies.
  absl::Span<const uint8_t> seed() const { return {secret_.data(), kSeedBytes}; }

  // Signs `message` (detached signature).
  Signature Sign(absl::Span<const uint8_t> message) const;
  Signature Sign(absl::string_view message) const;

  // The X25519 (Curve25519) key pair derived from this ed25519 key, for CurveZMQ.
  CurveKey CurvePublicKey() const;
  SecretBytes CurveSecretKey() const;

 private:
  SigningKey() = default;
  SecretBytes secret_;   // crypto_sign secret key (64 bytes)
  PublicKey public_key_{};
};

// True iff `signature` is a valid ed25519 signature of `message` by `key`.
bool VerifySignature(const PublicKey& key, absl::Span<const uint8_t> message,
                     const Signature& signature);

// The X25519 public key of an ed25519 public key; InvalidArgument for a key
// that is not a valid curve point.
absl::StatusOr<CurveKey> Ed25519ToCurvePublic(const PublicKey& key);

// BLAKE2b with a 32-byte output.
Hash256 Blake2b256(absl::Span<const uint8_t> data);
Hash256 Blake2b256(absl::string_view data);
// A hash's first 8 bytes as a little-endian number: a uniform 64-bit draw
// (the validator's committed re-run choices, its teacher's sampling).
uint64_t First64(const Hash256& h);

// Fills `out` with cryptographically secure random bytes.
void RandomBytes(absl::Span<uint8_t> out);
uint64_t RandomU64();

// Constant-time equality of two equal-length buffers.
bool ConstantTimeEqual(absl::Span<const uint8_t> a, absl::Span<const uint8_t> b);

// Lowercase hex, and its inverse (InvalidArgument names the bad input).
std::string ToHex(absl::Span<const uint8_t> data);
absl::StatusOr<std::string> FromHex(absl::string_view hex);

inline absl::Span<const uint8_t> AsBytes(absl::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}
template <size_t N>
absl::string_view AsStringView(const std::array<uint8_t, N>& a) {
  return {reinterpret_cast<const char*>(a.data()), N};
}

}  // namespace agora

#endif  // AGORA_COMMON_CRYPTO_H_
