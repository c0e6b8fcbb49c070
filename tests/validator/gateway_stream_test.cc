// The gateway's stream relay (validator/gateway_stream.h): who owns a
// stream, what reaches the user, and how hostile chunks and contradicting
// final replies end it. Driven directly, as the client's threads would.
#include "validator/gateway_stream.h"

#include <limits>
#include <thread>

#include "gtest/gtest.h"

namespace agora::validator {
namespace {

using Clock = StreamRelay::Clock;
using namespace std::chrono_literals;

protocol::GenerateChunk Chunk(uint32_t index, uint32_t token, const std::string& text,
                              float logprob = -1.0f) {
  protocol::GenerateChunk c;
  c.index = index;
  c.tokens = {token};
  c.logprobs = {logprob};
  c.text = text;
  return c;
}

protocol::GenerateReply Final(std::vector<uint32_t> tokens, std::string text,
                              std::vector<float> logprobs) {
  protocol::GenerateReply r;
  r.tokens = std::move(tokens);
  r.text = std::move(text);
  r.logprobs = std::move(logprobs);
  r.finish_reason = "length";
  return r;
}

std::string Drain(StreamRelay& relay, StreamRelay::Step* last) {
  std::string text;
  for (int i = 0; i < 100; ++i) {
    StreamRelay::Step step = relay.Next(Clock::now() + 2s);
    for (const std::string& p : step.pieces) text += p;
    if (step.finished) {
      *last = std::move(step);
      break;
    }
  }
  return text;
}

TEST(StreamRelayTest, TheFirstMinerToStreamOwnsItAndItsFinalReplyClosesIt) {
  const auto t0 = Clock::now();
  StreamRelay relay(2, 8, t0);
  relay.OnChunk(1, Chunk(0, 'h', "h"), t0 + 5ms);
  relay.OnChunk(0, Chunk(0, 'x', "x"), t0 + 6ms);  // later: not relayed
  ASSERT_EQ(relay.WaitForOwner(Clock::now() + 1s), 1u);
  relay.OnChunk(1, Chunk(1, 'i', "i"), t0 + 25ms);
  relay.OnFinal(0, Final({'x'}, "x", {-1.0f}), t0 + 30ms);
  relay.OnFinal(1, Final({'h', 'i'}, "hi", {-1.0f, -1.0f}), t0 + 40ms);
  StreamRelay::Step last;
  EXPECT_EQ(Drain(relay, &last), "hi");
  ASSERT_TRUE(last.final_reply.has_value());
  EXPECT_EQ(last.final_reply->text, "hi");
  EXPECT_TRUE(last.error.empty());
  EXPECT_EQ(relay.first_piece_latency(), std::chrono::microseconds(5000));
  EXPECT_EQ(relay.longest_gap(), std::chrono::microseconds(20000));
  EXPECT_EQ(relay.disqualified(), 0u);
}

TEST(StreamRelayTest, PiecesReachTheWriterWhileTheMinerIsStillGenerating) {
  StreamRelay relay(1, 8, Clock::now());
  relay.OnChunk(0, Chunk(0, 'a', "a"), Clock::now());
  ASSERT_EQ(relay.WaitForOwner(Clock::now() + 1s), 0u);
  StreamRelay::Step first = relay.Next(Clock::now() + 1s);
  EXPECT_EQ(first.pieces, std::vector<std::string>{"a"});
  EXPECT_FALSE(first.finished);
  std::thread later([&] {
    std::this_thread::sleep_for(20ms);
    relay.OnChunk(0, Chunk(1, 'b', "b"), Clock::now());
    relay.OnFinal(0, Final({'a', 'b'}, "ab", {-1.0f, -1.0f}), Clock::now());
  });
  StreamRelay::Step last;
  EXPECT_EQ(Drain(relay, &last), "b");
  later.join();
  EXPECT_TRUE(last.final_reply.has_value());
}

TEST(StreamRelayTest, AMinerThatDoesNotStreamOwnsItWithItsWholeAnswer) {
  StreamRelay relay(2, 8, Clock::now());
  relay.OnFinal(0, std::nullopt, Clock::now());  // refused or timed out
  relay.OnFinal(1, Final({'o', 'k'}, "ok", {-0.5f, -0.5f}), Clock::now());
  ASSERT_EQ(relay.WaitForOwner(Clock::now() + 1s), 1u);
  StreamRelay::Step last;
  EXPECT_EQ(Drain(relay, &last), "ok");
  EXPECT_TRUE(last.final_reply.has_value());
}

TEST(StreamRelayTest, NobodyAnswersMeansNoOwner) {
  StreamRelay relay(2, 8, Clock::now());
  relay.OnFinal(0, std::nullopt, Clock::now());
  relay.OnFinal(1, std::nullopt, Clock::now());
  EXPECT_FALSE(relay.WaitForOwner(Clock::now() + 5s).has_value());
}

TEST(StreamRelayTest, HostileChunksDisqualifyTheirMinerOnly) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  struct Case {
    const char* what;
    protocol::GenerateChunk chunk;
  };
  protocol::GenerateChunk empty = Chunk(0, 'a', "a");
  empty.tokens.clear();
  empty.logprobs.clear();
  protocol::GenerateChunk mismatched = Chunk(0, 'a', "a");
  mismatched.logprobs.push_back(-1.0f);
  protocol::GenerateChunk too_long = Chunk(0, 'a', "a");
  too_long.tokens.assign(9, 'a');
  too_long.logprobs.assign(9, -1.0f);
  const Case cases[] = {{"skips an index", Chunk(1, 'a', "a")},
                        {"no tokens", empty},
                        {"lengths differ", mismatched},
                        {"NaN log-probability", Chunk(0, 'a', "a", nan)},
                        {"positive log-probability", Chunk(0, 'a', "a", 0.5f)},
                        {"past max_tokens", too_long}};
  for (const Case& c : cases) {
    StreamRelay relay(2, 8, Clock::now());
    relay.OnChunk(0, c.chunk, Clock::now());
    relay.OnChunk(1, Chunk(0, 'g', "g"), Clock::now());
    EXPECT_EQ(relay.WaitForOwner(Clock::now() + 1s), 1u) << c.what;
    EXPECT_EQ(relay.disqualified(), 1u) << c.what;
  }
}

TEST(StreamRelayTest, TheOwnersBrokenStreamEndsWithAnErrorAndNoAnswer) {
  StreamRelay relay(1, 8, Clock::now());
  relay.OnChunk(0, Chunk(0, 'a', "a"), Clock::now());
  relay.OnChunk(0, Chunk(0, 'b', "b"), Clock::now());  // repeats index 0
  StreamRelay::Step last;
  ASSERT_EQ(relay.WaitForOwner(Clock::now() + 1s), 0u);
  EXPECT_EQ(Drain(relay, &last), "a");
  EXPECT_FALSE(last.final_reply.has_value());
  EXPECT_FALSE(last.error.empty());
}

TEST(StreamRelayTest, AFinalReplyThatContradictsTheStreamIsNotAnAnswer) {
  StreamRelay relay(1, 8, Clock::now());
  relay.OnChunk(0, Chunk(0, 'a', "a", -0.1f), Clock::now());
  // Claims a different first token (e.g. to pass a spot check it failed).
  relay.OnFinal(0, Final({'z', 'b'}, "zb", {-0.1f, -0.2f}), Clock::now());
  StreamRelay::Step last;
  ASSERT_EQ(relay.WaitForOwner(Clock::now() + 1s), 0u);
  Drain(relay, &last);
  EXPECT_FALSE(last.final_reply.has_value());
  EXPECT_FALSE(last.error.empty());
  EXPECT_EQ(relay.disqualified(), 1u);
}

TEST(StreamRelayTest, TokensTheMinerDidNotStreamArriveWithItsFinalReply) {
  StreamRelay relay(1, 8, Clock::now());
  relay.OnChunk(0, Chunk(0, 'a', "a"), Clock::now());
  relay.OnFinal(0, Final({'a', 'b', 'c'}, "abc", {-1.0f, -1.0f, -1.0f}), Clock::now());
  StreamRelay::Step last;
  ASSERT_EQ(relay.WaitForOwner(Clock::now() + 1s), 0u);
  EXPECT_EQ(Drain(relay, &last), "abc");
  EXPECT_TRUE(last.final_reply.has_value());
}

TEST(StreamRelayTest, AnOwnerThatGoesSilentEndsAtTheDeadline) {
  StreamRelay relay(1, 8, Clock::now());
  relay.OnChunk(0, Chunk(0, 'a', "a"), Clock::now());
  ASSERT_EQ(relay.WaitForOwner(Clock::now() + 1s), 0u);
  EXPECT_EQ(relay.Next(Clock::now() + 1s).pieces.size(), 1u);
  StreamRelay::Step step = relay.Next(Clock::now() + 50ms);
  EXPECT_TRUE(step.finished);
  EXPECT_FALSE(step.final_reply.has_value());
  EXPECT_FALSE(step.error.empty());
}

TEST(TakeCompleteUtf8Test, HoldsBackASplitCharacterUntilItIsWhole) {
  std::string carry;
  EXPECT_EQ(TakeCompleteUtf8(&carry, "ab"), "ab");
  EXPECT_EQ(TakeCompleteUtf8(&carry, "\xE2"), "");      // first byte of U+2014
  EXPECT_EQ(TakeCompleteUtf8(&carry, "\x80"), "");      // second
  EXPECT_EQ(TakeCompleteUtf8(&carry, "\x94x"), "\xE2\x80\x94x");
  EXPECT_TRUE(carry.empty());
  EXPECT_EQ(TakeCompleteUtf8(&carry, "\xF0\x9F\x98"), "");  // 3 of 4 bytes
  EXPECT_EQ(TakeCompleteUtf8(&carry, "\x80"), "\xF0\x9F\x98\x80");
  // Not UTF-8 at all: passed on, not held forever.
  EXPECT_EQ(TakeCompleteUtf8(&carry, "\xFF"), "\xFF");
  EXPECT_EQ(TakeCompleteUtf8(&carry, "\x80\x80\x80\x80"), "\x80\x80\x80\x80");
  EXPECT_EQ(TakeCompleteUtf8(&carry, "\xC3"), "");
  EXPECT_EQ(carry, "\xC3");  // flushed by the writer at the end
}

}  // namespace
}  // namespace agora::validator
