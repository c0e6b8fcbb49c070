// Round trips of the task messages: encode -> decode -> encode gives the same
// bytes, and decoding refuses what the codec refuses for any struct.
#include "protocol/task_messages.h"

#include <cmath>
#include <limits>
#include <string>

#include <gtest/gtest.h>

#include "protocol/codec.h"
#include "protocol/model_package.h"

namespace agora::protocol {
namespace {

template <typename T>
void ExpectRoundTrip(const T& value) {
  const std::string bytes = Encode(value);
  absl::StatusOr<T> decoded = Decode<T>(bytes, "test");
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(Encode(*decoded), bytes);
}

TEST(TaskMessagesTest, PredictRoundTrip) {
  PredictRequest req;
  req.prefixes = {{1, 2, 3}, {4000000000u}, {}};
  req.top_k = 7;
  ExpectRoundTrip(req);

  PredictReply rep;
  rep.model_hash[0] = 0xab;
  rep.vocab_size = 257;
  TokenDistribution full;
  full.probs = {0.25f, 0.75f, std::numeric_limits<float>::quiet_NaN()};
  TokenDistribution top;
  top.tokens = {9, 3};
  top.probs = {0.5f, 0.25f};
  top.rest = 0.25f;
  rep.distributions = {full, top};
  rep.compute_us = 1234;
  ExpectRoundTrip(rep);
}

TEST(TaskMessagesTest, GenerateRoundTrip) {
  GenerateRequest req;
  req.prompt = "In the beginning";
  req.max_tokens = 32;
  req.temperature = 0.7f;
  req.top_k = 40;
  req.top_p = 0.9f;
  req.seed = ~0ull;
  req.stop = {"\n", "."};
  ExpectRoundTrip(req);

  GenerateReply rep;
  rep.vocab_size = 257;
  rep.prompt_tokens = 16;
  rep.tokens = {32, 71};
  rep.text = " G";
  rep.logprobs = {-0.5f, -1.25f};
  rep.finish_reason = "length";
  rep.first_token_us = 10;
  rep.total_us = 20;
  ExpectRoundTrip(rep);

  GenerateChunk chunk;
  chunk.index = 3;
  chunk.tokens = {1};
  chunk.text = "x";
  chunk.logprobs = {-0.1f};
  chunk.done = true;
  chunk.finish_reason = "stop";
  ExpectRoundTrip(chunk);
}

TEST(TaskMessagesTest, RefusesOtherStructsAndGarbage) {
  PredictRequest req;
  req.prefixes = {{1}};
  EXPECT_FALSE(Decode<GenerateRequest>(Encode(req), "GenerateRequest").ok());
  EXPECT_FALSE(Decode<PredictRequest>(std::string("\x92\x01\x02", 3), "PredictRequest").ok());
  EXPECT_FALSE(Decode<PredictRequest>(Encode(req) + "x", "PredictRequest").ok());
  // A prefix holding a negative number is a type error, not a crash.
  msgpack::sbuffer buf;
  msgpack::packer<msgpack::sbuffer> pk(buf);
  pk.pack_map(2);
  pk.pack("prefixes");
  pk.pack_array(1);
  pk.pack_array(1);
  pk.pack(-1);
  pk.pack("top_k");
  pk.pack(0);
  EXPECT_FALSE(Decode<PredictRequest>(std::string(buf.data(), buf.size()), "PredictRequest").ok());
}

TEST(TaskMessagesTest, ModelFetchMessagesRoundTrip) {
  ModelFetchRequest req;
  req.content_hash.fill(3);
  req.offset = 1u << 20;
  req.length = kMaxModelChunk;
  ExpectRoundTrip(req);
  ModelFetchReply rep;
  rep.content_hash.fill(3);
  rep.total_size = 5u << 20;
  rep.offset = 1u << 20;
  rep.data = std::string("\x00\xff raw", 6);
  ExpectRoundTrip(rep);
}

TEST(ModelPackageTest, RoundTripsAndRefusesBadNamesFormatsAndTrailingBytes) {
  ModelPackage p;
  p.format = "agora-gpt";
  p.files = {{"config.json", "{}"}, {"weights.pt", std::string(3 << 20, '\x01')}};
  const std::string bytes = EncodeModelPackage(p);
  absl::StatusOr<ModelPackage> back = DecodeModelPackage(bytes);
  ASSERT_TRUE(back.ok()) << back.status();  // a file over the 4 MiB str limit of messages is fine
  EXPECT_EQ(EncodeModelPackage(*back), bytes);
  ASSERT_NE(FindPackageFile(*back, "weights.pt"), nullptr);
  EXPECT_EQ(FindPackageFile(*back, "weights.pt")->data.size(), 3u << 20);
  EXPECT_EQ(FindPackageFile(*back, "holdout.txt"), nullptr);
  EXPECT_FALSE(DecodeModelPackage(bytes + "x").ok());
  EXPECT_FALSE(DecodeModelPackage(bytes.substr(0, bytes.size() - 1)).ok());
  for (const char* bad : {"../etc/passwd", ".hidden", "a/b", "", "x y"}) {
    ModelPackage q = p;
    q.files[0].name = bad;
    EXPECT_FALSE(DecodeModelPackage(EncodeModelPackage(q)).ok()) << bad;
  }
  ModelPackage twice = p;
  twice.files[1].name = "config.json";
  EXPECT_FALSE(DecodeModelPackage(EncodeModelPackage(twice)).ok());
  ModelPackage many = p;
  many.files.clear();
  for (int i = 0; i < int(kMaxPackageFiles) + 1; ++i) many.files.push_back({"f" + std::to_string(i), "x"});
  EXPECT_FALSE(DecodeModelPackage(EncodeModelPackage(many)).ok());
  ModelPackage unformatted = p;
  unformatted.format = "";
  EXPECT_FALSE(DecodeModelPackage(EncodeModelPackage(unformatted)).ok());
}

}  // namespace
}  // namespace agora::protocol
