// Encrypted key files: one ed25519 key per file, sealed with a password.
// Used by common/wallet.h for coldkeys and hotkeys; nothing else should need
// to read these bytes. Part of the crypto corner: keyfile.cc includes sodium.h.
// All functions are pure (no files, no globals) and thread-safe.
//
// Format version 1, exactly 140 bytes, integers big-endian (common/wire.h).
// Full specification with rationale: docs/KEYFILES.md.
//
//   offset size  field
//        0    8  magic "AGORAKEY"
//        8    2  format version (1)
//       10    1  kdf id: 1 = argon2id (v1.3)
//       11    1  cipher id: 1 = XChaCha20-Poly1305 (IETF)
//       12    4  argon2id opslimit          in [kMinKdfOpsLimit, kMaxKdfOpsLimit]
//       16    4  argon2id memlimit, in KiB  in [kMinKdfMemLimitKib, kMaxKdfMemLimitKib]
//       20   16  salt (random per file)
//       36   24  nonce (random per file)
//       60   32  ed25519 public key, in clear
//       92   48  ciphertext: the 32-byte ed25519 seed, then the 16-byte Poly1305 tag
//
// key  = argon2id(password, salt, opslimit, memlimit) -> 32 bytes
// ciphertext = XChaCha20-Poly1305-IETF encrypt(seed, ad = bytes [0, 92), nonce, key)
//
// Because the whole header is associated data, changing any byte of the file
// makes decryption fail. The public key is readable without the password (so
// wallets can be listed), but it is only authenticated once the file is
// decrypted; DecodeKeyFile also checks that the seed derives that public key.
//
// The KDF bounds are checked before any work is done, so a hostile file cannot
// make a reader allocate more than kMaxKdfMemLimitKib or spin for absurd time.
#ifndef AGORA_COMMON_KEYFILE_H_
#define AGORA_COMMON_KEYFILE_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/crypto.h"

namespace agora {

inline constexpr absl::string_view kKeyFileMagic = "AGORAKEY";
inline constexpr uint16_t kKeyFileVersion = 1;
inline constexpr uint8_t kKeyFileKdfArgon2id = 1;
inline constexpr uint8_t kKeyFileCipherXChaCha20Poly1305 = 1;
inline constexpr size_t kKeyFileSaltBytes = 16;    // crypto_pwhash_SALTBYTES
inline constexpr size_t kKeyFileNonceBytes = 24;   // crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
inline constexpr size_t kKeyFileTagBytes = 16;     // crypto_aead_xchacha20poly1305_ietf_ABYTES
inline constexpr size_t kKeyFileHeaderBytes = 92;  // the associated data: offsets [0, 92)
inline constexpr size_t kKeyFileBytes = kKeyFileHeaderBytes + kSeedBytes + kKeyFileTagBytes;

// Accepted argon2id parameters. The minimums are libsodium's; they are only
// sensible for tests and fuzzing (an attacker who can write the file can
// replace the key anyway, so a weak file weakens nothing but itself). The
// maximums bound what reading a hostile file can cost: 512 MiB and 10 passes.
inline constexpr uint32_t kMinKdfOpsLimit = 1;  // crypto_pwhash_argon2id_OPSLIMIT_MIN
inline constexpr uint32_t kMaxKdfOpsLimit = 10;
inline constexpr uint32_t kMinKdfMemLimitKib = 8;  // crypto_pwhash_argon2id_MEMLIMIT_MIN
inline constexpr uint32_t kMaxKdfMemLimitKib = 512 * 1024;

struct KdfParams {
  uint32_t opslimit = 0;
  uint32_t memlimit_kib = 0;
};

// The cheapest parameters a reader accepts: for tests and fuzzing only.
inline constexpr KdfParams kMinKdfParams{kMinKdfOpsLimit, kMinKdfMemLimitKib};

// Named presets (libsodium's argon2id presets).
enum class KdfStrength {
  kInteractive,  // 2 passes, 64 MiB: about 0.2 s. Tests and devnets.
  kModerate,     // 3 passes, 256 MiB: about 1 s. The default for users.
};
KdfParams KdfParamsFor(KdfStrength strength);
// "interactive" or "moderate"; InvalidArgument naming the accepted values otherwise.
absl::StatusOr<KdfStrength> ParseKdfStrength(absl::string_view name);

// The clear part of a key file (offsets [0, 92)).
struct KeyFileHeader {
  uint16_t version = kKeyFileVersion;
  KdfParams kdf;
  std::array<uint8_t, kKeyFileSaltBytes> salt{};
  std::array<uint8_t, kKeyFileNonceBytes> nonce{};
  PublicKey public_key{};
};

// Checks the framing of a whole key file (magic, version, algorithm ids, KDF
// bounds, exact length) and returns its header. No KDF runs; cost is O(1).
// DataLoss naming what is wrong: "bad magic", "truncated", "unsupported format
// version", "unknown kdf id", "kdf opslimit ... outside [...]", "trailing bytes".
absl::StatusOr<KeyFileHeader> ParseKeyFileHeader(absl::string_view bytes);

// The 92 header bytes of `header`. ParseKeyFileHeader(file) followed by this
// gives back the file's first 92 bytes exactly.
std::string EncodeKeyFileHeader(const KeyFileHeader& header);

// A new key file for `key`, with fresh random salt and nonce.
// InvalidArgument for an empty password or parameters outside the accepted
// bounds; ResourceExhausted if argon2id cannot get its memory.
absl::StatusOr<std::string> EncodeKeyFile(const SigningKey& key, const SecretBytes& password,
                                          KdfParams kdf);
absl::StatusOr<std::string> EncodeKeyFile(const SigningKey& key, const SecretBytes& password,
                                          KdfStrength strength);

// The key sealed in `bytes`. Errors:
//   DataLoss         the framing is wrong (see ParseKeyFileHeader), or the
//                    decrypted seed does not derive the stored public key;
//   PermissionDenied "key file: wrong password or corrupted ciphertext";
//   ResourceExhausted argon2id could not get its memory.
// The derived key and the plaintext seed live only in SecretBytes and are
// wiped before returning.
absl::StatusOr<SigningKey> DecodeKeyFile(absl::string_view bytes, const SecretBytes& password);

// The public key stored in `bytes`, without the password (after the same
// framing checks as ParseKeyFileHeader). Not authenticated: see above.
absl::StatusOr<PublicKey> ReadKeyFilePublicKey(absl::string_view bytes);

}  // namespace agora

#endif  // AGORA_COMMON_KEYFILE_H_
