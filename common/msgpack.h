// The one way Agora includes msgpack-c: <msgpack.hpp> plus a strict decoder
// for the fixed-size byte arrays every key, hash and signature is
// (std::array<uint8_t, 32 | 64>, common/crypto.h). Include this, never
// <msgpack.hpp> directly, so every translation unit sees the same decoder.
//
// Why: msgpack-c's own convert<std::array<unsigned char, N>> copies N bytes
// from a `str` of any length up to N, reading past the end of a shorter one
// (up to 31 bytes past a heap buffer, from any sender), and leaves the tail
// of a short `bin` unwritten. Ours takes exactly one form: `bin` of exactly
// N bytes (docs/PROTOCOL.md "Bodies"); anything else is a type error, which
// the decoder reports as a bad body.
#ifndef AGORA_COMMON_MSGPACK_H_
#define AGORA_COMMON_MSGPACK_H_

#include <array>
#include <cstddef>
#include <cstring>

#include <msgpack.hpp>

namespace agora::msgpack_detail {
template <std::size_t N>
const msgpack::object& ConvertExactBin(const msgpack::object& o, std::array<unsigned char, N>& v) {
  if (o.type != msgpack::type::BIN || o.via.bin.size != N) throw msgpack::type_error();
  std::memcpy(v.data(), o.via.bin.ptr, N);
  return o;
}
}  // namespace agora::msgpack_detail

namespace msgpack {
MSGPACK_API_VERSION_NAMESPACE(MSGPACK_DEFAULT_API_NS) {
namespace adaptor {

// Full specializations: more specialized than msgpack-c's partial one, so
// they win wherever this header was included before the first decode.
template <>
struct convert<std::array<unsigned char, 32>> {
  const msgpack::object& operator()(const msgpack::object& o,
                                    std::array<unsigned char, 32>& v) const {
    return agora::msgpack_detail::ConvertExactBin(o, v);
  }
};
template <>
struct convert<std::array<unsigned char, 64>> {
  const msgpack::object& operator()(const msgpack::object& o,
                                    std::array<unsigned char, 64>& v) const {
    return agora::msgpack_detail::ConvertExactBin(o, v);
  }
};

}  // namespace adaptor
}  // MSGPACK_API_VERSION_NAMESPACE(MSGPACK_DEFAULT_API_NS)
}  // namespace msgpack

#endif  // AGORA_COMMON_MSGPACK_H_
