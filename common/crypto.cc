#include "common/crypto.h"

#include <sodium.h>

#include <cstdlib>
#include <cstring>
#include <new>
#include <utility>

#include "absl/strings/str_cat.h"

namespace agora {

static_assert(kPublicKeyBytes == crypto_sign_PUBLICKEYBYTES);
static_assert(kSecretKeyBytes == crypto_sign_SECRETKEYBYTES);
static_assert(kSeedBytes == crypto_sign_SEEDBYTES);
static_assert(kSignatureBytes == crypto_sign_BYTES);
static_assert(kCurveKeyBytes == crypto_scalarmult_curve25519_BYTES);
static_assert(kHashBytes >= crypto_generichash_BYTES_MIN &&
              kHashBytes <= crypto_generichash_BYTES_MAX);

absl::Status InitCrypto() {
  static const int rc = sodium_init();  // thread-safe static init; sodium_init is idempotent
  if (rc < 0) return absl::InternalError("libsodium failed to initialize");
  return absl::OkStatus();
}

namespace {
void MustInit() {
  if (!InitCrypto().ok()) std::abort();  // no secure RNG: nothing safe can follow
}
}  // namespace

SecretBytes::SecretBytes(size_t size) : size_(size) {
  MustInit();
  data_ = static_cast<uint8_t*>(sodium_malloc(size == 0 ? 1 : size));
  if (data_ == nullptr) throw std::bad_alloc();
  sodium_memzero(data_, size == 0 ? 1 : size);
}

SecretBytes::~SecretBytes() {
  if (data_ != nullptr) sodium_free(data_);  // sodium_free wipes before freeing
}

SecretBytes::SecretBytes(SecretBytes&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)) {}

SecretBytes& SecretBytes::operator=(SecretBytes&& other) noexcept {
  if (this != &other) {
    if (data_ != nullptr) sodium_free(data_);
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}

SigningKey SigningKey::Generate() {
  MustInit();
  SigningKey key;
  key.secret_ = SecretBytes(kSecretKeyBytes);
  crypto_sign_keypair(key.public_key_.data(), key.secret_.data());
  return key;
}

absl::StatusOr<SigningKey> SigningKey::FromSeed(absl::Span<const uint8_t> seed) {
  MustInit();
  if (seed.size() != kSeedBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("seed: ", seed.size(), " bytes (need ", kSeedBytes, ")"));
  }
  SigningKey key;
  key.secret_ = SecretBytes(kSecretKeyBytes);
  crypto_sign_seed_keypair(key.public_key_.data(), key.secret_.data(), seed.data());
  return key;
}

Signature SigningKey::Sign(absl::Span<const uint8_t> message) const {
  Signature sig{};
  crypto_sign_detached(sig.data(), nullptr, message.data(), message.size(), secret_.data());
  return sig;
}

Signature SigningKey::Sign(absl::string_view message) const { return Sign(AsBytes(message)); }

CurveKey SigningKey::CurvePublicKey() const {
  CurveKey out{};
  // Cannot fail: our own public key is a valid point.
  if (crypto_sign_ed25519_pk_to_curve25519(out.data(), public_key_.data()) != 0) std::abort();
  return out;
}

SecretBytes SigningKey::CurveSecretKey() const {
  SecretBytes out(kCurveKeyBytes);
  crypto_sign_ed25519_sk_to_curve25519(out.data(), secret_.data());
  return out;
}

bool VerifySignature(const PublicKey& key, absl::Span<const uint8_t> message,
                     const Signature& signature) {
  MustInit();
  return crypto_sign_verify_detached(signature.data(), message.data(), message.size(),
                                     key.data()) == 0;
}

absl::StatusOr<CurveKey> Ed25519ToCurvePublic(const PublicKey& key) {
  MustInit();
  CurveKey out{};
  if (crypto_sign_ed25519_pk_to_curve25519(out.data(), key.data()) != 0) {
    return absl::InvalidArgumentError("public key is not a valid ed25519 point");
  }
  return out;
}

Hash256 Blake2b256(absl::Span<const uint8_t> data) {
  Hash256 out{};
  crypto_generichash(out.data(), out.size(), data.data(), data.size(), nullptr, 0);
  return out;
}

Hash256 Blake2b256(absl::string_view data) { return Blake2b256(AsBytes(data)); }

uint64_t First64(const Hash256& h) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | h[i];
  return v;
}

void RandomBytes(absl::Span<uint8_t> out) {
  MustInit();
  randombytes_buf(out.data(), out.size());
}

uint64_t RandomU64() {
  uint64_t v = 0;
  RandomBytes({reinterpret_cast<uint8_t*>(&v), sizeof(v)});
  return v;
}

bool ConstantTimeEqual(absl::Span<const uint8_t> a, absl::Span<const uint8_t> b) {
  if (a.size() != b.size()) return false;
  if (a.empty()) return true;
  return sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string ToHex(absl::Span<const uint8_t> data) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(data.size() * 2, '0');
  for (size_t i = 0; i < data.size(); ++i) {
    out[2 * i] = kDigits[data[i] >> 4];
    out[2 * i + 1] = kDigits[data[i] & 15];
  }
  return out;
}

absl::StatusOr<std::string> FromHex(absl::string_view hex) {
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  if (hex.size() % 2 != 0) return absl::InvalidArgumentError("hex: odd number of digits");
  std::string out(hex.size() / 2, '\0');
  for (size_t i = 0; i < out.size(); ++i) {
    const int hi = nibble(hex[2 * i]);
    const int lo = nibble(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) {
      return absl::InvalidArgumentError(absl::StrCat("hex: bad digit at offset ", 2 * i));
    }
    out[i] = static_cast<char>((hi << 4) | lo);
  }
  return out;
}

}  // namespace agora
