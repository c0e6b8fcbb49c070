// Streamed replies over real loopback sockets: a handler registered with
// HandleStreaming emits chunks before its final reply; CallStreaming hands
// every chunk over, in order and before the final reply, and the request
// still ends by its deadline when the final reply never comes.
#include <atomic>
#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "protocol/codec.h"
#include "protocol/task_messages.h"
#include "tests/integration/transport_test_util.h"

namespace agora::testing {
namespace {

using namespace std::chrono_literals;
using protocol::DeadlineAfter;
using protocol::GenerateChunk;
using protocol::GenerateReply;
using protocol::GenerateRequest;
using protocol::MessageKind;

// Streams one chunk per requested token (token id = its index), then the
// whole completion; a prompt of "slow" sleeps 1.5 s after the first chunk, and "huge" tries a chunk larger than an envelope.
void AddCounter(protocol::Server& server, std::atomic<int>* refused_emits) {
  server.HandleStreaming<GenerateRequest, GenerateChunk, GenerateReply>(
      MessageKind::kGenerateRequest, MessageKind::kGenerateChunk, MessageKind::kGenerateReply,
      [refused_emits](const protocol::RequestContext&, const GenerateRequest& req,
                      const std::function<bool(const GenerateChunk&)>& emit)
          -> absl::StatusOr<GenerateReply> {
        GenerateReply rep;
        for (uint32_t i = 0; i < req.max_tokens; ++i) {
          GenerateChunk c;
          c.index = i;
          c.tokens = {i};
          c.logprobs = {-1.0f};
          if (req.prompt == "huge") c.text.assign(8u << 20, 'x');
          c.done = i + 1 == req.max_tokens;
          if (!emit(c)) {
            ++*refused_emits;
            break;
          }
          rep.tokens.push_back(i);
          if (req.prompt == "slow" && i == 0) std::this_thread::sleep_for(1500ms);
        }
        rep.finish_reason = "length";
        return rep;
      });
}

struct Collected {
  std::mutex mu;
  std::vector<uint32_t> indexes;
  size_t chunks_before_done = 0;
};

class TransportStreamTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    protocol::ServerOptions options = TestServerOptions(GetParam());
    options.max_envelope_bytes = 1u << 20;
    server_ = std::make_unique<protocol::Server>(NewKey(), options);
    AddCounter(*server_, &refused_emits_);
    ASSERT_TRUE(server_->Start().ok());
    client_ = NewClient(NewKey(), GetParam());
    ASSERT_NE(client_, nullptr);
  }

  // One streamed call; returns the final result and fills `out`.
  absl::StatusOr<protocol::Reply> Stream(const std::string& prompt, uint32_t tokens,
                                         std::chrono::milliseconds timeout, Collected* out) {
    GenerateRequest req;
    req.prompt = prompt;
    req.max_tokens = tokens;
    std::promise<absl::StatusOr<protocol::Reply>> done;
    protocol::Client::Stream stream;
    stream.chunk_kind = MessageKind::kGenerateChunk;
    stream.on_chunk = [out](const protocol::Reply& chunk) {
      absl::StatusOr<GenerateChunk> c = protocol::Decode<GenerateChunk>(chunk.body(), "chunk");
      std::lock_guard<std::mutex> lock(out->mu);
      out->indexes.push_back(c.ok() ? c->index : 999999);
    };
    client_->CallStreaming(PeerOf(*server_), MessageKind::kGenerateRequest, protocol::Encode(req),
                           DeadlineAfter(timeout), stream,
                           [&done, out](absl::StatusOr<protocol::Reply> r) {
                             {
                               std::lock_guard<std::mutex> lock(out->mu);
                               out->chunks_before_done = out->indexes.size();
                             }
                             done.set_value(std::move(r));
                           });
    return done.get_future().get();
  }

  std::atomic<int> refused_emits_{0};
  std::unique_ptr<protocol::Server> server_;
  std::unique_ptr<protocol::Client> client_;
};

TEST_P(TransportStreamTest, ChunksArriveInOrderBeforeTheFinalReply) {
  Collected got;
  absl::StatusOr<protocol::Reply> final_reply = Stream("count", 50, 10s, &got);
  ASSERT_TRUE(final_reply.ok()) << final_reply.status();
  EXPECT_EQ(final_reply->header.kind, MessageKind::kGenerateReply);
  absl::StatusOr<GenerateReply> rep = protocol::Decode<GenerateReply>(final_reply->body(), "rep");
  ASSERT_TRUE(rep.ok());
  EXPECT_EQ(rep->tokens.size(), 50u);
  std::vector<uint32_t> expected(50);
  for (uint32_t i = 0; i < 50; ++i) expected[i] = i;
  EXPECT_EQ(got.indexes, expected);
  EXPECT_EQ(got.chunks_before_done, 50u);
  EXPECT_EQ(server_->Stats().chunks, 50u);
  EXPECT_EQ(client_->Stats().chunks, 50u);
}

TEST_P(TransportStreamTest, ManyConcurrentStreamsEachGetTheirOwnChunks) {
  constexpr int kStreams = 16;
  std::vector<Collected> got(kStreams);
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int s = 0; s < kStreams; ++s) {
    threads.emplace_back([&, s] {
      absl::StatusOr<protocol::Reply> r = Stream("count", 10 + s, 10s, &got[s]);
      if (r.ok()) ++ok;
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(ok.load(), kStreams);
  for (int s = 0; s < kStreams; ++s) {
    ASSERT_EQ(got[s].indexes.size(), static_cast<size_t>(10 + s)) << "stream " << s;
    for (size_t i = 0; i < got[s].indexes.size(); ++i) EXPECT_EQ(got[s].indexes[i], i);
  }
}

TEST_P(TransportStreamTest, DeadlineEndsAStreamWhoseFinalReplyIsLate) {
  Collected got;
  absl::StatusOr<protocol::Reply> r = Stream("slow", 3, 700ms, &got);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kDeadlineExceeded) << r.status();
  // The first chunk came before the deadline; what came after is dropped.
  EXPECT_GE(got.chunks_before_done, 1u);
  EXPECT_LT(got.chunks_before_done, 3u);
  // The server is still serving.
  Collected again;
  EXPECT_TRUE(Stream("count", 2, 10s, &again).ok());
  EXPECT_EQ(again.indexes.size(), 2u);
}

TEST_P(TransportStreamTest, AChunkOverTheEnvelopeLimitIsRefusedToTheHandler) {
  Collected got;
  absl::StatusOr<protocol::Reply> r = Stream("huge", 3, 10s, &got);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(got.indexes.empty());
  EXPECT_EQ(refused_emits_.load(), 1);
}

TEST_P(TransportStreamTest, APlainCallEndsAtTheFirstReplyEvenAChunk) {
  // Without a chunk callback the client cannot tell a chunk from an answer,
  // so a handler must stream only when the request asks for it (the
  // miner's generate does: GenerateRequest.stream; docs/PROTOCOL.md).
  GenerateRequest req;
  req.prompt = "count";
  req.max_tokens = 1;
  absl::StatusOr<protocol::Reply> r =
      client_->Call(PeerOf(*server_), MessageKind::kGenerateRequest, protocol::Encode(req),
                    DeadlineAfter(10s));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->header.kind, MessageKind::kGenerateChunk);
}

INSTANTIATE_TEST_SUITE_P(Curve, TransportStreamTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "curve" : "plain";
                         });

}  // namespace
}  // namespace agora::testing
