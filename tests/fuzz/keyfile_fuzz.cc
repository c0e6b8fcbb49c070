// Fuzz target for the key file decoder (common/keyfile.h).
//
// Every input goes through ParseKeyFileHeader and ReadKeyFilePublicKey, which
// must agree, fail only with DataLoss, and re-encode a parsed header to the
// same 92 bytes. The full DecodeKeyFile (argon2id + AEAD) runs only when the
// file asks for cheap KDF parameters (at most 2 passes over 64 KiB), so each
// input costs well under a millisecond; the parameter bounds themselves are
// what make larger values safe, and they are checked by the parse above.
// The password is fixed: "fuzz-password".
//
// Seeds in tests/fuzz/corpus/keyfile/ were written by EncodeKeyFile with that
// password: min-*.key use kMinKdfParams (decoded in full), cheap.key uses
// {2 passes, 64 KiB}, interactive.key the kInteractive preset (parsed only),
// other-password.key a different password (exercises PermissionDenied).
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "absl/strings/match.h"
#include "common/crypto.h"
#include "common/keyfile.h"

namespace {

const agora::SecretBytes& FuzzPassword() {
  static const agora::SecretBytes* password = [] {
    static constexpr char kText[] = "fuzz-password";
    auto* p = new agora::SecretBytes(sizeof(kText) - 1);
    std::memcpy(p->data(), kText, sizeof(kText) - 1);
    return p;
  }();
  return *password;
}

void Check(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view bytes(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<agora::KeyFileHeader> header = agora::ParseKeyFileHeader(bytes);
  absl::StatusOr<agora::PublicKey> public_key = agora::ReadKeyFilePublicKey(bytes);
  Check(header.ok() == public_key.ok());
  if (!header.ok()) {
    Check(header.status().code() == absl::StatusCode::kDataLoss);
    Check(absl::StartsWith(header.status().message(), "key file: "));
    return 0;
  }
  Check(agora::EncodeKeyFileHeader(*header) == bytes.substr(0, agora::kKeyFileHeaderBytes));
  Check(header->public_key == *public_key);
  if (header->kdf.opslimit > 2 || header->kdf.memlimit_kib > 64) return 0;
  absl::StatusOr<agora::SigningKey> key = agora::DecodeKeyFile(bytes, FuzzPassword());
  if (key.ok()) {
    Check(key->public_key() == header->public_key);
  } else {
    Check(key.status().code() == absl::StatusCode::kPermissionDenied ||
          key.status().code() == absl::StatusCode::kDataLoss);
  }
  return 0;
}
