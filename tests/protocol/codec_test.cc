#include "protocol/codec.h"

#include <gtest/gtest.h>

#include <string>

#include "protocol/messages.h"

namespace agora::protocol {
namespace {

// Every wire struct: encode -> decode -> encode gives identical bytes.
template <typename T>
void ExpectRoundTrip(const T& value, absl::string_view name) {
  const std::string bytes = Encode(value);
  absl::StatusOr<T> decoded = Decode<T>(bytes, name);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(Encode(*decoded), bytes) << name;
}

TEST(CodecTest, EveryMessageRoundTrips) {
  ExpectRoundTrip(ErrorReply{"bad-signature", "envelope.signature does not verify"}, "ErrorReply");
  ExpectRoundTrip(Ping{42, std::string(300, 'x')}, "Ping");
  ExpectRoundTrip(Ping{UINT64_MAX, ""}, "Ping");
  ExpectRoundTrip(Pong{7, std::string("\0\xff", 2)}, "Pong");
  ExpectRoundTrip(InfoRequest{0}, "InfoRequest");
  ExpectRoundTrip(InfoReply{"miner", "0.1.0", 1, std::string(64, 'a')}, "InfoReply");
}

TEST(CodecTest, DecodedFieldsMatch) {
  absl::StatusOr<Ping> p = Decode<Ping>(Encode(Ping{9, "hello"}), "Ping");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->seq, 9u);
  EXPECT_EQ(p->payload, "hello");
}

TEST(CodecTest, RefusesTrailingBytes) {
  std::string bytes = Encode(Ping{1, "a"}) + "x";
  absl::StatusOr<Ping> p = Decode<Ping>(bytes, "Ping");
  EXPECT_EQ(p.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(p.status().message().find("trailing"), absl::string_view::npos);
}

TEST(CodecTest, RefusesUnknownAndMissingKeys) {
  // Pong has the same fields as Ping, InfoReply has different ones.
  absl::StatusOr<Ping> a = Decode<Ping>(Encode(InfoReply{"x", "y", 1, "z"}), "Ping");
  EXPECT_FALSE(a.ok());
  absl::StatusOr<InfoReply> b = Decode<InfoReply>(Encode(Ping{1, "a"}), "InfoReply");
  EXPECT_FALSE(b.ok());
  EXPECT_NE(b.status().message().find("InfoReply"), absl::string_view::npos);
}

TEST(CodecTest, RefusesWrongTypesAndNonMaps) {
  msgpack::sbuffer buf;
  msgpack::packer<msgpack::sbuffer> pk(buf);
  pk.pack_map(2);
  pk.pack(std::string("seq"));
  pk.pack(std::string("not a number"));
  pk.pack(std::string("payload"));
  pk.pack(std::string("p"));
  EXPECT_FALSE(Decode<Ping>(absl::string_view(buf.data(), buf.size()), "Ping").ok());
  EXPECT_FALSE(Decode<Ping>(Encode(std::string("str")), "Ping").ok());
  EXPECT_FALSE(Decode<Ping>("", "Ping").ok());
  EXPECT_FALSE(Decode<Ping>("\xc1", "Ping").ok());  // reserved msgpack byte
}

TEST(CodecTest, RefusesNonCanonicalIntegerWidth) {
  // seq=1 written as uint64 (0xcf) instead of a positive fixint.
  msgpack::sbuffer buf;
  msgpack::packer<msgpack::sbuffer> pk(buf);
  pk.pack_map(2);
  pk.pack(std::string("seq"));
  pk.pack_fix_uint64(1);
  pk.pack(std::string("payload"));
  pk.pack(std::string(""));
  absl::StatusOr<Ping> p = Decode<Ping>(absl::string_view(buf.data(), buf.size()), "Ping");
  EXPECT_FALSE(p.ok());
  EXPECT_NE(p.status().message().find("canonical"), absl::string_view::npos);
}

TEST(CodecTest, LimitsStopHugeContainersBeforeAllocation) {
  // A map header claiming 2^32-1 pairs, with no data behind it.
  const std::string huge_map("\xdf\xff\xff\xff\xff", 5);
  EXPECT_FALSE(Decode<Ping>(huge_map, "Ping").ok());
  // A string header claiming 4 GiB.
  const std::string huge_str("\x81\xa3seq\xdb\xff\xff\xff\xff", 10);
  EXPECT_FALSE(Decode<Ping>(huge_str, "Ping").ok());
  // Deep nesting: 100 nested arrays.
  std::string deep = "\x81\xa3seq";
  deep += std::string(100, '\x91');
  deep += '\x00';
  EXPECT_FALSE(Decode<Ping>(deep, "Ping").ok());
}

TEST(CodecTest, TighterLimitsApply) {
  DecodeLimits limits;
  limits.max_str = 7;  // keys count too: "payload" is 7 bytes
  EXPECT_FALSE(Decode<Ping>(Encode(Ping{1, "8 bytes!"}), "Ping", limits).ok());
  EXPECT_TRUE(Decode<Ping>(Encode(Ping{1, "hey"}), "Ping", limits).ok());
}

}  // namespace
}  // namespace agora::protocol
