// The readable address of an ed25519 public key: what users copy, paste and
// type (wallet listings, transfers, stake commands). Pure functions, safe to
// call from any thread. Format specification: docs/KEYFILES.md "Addresses".
//
// Form (version 1):
//
//   address  = "ag" || Base58(payload)
//   payload  = version (1 byte, = 0x01) || public key (32 bytes) || checksum (4 bytes)
//   checksum = BLAKE2b-256("agora-address" || version || public key)[0..4)
//
// Base58 uses the Bitcoin alphabet (no 0, O, I, l), big-endian, each leading
// zero byte written as '1'. Since the payload's first byte is 0x01, every
// version-1 address is exactly 52 characters long (2 + 50), case-sensitive. The encoding is
// canonical: every public key has exactly one address, and ParseAddress(s) succeeds only for
// strings that EncodeAddress produces. A single mistyped character is always detected unless it
// hits the 1-in-2^32 chance that the checksum still matches.
//
// The public key is not checked to be a valid curve point here; signature
// verification rejects keys that are not.
#ifndef AGORA_COMMON_ADDRESS_H_
#define AGORA_COMMON_ADDRESS_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/crypto.h"

namespace agora {

inline constexpr absl::string_view kAddressPrefix = "ag";
inline constexpr uint8_t kAddressVersion = 1;
inline constexpr size_t kAddressChecksumBytes = 4;
// Length of every version-1 address, prefix included.
inline constexpr size_t kAddressChars = 52;

// The address of `key`. Never fails.
std::string EncodeAddress(const PublicKey& key);

// The public key inside `address`, or InvalidArgument whose message says which
// rule failed, checked in this order: empty, wrong prefix, a character outside
// the Base58 alphabet (with its position), wrong length, unknown version, or
// checksum mismatch. Leading or trailing whitespace is refused, not trimmed.
absl::StatusOr<PublicKey> ParseAddress(absl::string_view address);

}  // namespace agora

#endif  // AGORA_COMMON_ADDRESS_H_
