// Encoding of wire structs: msgpack maps (MSGPACK_DEFINE_MAP beside each
// struct's fields), decoded with hard limits and a canonical-form check.
//
// Decode<T> accepts exactly the bytes Encode<T> produces for some T: it refuses
// trailing bytes, unknown or missing keys, other key orders and non-canonical
// integer widths, by re-encoding the decoded value and comparing. So every
// message has one encoding, which is what signatures and hashes commit to.
//
// Thread-safe: no shared state.
#ifndef AGORA_PROTOCOL_CODEC_H_
#define AGORA_PROTOCOL_CODEC_H_

#include <cstddef>
#include <exception>
#include <string>

#include "common/msgpack.h"

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace agora::protocol {

// Limits applied while unpacking any body (before conversion to a struct), so
// a hostile body cannot make the decoder allocate or recurse without bound.
struct DecodeLimits {
  size_t max_array = 1u << 20;   // elements in one array
  size_t max_map = 256;          // pairs in one map (structs are small maps)
  size_t max_str = 4u << 20;     // bytes in one string
  size_t max_bin = 8u << 20;     // bytes in one binary
  size_t max_ext = 0;            // extension types are never used
  size_t max_depth = 16;         // nesting depth
};

template <typename T>
std::string Encode(const T& value) {
  msgpack::sbuffer buf;
  msgpack::pack(buf, value);
  return std::string(buf.data(), buf.size());
}

// Decodes `bytes` as T. InvalidArgument with a message naming `what` (e.g.
// "PingRequest") on malformed, oversize, non-canonical or mistyped input.
template <typename T>
absl::StatusOr<T> Decode(absl::string_view bytes, absl::string_view what,
                         const DecodeLimits& limits = DecodeLimits()) {
  T value{};
  try {
    size_t offset = 0;
    msgpack::object_handle handle = msgpack::unpack(
        bytes.data(), bytes.size(), offset, nullptr, nullptr,
        msgpack::unpack_limit(limits.max_array, limits.max_map, limits.max_str, limits.max_bin,
                              limits.max_ext, limits.max_depth));
    if (offset != bytes.size()) {
      return absl::InvalidArgumentError(
          absl::StrCat(what, ": ", bytes.size() - offset, " trailing bytes after the message"));
    }
    if (handle.get().type != msgpack::type::MAP) {
      return absl::InvalidArgumentError(absl::StrCat(what, ": body is not a msgpack map"));
    }
    handle.get().convert(value);
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat(what, ": malformed msgpack (", e.what(), ")"));
  }
  if (Encode(value) != bytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        what, ": not the canonical encoding (unknown, missing or reordered fields)"));
  }
  return value;
}

}  // namespace agora::protocol

#endif  // AGORA_PROTOCOL_CODEC_H_
