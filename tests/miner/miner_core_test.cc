// Unit tests of the torch-free miner parts: batcher, handlers, admission,
// tokenizers and metrics rendering, against a deterministic fake model.
#include <algorithm>
#include <cmath>
#include <future>
#include <limits>
#include <map>
#include <numeric>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "common/address.h"
#include "common/file_util.h"
#include "tests/common/temp_dir.h"

#include "miner/adversary.h"
#include "miner/admission.h"
#include "miner/batcher.h"
#include "miner/handlers.h"
#include "miner/kv_slots.h"
#include "miner/metrics.h"
#include "miner/request_log.h"
#include "miner/sampling_check.h"
#include "miner/tokenizer.h"
#include "protocol/refusal.h"
#include "tests/miner/fake_model.h"

namespace agora::miner {
namespace {

using protocol::Reason;
using protocol::ReasonOf;
using testing::FakeModel;

Clock::time_point Later() { return Clock::now() + std::chrono::seconds(30); }

struct Fixture {
  explicit Fixture(BatcherOptions bo = {}, std::chrono::microseconds delay = {})
      : model(256, delay), batcher(&model, bo) {
    env.batcher = &batcher;
    env.tokenizer = &tokenizer;
    env.model_hash = model.content_hash();
    env.vocab_size = 256;
    env.start = Clock::now();
    env.deadline = Later();
  }
  FakeModel model;
  Batcher batcher;
  ByteTokenizer tokenizer;
  TaskEnv env;
};

void ExpectBadRequest(const absl::Status& s, absl::string_view field) {
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(ReasonOf(s), Reason::kBadRequest) << s;
  EXPECT_NE(s.message().find(field), absl::string_view::npos) << s;
}

TEST(BatcherTest, MergesConcurrentRequestsIntoOneForward) {
  BatcherOptions bo;
  bo.max_batch = 8;
  bo.max_wait = std::chrono::seconds(5);  // the batch fills long before
  FakeModel model;
  Batcher batcher(&model, bo);
  std::vector<std::future<absl::StatusOr<Logits>>> futures;
  for (uint32_t i = 0; i < 8; ++i) {
    futures.push_back(batcher.Submit({{i, i + 1}}, 0, Later()));
  }
  for (uint32_t i = 0; i < 8; ++i) {
    absl::StatusOr<Logits> l = futures[i].get();
    ASSERT_TRUE(l.ok()) << l.status();
    ASSERT_EQ(l->rows, 1u);
    auto row = l->Row(0);
    const size_t argmax = std::max_element(row.begin(), row.end()) - row.begin();
    EXPECT_EQ(argmax, FakeModel::Peak({i, i + 1}, 256));
  }
  EXPECT_EQ(model.batch_sizes(), std::vector<size_t>{8});
  EXPECT_EQ(batcher.Stats().rows, 8u);
}

TEST(BatcherTest, SplitsLargeRequestsAndKeepsRowOrder) {
  BatcherOptions bo;
  bo.max_batch = 4;
  bo.max_wait = std::chrono::microseconds(0);
  FakeModel model;
  Batcher batcher(&model, bo);
  std::vector<std::vector<uint32_t>> rows;
  for (uint32_t i = 0; i < 10; ++i) rows.push_back({i});
  absl::StatusOr<Logits> l = batcher.Run(rows, 0, Later());
  ASSERT_TRUE(l.ok()) << l.status();
  ASSERT_EQ(l->rows, 10u);
  for (uint32_t i = 0; i < 10; ++i) {
    auto row = l->Row(i);
    EXPECT_EQ(size_t(std::max_element(row.begin(), row.end()) - row.begin()), FakeModel::Peak({i}, 256));
  }
  for (size_t b : model.batch_sizes()) EXPECT_LE(b, 4u);
}

TEST(BatcherTest, DropsExpiredWorkAndRefusesWhenFull) {
  BatcherOptions bo;
  bo.max_batch = 1;
  bo.max_wait = std::chrono::microseconds(0);
  bo.max_queue_rows = 2;
  FakeModel model(256, std::chrono::milliseconds(50));
  Batcher batcher(&model, bo);
  auto first = batcher.Submit({{1}}, 0, Later());            // occupies the model
  // Wait (with a deadline) until the model is busy with `first`.
  for (auto until = Later(); model.batch_sizes().empty() && Clock::now() < until;) {
    std::this_thread::yield();
  }
  auto expired = batcher.Submit({{2}}, 0, Clock::now() + std::chrono::milliseconds(1));
  auto low = batcher.Submit({{3}}, 0, Later());
  auto full = batcher.Submit({{4}}, 0, Later());             // queue full, same priority
  auto high = batcher.Submit({{5}}, 100, Later());           // evicts the lowest
  EXPECT_TRUE(first.get().ok());
  EXPECT_TRUE(absl::IsDeadlineExceeded(expired.get().status()));
  absl::StatusOr<Logits> f = full.get();
  EXPECT_EQ(ReasonOf(f.status()), Reason::kOverloaded);
  EXPECT_EQ(ReasonOf(low.get().status()), Reason::kOverloaded);  // evicted
  EXPECT_TRUE(high.get().ok());
  const BatcherStats s = batcher.Stats();
  EXPECT_EQ(s.expired, 1u);
  EXPECT_EQ(s.evicted, 1u);
}

// Appends the argmax of the logits; stops after `tokens` tokens.
Batcher::NextToken Greedy(size_t tokens, std::vector<std::vector<uint32_t>>* seen = nullptr) {
  return [tokens, seen, n = size_t{0}](absl::Span<const float> logits,
                                        std::vector<uint32_t>& row) mutable {
    if (seen) seen->push_back(row);
    row.push_back(static_cast<uint32_t>(std::max_element(logits.begin(), logits.end()) -
                                        logits.begin()));
    return ++n < tokens;
  };
}

// A generation runs on the worker to its end, one step per token, its row
// growing by the chosen token, under one sequence the model is told of and
// told to end; a lone generation never waits max_wait (30 s here) for company.
TEST(BatcherTest, RunsAGenerationToItsEndUnderOneSequence) {
  BatcherOptions bo;
  bo.max_wait = std::chrono::seconds(30);
  FakeModel model;
  Batcher batcher(&model, bo);
  const auto t0 = Clock::now();
  std::vector<std::vector<uint32_t>> seen;
  ASSERT_TRUE(batcher.Generate({1, 2}, 0, Later(), Greedy(5, &seen)).get().ok());
  EXPECT_LT(Clock::now() - t0, std::chrono::seconds(10));
  ASSERT_EQ(seen.size(), 5u);
  EXPECT_EQ(seen[0], (std::vector<uint32_t>{1, 2}));
  for (size_t i = 1; i < seen.size(); ++i) {
    ASSERT_EQ(seen[i].size(), seen[i - 1].size() + 1);
    EXPECT_EQ(seen[i].back(), FakeModel::Peak(seen[i - 1], 256));  // the argmax it was given
  }
  const std::vector<std::vector<uint64_t>> steps = model.steps_sequences();
  ASSERT_EQ(steps.size(), 5u);
  ASSERT_EQ(steps[0].size(), 1u);
  EXPECT_NE(steps[0][0], 0u);
  for (const auto& s : steps) EXPECT_EQ(s, steps[0]);
  EXPECT_EQ(model.ended(), steps[0]);  // told before the future was ready
  EXPECT_TRUE(absl::IsInvalidArgument(batcher.Generate({}, 0, Later(), Greedy(1)).get()));
  EXPECT_TRUE(absl::IsInvalidArgument(batcher.Generate({1}, 0, Later(), nullptr).get()));
}

// Generations share steps with each other and with other requests, and one
// past its deadline stops there, its sequence ended.
TEST(BatcherTest, GenerationsShareStepsAndStopAtTheirDeadline) {
  BatcherOptions bo;
  bo.max_wait = std::chrono::milliseconds(1);
  FakeModel model(256, std::chrono::milliseconds(20));  // each forward takes 20 ms
  Batcher batcher(&model, bo);
  auto a = batcher.Generate({1}, 0, Later(), Greedy(4));
  auto b = batcher.Generate({2}, 0, Later(), Greedy(4));
  auto rows = batcher.Submit({{5, 6}}, 0, Later());
  ASSERT_TRUE(a.get().ok());
  ASSERT_TRUE(b.get().ok());
  ASSERT_TRUE(rows.get().ok());
  const std::vector<size_t> sizes = model.batch_sizes();
  EXPECT_LE(sizes.size(), 6u);  // 9 rows in all: shared steps
  EXPECT_GE(*std::max_element(sizes.begin(), sizes.end()), 2u);
  // Two sequences, each in 4 steps; Submit's row has none (0).
  std::map<uint64_t, int> rows_of;
  for (const auto& step : model.steps_sequences()) {
    for (uint64_t id : step) ++rows_of[id];
  }
  ASSERT_EQ(rows_of.size(), 3u);
  EXPECT_EQ(rows_of[0], 1);
  for (const auto& [id, n] : rows_of) EXPECT_EQ(n, id == 0 ? 1 : 4) << id;

  auto endless = batcher.Generate({3}, 0, Clock::now() + std::chrono::milliseconds(70),
                                  [](absl::Span<const float>, std::vector<uint32_t>& row) {
                                    row.push_back(1);
                                    return true;
                                  });
  EXPECT_TRUE(absl::IsDeadlineExceeded(endless.get()));
  const uint64_t id = model.steps_sequences().back()[0];
  EXPECT_EQ(model.ended().back(), id);
  EXPECT_EQ(batcher.Stats().expired, 1u);
}

TEST(HandlersTest, GenerateRunsOneSequenceAndEndsIt) {
  Fixture fx(BatcherOptions{16, std::chrono::microseconds(0), 4096});
  protocol::GenerateRequest req;
  req.prompt = "abc";
  req.max_tokens = 4;
  ASSERT_TRUE(HandleGenerate(req, fx.env, nullptr).ok());
  const std::vector<std::vector<uint64_t>> steps = fx.model.steps_sequences();
  ASSERT_EQ(steps.size(), 4u);
  ASSERT_EQ(steps[0].size(), 1u);
  EXPECT_NE(steps[0][0], 0u);
  for (const auto& s : steps) EXPECT_EQ(s, steps[0]);
  EXPECT_EQ(fx.model.ended(), steps[0]);
}

TEST(KvSlotsTest, ComputesOnlyWhatARowAddsToItsSequence) {
  KvSlots slots(2);
  using Row = std::vector<uint32_t>;
  auto step = [&](const std::vector<Row>& rows, const std::vector<uint64_t>& seqs) {
    std::vector<absl::Span<const uint32_t>> spans(rows.begin(), rows.end());
    KvSlots::Plan plan = slots.Assign(spans, seqs);
    slots.Commit(plan, spans);
    return plan;
  };
  KvSlots::Plan p = step({{1, 2, 3}}, {7});
  EXPECT_EQ(p.start, std::vector<size_t>{0});                   // a new prompt: all of it
  const size_t slot7 = p.slot[0];
  p = step({{1, 2, 3, 4}}, {7});
  EXPECT_EQ(p.start, std::vector<size_t>{3});                   // one new token
  EXPECT_EQ(p.slot[0], slot7);
  p = step({{1, 2, 3, 4}}, {7});
  EXPECT_EQ(p.start, std::vector<size_t>{3});                   // the same row: its last token again
  p = step({{1, 9, 3, 4, 5}}, {7});
  EXPECT_EQ(p.start, std::vector<size_t>{0});                   // not an extension: afresh
  p = step({{1, 9, 3, 4, 5, 6}, {4, 4}}, {7, 0});
  EXPECT_EQ(p.start, (std::vector<size_t>{5, 0}));              // a row without a sequence borrows
  EXPECT_EQ(slots.sequences(), 1u);
  // The same sequence twice in a step: the second row gets a slot of its own.
  p = step({{1, 9, 3, 4, 5, 6, 7}, {1, 9, 3, 4, 5, 6, 7}}, {7, 7});
  EXPECT_EQ(p.start[0], 6u);
  EXPECT_EQ(p.start[1], 0u);
  EXPECT_NE(p.slot[0], p.slot[1]);

  // Two slots: a third sequence evicts the least recently used one.
  step({{5}}, {8});
  step({{1, 9, 3, 4, 5, 6, 7, 8}}, {7});                         // 7 is now the most recent
  p = step({{6}}, {9});                                          // evicts 8
  EXPECT_EQ(slots.sequences(), 2u);
  EXPECT_EQ(step({{1, 9, 3, 4, 5, 6, 7, 8, 9}}, {7}).start, std::vector<size_t>{8});  // 7 kept
  EXPECT_EQ(step({{5, 1}}, {8}).start, std::vector<size_t>{0}); // 8 starts over (evicting 9)
  EXPECT_EQ(step({{6, 1}}, {9}).start, std::vector<size_t>{0}); // and so does 9 (evicting 7)
  EXPECT_EQ(slots.size(), 2u);                                   // never past the cap

  // A failed step leaves its slots holding nothing; an ended sequence's slot is free.
  std::vector<Row> rows = {{6, 1, 2}};
  std::vector<absl::Span<const uint32_t>> spans(rows.begin(), rows.end());
  slots.Abort(slots.Assign(spans, {9}));
  EXPECT_EQ(step({{6, 1, 2}}, {9}).start, std::vector<size_t>{0});
  slots.EndSequence(9);
  slots.EndSequence(12345);  // unknown: nothing happens
  EXPECT_EQ(slots.sequences(), 1u);
  // More rows in one step than slots: the step still gets one slot per row.
  p = step({{1}, {2}, {3}, {4}}, {0, 0, 0, 0});
  std::vector<size_t> distinct = p.slot;
  std::sort(distinct.begin(), distinct.end());
  EXPECT_EQ(std::unique(distinct.begin(), distinct.end()), distinct.end());
}

TEST(HandlersTest, PredictGivesFullDistributionsInOrder) {
  Fixture fx;
  protocol::PredictRequest req;
  req.prefixes = {{1, 2, 3}, {200}, {7}};
  absl::StatusOr<protocol::PredictReply> rep = HandlePredict(req, fx.env);
  ASSERT_TRUE(rep.ok()) << rep.status();
  EXPECT_EQ(rep->model_hash, fx.model.content_hash());
  EXPECT_EQ(rep->vocab_size, 256u);
  ASSERT_EQ(rep->distributions.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    const auto& d = rep->distributions[i];
    ASSERT_EQ(d.probs.size(), 256u);
    EXPECT_TRUE(d.tokens.empty());
    double sum = 0;
    for (float p : d.probs) sum += p;
    EXPECT_NEAR(sum, 1.0, 1e-5);
    EXPECT_EQ(size_t(std::max_element(d.probs.begin(), d.probs.end()) - d.probs.begin()),
              FakeModel::Peak(req.prefixes[i], 256));
  }
  req.top_k = 5;
  rep = HandlePredict(req, fx.env);
  ASSERT_TRUE(rep.ok());
  const auto& d = rep->distributions[0];
  ASSERT_EQ(d.tokens.size(), 5u);
  EXPECT_EQ(d.tokens[0], FakeModel::Peak(req.prefixes[0], 256));
  double listed = 0;
  for (float p : d.probs) listed += p;
  EXPECT_NEAR(listed + d.rest, 1.0, 1e-5);
  EXPECT_TRUE(std::is_sorted(d.probs.rbegin(), d.probs.rend()));
}

TEST(HandlersTest, PredictRefusesBadRequestsByField) {
  Fixture fx;
  protocol::PredictRequest req;
  ExpectBadRequest(HandlePredict(req, fx.env).status(), "prefixes");
  req.prefixes = {{1}, {}};
  ExpectBadRequest(HandlePredict(req, fx.env).status(), "prefixes[1]");
  req.prefixes = {{1, 256}};
  ExpectBadRequest(HandlePredict(req, fx.env).status(), "prefixes[0][1]");
  req.prefixes = std::vector<std::vector<uint32_t>>(protocol::kMaxPrefixes + 1, {1});
  ExpectBadRequest(HandlePredict(req, fx.env).status(), "prefixes");
  req.prefixes = {std::vector<uint32_t>(protocol::kMaxPrefixTokens + 1, 1)};
  ExpectBadRequest(HandlePredict(req, fx.env).status(), "prefixes[0]");
  req.prefixes = {{1}};
  req.top_k = protocol::kMaxTopK + 1;
  ExpectBadRequest(HandlePredict(req, fx.env).status(), "top_k");
  fx.env.max_prefixes = 2;
  req.top_k = 0;
  req.prefixes = {{1}, {2}, {3}};
  ExpectBadRequest(HandlePredict(req, fx.env).status(), "prefixes");
}

TEST(HandlersTest, GenerateRespectsMaxTokensStopAndSeed) {
  Fixture fx;
  protocol::GenerateRequest req;
  req.prompt = "abc";
  req.max_tokens = 7;
  req.temperature = 0;  // greedy: follows the fake model's peaks
  absl::StatusOr<protocol::GenerateReply> rep = HandleGenerate(req, fx.env);
  ASSERT_TRUE(rep.ok()) << rep.status();
  EXPECT_EQ(rep->tokens.size(), 7u);
  EXPECT_EQ(rep->logprobs.size(), 7u);
  EXPECT_EQ(rep->finish_reason, "length");
  EXPECT_EQ(rep->prompt_tokens, 3u);
  std::vector<uint32_t> seq = {'a', 'b', 'c'};
  for (uint32_t t : rep->tokens) {
    EXPECT_EQ(t, FakeModel::Peak(seq, 256));
    seq.push_back(t);
  }
  EXPECT_EQ(rep->text, fx.tokenizer.Decode(rep->tokens));
  for (float lp : rep->logprobs) EXPECT_LE(lp, 0.0f);

  // Stop on the text of the third token.
  req.stop = {rep->text.substr(2, 1)};
  absl::StatusOr<protocol::GenerateReply> stopped = HandleGenerate(req, fx.env);
  ASSERT_TRUE(stopped.ok());
  EXPECT_EQ(stopped->finish_reason, "stop");
  EXPECT_LE(stopped->tokens.size(), 3u);

  // Sampling: same seed, same completion; another seed, (almost surely) another.
  req.stop.clear();
  req.temperature = 3.0f;
  req.max_tokens = 32;
  req.seed = 11;
  auto a = HandleGenerate(req, fx.env), b = HandleGenerate(req, fx.env);
  req.seed = 12;
  auto c = HandleGenerate(req, fx.env);
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  EXPECT_EQ(a->tokens, b->tokens);
  EXPECT_EQ(a->logprobs, b->logprobs);
  EXPECT_NE(a->tokens, c->tokens);
  // top_k = 1 is greedy whatever the temperature.
  req.top_k = 1;
  auto g = HandleGenerate(req, fx.env);
  ASSERT_TRUE(g.ok());
  seq = {'a', 'b', 'c'};
  for (uint32_t t : g->tokens) {
    EXPECT_EQ(t, FakeModel::Peak(seq, 256));
    seq.push_back(t);
  }
}

TEST(HandlersTest, StreamedGenerationEmitsEachTokenAsTheWholeReplySays) {
  Fixture fx;
  protocol::GenerateRequest req;
  req.prompt = "abc";
  req.max_tokens = 9;
  req.temperature = 2.0f;
  req.seed = 5;
  const absl::StatusOr<protocol::GenerateReply> plain = HandleGenerate(req, fx.env);
  ASSERT_TRUE(plain.ok());
  req.stream = true;
  std::vector<protocol::GenerateChunk> chunks;
  absl::StatusOr<protocol::GenerateReply> rep =
      HandleGenerate(req, fx.env, [&](const protocol::GenerateChunk& c) {
        chunks.push_back(c);
        return true;
      });
  ASSERT_TRUE(rep.ok()) << rep.status();
  // Streaming changes nothing in the completion itself.
  EXPECT_EQ(rep->tokens, plain->tokens);
  EXPECT_EQ(rep->logprobs, plain->logprobs);
  ASSERT_EQ(chunks.size(), rep->tokens.size());
  std::string text;
  uint64_t elapsed = 0;
  for (size_t i = 0; i < chunks.size(); ++i) {
    EXPECT_EQ(chunks[i].index, i);
    ASSERT_EQ(chunks[i].tokens.size(), 1u);
    EXPECT_EQ(chunks[i].tokens[0], rep->tokens[i]);
    EXPECT_EQ(chunks[i].logprobs, std::vector<float>{rep->logprobs[i]});
    EXPECT_EQ(chunks[i].done, i + 1 == chunks.size());
    EXPECT_GE(chunks[i].elapsed_us, elapsed);
    elapsed = chunks[i].elapsed_us;
    text += chunks[i].text;
  }
  EXPECT_EQ(text, rep->text);
  EXPECT_EQ(chunks.back().finish_reason, "length");

  // A stop sequence ends the stream with the reason on its last chunk.
  req.temperature = 0;
  req.stop = {rep->text.substr(2, 1)};
  chunks.clear();
  rep = HandleGenerate(req, fx.env, [&](const protocol::GenerateChunk& c) {
    chunks.push_back(c);
    return true;
  });
  ASSERT_TRUE(rep.ok());
  if (rep->finish_reason == "stop") {
    ASSERT_FALSE(chunks.empty());
    EXPECT_TRUE(chunks.back().done);
    EXPECT_EQ(chunks.back().finish_reason, "stop");
  }
  EXPECT_EQ(chunks.size(), rep->tokens.size());

  // A sink that stops accepting ends the chunks, not the completion.
  req.stop.clear();
  size_t offered = 0;
  rep = HandleGenerate(req, fx.env, [&](const protocol::GenerateChunk&) { return ++offered < 2; });
  ASSERT_TRUE(rep.ok());
  EXPECT_EQ(offered, 2u);
  EXPECT_EQ(rep->tokens.size(), 9u);
}

// A streamed generation that fails part-way (its deadline passes) ends with
// the failure once the tokens sampled before it are streamed: the handler
// hears of the end from the batcher, it does not poll for it.
TEST(HandlersTest, StreamedGenerationPastItsDeadlineEndsWithTheFailure) {
  Fixture fx({}, std::chrono::milliseconds(20));  // each forward takes 20 ms
  protocol::GenerateRequest req;
  req.prompt = "abc";
  req.max_tokens = 200;
  req.stream = true;
  fx.env.deadline = Clock::now() + std::chrono::milliseconds(300);
  std::vector<protocol::GenerateChunk> chunks;
  const auto t0 = Clock::now();
  absl::StatusOr<protocol::GenerateReply> rep =
      HandleGenerate(req, fx.env, [&](const protocol::GenerateChunk& c) {
        chunks.push_back(c);
        return true;
      });
  ASSERT_FALSE(rep.ok());
  EXPECT_EQ(ReasonOf(rep.status()), Reason::kOverloaded) << rep.status();
  EXPECT_LT(Clock::now() - t0, std::chrono::seconds(5));  // not waiting out 200 tokens
  ASSERT_FALSE(chunks.empty());  // a few steps ran before the deadline
  EXPECT_LT(chunks.size(), 200u);
  for (size_t i = 0; i < chunks.size(); ++i) {
    EXPECT_EQ(chunks[i].index, i);
    EXPECT_FALSE(chunks[i].done);  // no chunk claims a completion that did not happen
  }
}

TEST(HandlersTest, GenerateRefusesBadRequestsByField) {
  Fixture fx;
  protocol::GenerateRequest req;
  ExpectBadRequest(HandleGenerate(req, fx.env).status(), "prompt");  // empty prompt
  req.prompt = "x";
  req.prompt_tokens = {1};
  ExpectBadRequest(HandleGenerate(req, fx.env).status(), "prompt");  // both
  req.prompt_tokens.clear();
  req.max_tokens = 0;
  ExpectBadRequest(HandleGenerate(req, fx.env).status(), "max_tokens");
  req.max_tokens = 4'000'000'000u;
  ExpectBadRequest(HandleGenerate(req, fx.env).status(), "max_tokens");
  req.max_tokens = 4;
  req.temperature = std::numeric_limits<float>::quiet_NaN();
  ExpectBadRequest(HandleGenerate(req, fx.env).status(), "temperature");
  req.temperature = -1;
  ExpectBadRequest(HandleGenerate(req, fx.env).status(), "temperature");
  req.temperature = 1;
  req.top_p = 0;
  ExpectBadRequest(HandleGenerate(req, fx.env).status(), "top_p");
  req.top_p = std::numeric_limits<float>::infinity();
  ExpectBadRequest(HandleGenerate(req, fx.env).status(), "top_p");
  req.top_p = 1;
  req.top_k = 257;
  ExpectBadRequest(HandleGenerate(req, fx.env).status(), "top_k");
  req.top_k = 0;
  req.stop = {""};
  ExpectBadRequest(HandleGenerate(req, fx.env).status(), "stop[0]");
  req.stop = std::vector<std::string>(protocol::kMaxStopSequences + 1, "a");
  ExpectBadRequest(HandleGenerate(req, fx.env).status(), "stop");
  req.stop.clear();
  req.prompt = std::string(protocol::kMaxPromptBytes + 1, 'a');
  ExpectBadRequest(HandleGenerate(req, fx.env).status(), "prompt");
  req.prompt.clear();
  req.prompt_tokens = {1, 300};
  ExpectBadRequest(HandleGenerate(req, fx.env).status(), "prompt_tokens[1]");
  req.prompt_tokens = {1};
  req.stream = true;  // with nowhere to send chunks
  ExpectBadRequest(HandleGenerate(req, fx.env).status(), "stream");
}

TEST(HandlersTest, SoftmaxAndSamplingSurviveHostileLogits) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  std::vector<float> p = Softmax(std::vector<float>{nan, inf, 0.0f, -inf});
  EXPECT_FLOAT_EQ(p[2], 1.0f);
  p = Softmax(std::vector<float>{nan, nan});
  EXPECT_FLOAT_EQ(p[0], 0.5f);
  EXPECT_EQ(SampleToken(std::vector<float>{nan, 1.0f, 0.0f}, 0.0f, 0, 1.0f, 0.5), 1u);
  EXPECT_LT(SampleToken(std::vector<float>{nan, nan, nan}, 1.0f, 2, 0.5f, 0.999), 3u);
}

// Sampling is the inverse of a cumulative distribution, so over an even grid
// of u each token is drawn in proportion to its probability (to within one
// grid step), whichever path (id order, or ranked with top-k/top-p) it takes.
TEST(HandlersTest, SamplerDrawsEachTokenWithItsProbabilityAndReportsItsLogprob) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const std::vector<float> logits = {0.5f, 2.0f, -1.0f, nan, 1.0f, 1.0f};
  struct Case {
    float temperature;
    uint32_t top_k;
    float top_p;
  };
  TokenSampler sampler;  // one sampler for every case: its scratch is reused
  for (const Case& c : {Case{1.0f, 0, 1.0f}, Case{0.5f, 0, 1.0f}, Case{2.0f, 0, 1.0f},
                        Case{1.0f, 2, 1.0f}, Case{1.0f, 0, 0.7f}, Case{0.7f, 3, 0.9f}}) {
    SCOPED_TRACE(::testing::Message() << "T " << c.temperature << " top_k " << c.top_k << " top_p " << c.top_p);
    // The expected distribution: softmax at T, most probable first (ties by
    // id), cut to top_k, then to the smallest prefix holding top_p.
    const std::vector<float> p = Softmax(logits, c.temperature);
    std::vector<uint32_t> order(p.size());
    std::iota(order.begin(), order.end(), 0u);
    std::stable_sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) { return p[a] > p[b]; });
    size_t keep = c.top_k > 0 ? c.top_k : order.size();
    double cum = 0;
    for (size_t i = 0; i < keep && c.top_p < 1.0f; ++i) {
      cum += p[order[i]];
      if (cum >= c.top_p) keep = i + 1;
    }
    std::vector<double> want(p.size(), 0.0);
    double kept = 0;
    for (size_t i = 0; i < keep; ++i) kept += p[order[i]];
    for (size_t i = 0; i < keep; ++i) want[order[i]] = p[order[i]] / kept;

    constexpr int kGrid = 20000;
    std::vector<int> drawn(p.size(), 0);
    for (int g = 0; g < kGrid; ++g) {
      const TokenSampler::Pick pick = sampler.Sample(logits, c.temperature, c.top_k, c.top_p, (g + 0.5) / kGrid);
      ASSERT_LT(pick.token, p.size());
      ++drawn[pick.token];
      // The log-probability is the model's, at temperature 1, whatever T.
      EXPECT_NEAR(pick.logprob, std::log(Softmax(logits)[pick.token]), 1e-5);
      EXPECT_EQ(pick.token, SampleToken(logits, c.temperature, c.top_k, c.top_p, (g + 0.5) / kGrid));
    }
    for (size_t t = 0; t < p.size(); ++t) {
      EXPECT_NEAR(drawn[t] / double(kGrid), want[t], 2.0 / kGrid) << "token " << t;
    }
    EXPECT_EQ(drawn[3], 0);  // the NaN logit has no mass
  }
  // Greedy: the largest finite logit, ties to the lowest id.
  const TokenSampler::Pick greedy = sampler.Sample(logits, 0.0f, 0, 1.0f, 0.99);
  EXPECT_EQ(greedy.token, 1u);
  EXPECT_NEAR(greedy.logprob, std::log(Softmax(logits)[1]), 1e-5);
  EXPECT_EQ(sampler.Sample(std::vector<float>{1.0f, 3.0f, 3.0f}, 0.0f, 0, 1.0f, 0.5).token, 1u);
  // A shorter vocabulary after a longer one: nothing left over from before.
  EXPECT_EQ(sampler.Sample(std::vector<float>{5.0f}, 1.0f, 0, 1.0f, 0.999).token, 0u);
  // Nothing finite: uniform over the ids, logprob -log(n).
  const TokenSampler::Pick uniform = sampler.Sample(std::vector<float>{nan, nan, nan, nan}, 1.0f, 0, 1.0f, 0.6);
  EXPECT_EQ(uniform.token, 2u);
  EXPECT_NEAR(uniform.logprob, -std::log(4.0), 1e-6);
}

// The re-execution check a validator runs (miner/sampling_check.h): honest
// completions pass, alone or generated in a batch with others; a greedy
// answer to a sampled request, an early stop, a changed token and a
// perturbed log-probability fail, naming the position.
TEST(SamplingCheckTest, PassesHonestCompletionsAndCatchesEveryDeviation) {
  Fixture fx;
  protocol::GenerateRequest req;
  req.prompt = "In the beginning";
  req.max_tokens = 24;
  req.temperature = 3.0f;  // the fake model's peak is mild at 3: draws vary
  req.seed = 77;
  const std::vector<uint32_t> prompt(req.prompt.begin(), req.prompt.end());
  auto logits_of = [&](const protocol::GenerateReply& r) {
    std::vector<uint32_t> row = prompt;
    row.insert(row.end(), r.tokens.begin(), r.tokens.end());
    absl::StatusOr<std::vector<Logits>> l = fx.model.PositionLogits({row}, {prompt.size()});
    EXPECT_TRUE(l.ok()) << l.status();
    return (*l)[0];
  };
  CompletionCheckOptions o;
  o.tokenizer = &fx.tokenizer;
  absl::StatusOr<protocol::GenerateReply> alone = HandleGenerate(req, fx.env);
  ASSERT_TRUE(alone.ok());
  ASSERT_EQ(alone->tokens.size(), 24u);
  CompletionCheck c = CheckCompletion(req, *alone, logits_of(*alone), o);
  EXPECT_TRUE(c.ok) << c.evidence;

  // Generated beside seven other generations (one batch): the same tokens.
  std::vector<std::future<absl::StatusOr<protocol::GenerateReply>>> others;
  for (int k = 0; k < 7; ++k) {
    protocol::GenerateRequest other = req;
    other.seed = 1000 + k;
    others.push_back(std::async(std::launch::async, [&fx, other] { return HandleGenerate(other, fx.env); }));
  }
  absl::StatusOr<protocol::GenerateReply> batched = HandleGenerate(req, fx.env);
  for (auto& f : others) EXPECT_TRUE(f.get().ok());
  ASSERT_TRUE(batched.ok());
  EXPECT_EQ(batched->tokens, alone->tokens);

  // Greedy, whatever was asked.
  protocol::GenerateRequest greedy_req = req;
  greedy_req.temperature = 0;
  absl::StatusOr<protocol::GenerateReply> greedy = HandleGenerate(greedy_req, fx.env);
  ASSERT_TRUE(greedy.ok());
  c = CheckCompletion(req, *greedy, logits_of(*greedy), o);
  EXPECT_FALSE(c.ok);
  EXPECT_NE(c.evidence.find("is not the sampler's draw"), std::string::npos) << c.evidence;
  // ... which is right for a greedy request.
  c = CheckCompletion(greedy_req, *greedy, logits_of(*greedy), o);
  EXPECT_TRUE(c.ok) << c.evidence;

  // One token, where 24 were asked and no stop sequence was.
  protocol::GenerateReply short_reply = *alone;
  short_reply.tokens.resize(1);
  short_reply.logprobs.resize(1);
  short_reply.text = short_reply.text.substr(0, 1);
  c = CheckCompletion(req, short_reply, logits_of(short_reply), o);
  EXPECT_FALSE(c.ok);
  EXPECT_NE(c.evidence.find("stopped after 1 of 24 tokens"), std::string::npos) << c.evidence;
  // A requested stop sequence ends it early rightly.
  protocol::GenerateRequest stop_req = req;
  stop_req.stop = {short_reply.text};
  c = CheckCompletion(stop_req, short_reply, logits_of(short_reply), o);
  EXPECT_TRUE(c.ok) << c.evidence;
  // ... but not past it, and not with a text its tokens do not make.
  c = CheckCompletion(stop_req, *alone, logits_of(*alone), o);
  EXPECT_FALSE(c.ok);
  EXPECT_NE(c.evidence.find("token 0 ends a requested stop sequence"), std::string::npos) << c.evidence;
  protocol::GenerateReply faked = short_reply;
  faked.text = "ZZ";
  stop_req.stop = {"ZZ"};
  c = CheckCompletion(stop_req, faked, logits_of(faked), o);
  EXPECT_FALSE(c.ok);
  EXPECT_NE(c.evidence.find("not the tokens decoded"), std::string::npos) << c.evidence;

  // Token 5 replaced by one far from its draw.
  protocol::GenerateReply changed = *alone;
  changed.tokens[5] = (changed.tokens[5] + 128) % 256;
  changed.text = fx.tokenizer.Decode(changed.tokens);
  c = CheckCompletion(req, changed, logits_of(changed), o);
  EXPECT_FALSE(c.ok);
  EXPECT_EQ(c.evidence.rfind("token 5:", 0), 0u) << c.evidence;

  // A log-probability off by 0.1 nats.
  protocol::GenerateReply off = *alone;
  off.logprobs[9] += 0.1f;
  c = CheckCompletion(req, off, logits_of(off), o);
  EXPECT_FALSE(c.ok);
  EXPECT_NE(c.evidence.find("token 9: log-probability"), std::string::npos) << c.evidence;
}

TEST(SamplingCheckTest, NearTiesPassWithinTheToleranceOnly) {
  const std::vector<float> even = {0.0f, 0.0f};  // p = 0.5, 0.5
  EXPECT_EQ(SampleToken(even, 1.0f, 0, 1.0f, 0.4995), 0u);
  EXPECT_TRUE(SampleAgrees(even, 1.0f, 0, 1.0f, 0.4995, 0, 1e-3));
  EXPECT_TRUE(SampleAgrees(even, 1.0f, 0, 1.0f, 0.4995, 1, 1e-3));   // within 0.001 of the edge
  EXPECT_FALSE(SampleAgrees(even, 1.0f, 0, 1.0f, 0.4995, 1, 1e-4));
  EXPECT_FALSE(SampleAgrees(even, 1.0f, 0, 1.0f, 0.2, 1, 1e-3));
  // Greedy: a near-tied runner-up passes, a clear loser does not.
  const std::vector<float> close = {1.0f, 1.0001f, -3.0f};
  EXPECT_TRUE(SampleAgrees(close, 0.0f, 0, 1.0f, 0.5, 0, 1e-3));
  EXPECT_FALSE(SampleAgrees(close, 0.0f, 0, 1.0f, 0.5, 2, 1e-3));
  // Ranked draws (top-k): the pick at u or within the tolerance of it.
  EXPECT_TRUE(SampleAgrees(close, 1.0f, 2, 1.0f, 0.1, SampleToken(close, 1.0f, 2, 1.0f, 0.1), 1e-3));
  EXPECT_FALSE(SampleAgrees(close, 1.0f, 2, 1.0f, 0.1, 2, 1e-3));
  // The draws are a function of (seed, position) alone.
  EXPECT_EQ(SamplerUniform(5, 3), SamplerUniform(5, 3));
  EXPECT_NE(SamplerUniform(5, 3), SamplerUniform(5, 4));
  EXPECT_NE(SamplerUniform(5, 3), SamplerUniform(6, 3));
}

TEST(HandlersTest, ModelFetchHandsOverPiecesOfTheServedPackageOnly) {
  Hash256 served{};
  served.fill(7);
  const std::string package = std::string(1000, 'x') + "tail";
  protocol::ModelFetchRequest req;
  req.content_hash = served;
  req.offset = 990;
  req.length = 100;
  absl::StatusOr<protocol::ModelFetchReply> r = HandleModelFetch(req, served, package);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->total_size, 1004u);
  EXPECT_EQ(r->offset, 990u);
  EXPECT_EQ(r->data, package.substr(990));  // fewer than asked: the end
  Hash256 other = served;
  other[0] ^= 1;
  req.content_hash = other;
  ExpectBadRequest(HandleModelFetch(req, served, package).status(), "content_hash");
  req.content_hash = served;
  req.offset = 1004;
  ExpectBadRequest(HandleModelFetch(req, served, package).status(), "offset");
  req.offset = 0;
  req.length = 0;
  ExpectBadRequest(HandleModelFetch(req, served, package).status(), "length");
  req.length = protocol::kMaxModelChunk + 1;
  ExpectBadRequest(HandleModelFetch(req, served, package).status(), "length");
}

TEST(AdmissionTest, RegistrationStakePermitAndRateLimit) {
  AdmissionOptions o;
  o.min_stake = 10;
  o.rate_per_s = 1;
  o.burst = 2;
  Admission a(o);
  PublicKey rich{}, poor{}, stranger{};
  rich[0] = 1;
  poor[0] = 2;
  stranger[0] = 3;
  a.Update({{rich, 100, true}, {poor, 5, false}});
  const auto t0 = Clock::now();
  EXPECT_EQ(ReasonOf(a.Admit(stranger, t0)), Reason::kUnregistered);
  EXPECT_EQ(ReasonOf(a.Admit(poor, t0)), Reason::kUnregistered);
  EXPECT_TRUE(a.Admit(rich, t0).ok());
  EXPECT_TRUE(a.Admit(rich, t0).ok());
  EXPECT_EQ(ReasonOf(a.Admit(rich, t0)), Reason::kRateLimited);
  EXPECT_TRUE(a.Admit(rich, t0 + std::chrono::seconds(1)).ok());  // refilled one token
  EXPECT_EQ(a.Priority(rich), 100u);
  EXPECT_EQ(a.Priority(stranger), 0u);

  AdmissionOptions permit;
  permit.require_permit = true;
  Admission b(permit);
  b.Update({{rich, 100, true}, {poor, 5, false}});
  EXPECT_TRUE(b.Admit(rich, t0).ok());
  EXPECT_EQ(ReasonOf(b.Admit(poor, t0)), Reason::kUnregistered);
  const AdmissionStats s = b.Stats();
  EXPECT_EQ(s.admitted, 1u);
  EXPECT_EQ(s.unregistered, 1u);
}

TEST(AdmissionTest, PrescreenPassesOnlyWhomAdmitCouldAdmit) {
  AdmissionOptions o;
  o.min_stake = 10;
  o.require_permit = true;
  o.rate_per_s = 1;
  o.burst = 1;
  Admission a(o);
  PublicKey validator{}, poor{}, miner{}, stranger{};
  validator[0] = 1;
  poor[0] = 2;
  miner[0] = 3;
  stranger[0] = 4;
  a.Update({{validator, 100, true}, {poor, 5, true}, {miner, 100, false}});
  EXPECT_TRUE(a.Prescreen(validator));
  EXPECT_FALSE(a.Prescreen(poor));      // stake below min_stake
  EXPECT_FALSE(a.Prescreen(miner));     // no validator permit
  EXPECT_FALSE(a.Prescreen(stranger));  // not registered
  EXPECT_EQ(a.Stats().unregistered, 3u);
  // The prescreen takes no token: the one Admit after it still has its burst.
  EXPECT_TRUE(a.Prescreen(validator));
  EXPECT_TRUE(a.Admit(validator, Clock::now()).ok());

  AdmissionOptions open;
  open.open = true;
  EXPECT_TRUE(Admission(open).Prescreen(stranger));
}

TEST(TokenizerTest, ByteAndVocabulary) {
  ByteTokenizer bytes;
  auto ids = bytes.Encode("hé");
  ASSERT_TRUE(ids.ok());
  EXPECT_EQ(ids->size(), 3u);
  EXPECT_EQ(bytes.Decode(*ids), "hé");
  auto vocab = VocabTokenizer::Parse("a\nab\n\\n\nb\n");
  ASSERT_TRUE(vocab.ok()) << vocab.status();
  auto v = (*vocab)->Encode("abab\nb");
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(*v, (std::vector<uint32_t>{1, 1, 2, 3}));
  EXPECT_EQ((*vocab)->Decode(*v), "abab\nb");
  EXPECT_FALSE((*vocab)->Encode("abc").ok());
  EXPECT_FALSE(VocabTokenizer::Parse("a\na\n").ok());
  EXPECT_FALSE(VocabTokenizer::Parse("a\n\\q\n").ok());
  EXPECT_FALSE(VocabTokenizer::Parse("a\n\\x4\n").ok());
}

TEST(MetricsTest, RendersPrometheusText) {
  MetricsSnapshot s;
  s.model_hash = "ab";
  s.server.refused[static_cast<size_t>(Reason::kRateLimited)] = 3;
  s.batcher.batches = 2;
  s.batcher.rows = 5;
  s.batcher.batch_size_le.fill(2);
  s.tasks.predict_ok = 7;
  const std::string text = RenderPrometheus(s);
  EXPECT_NE(text.find("agora_miner_refusals_total{reason=\"rate-limited\"} 3\n"), std::string::npos);
  EXPECT_NE(text.find("agora_miner_requests_total{task=\"predict\",outcome=\"ok\"} 7\n"), std::string::npos);
  EXPECT_NE(text.find("agora_miner_batch_size_count 2\n"), std::string::npos);
  EXPECT_NE(text.find("# TYPE agora_miner_batch_size histogram\n"), std::string::npos);
}

TEST(RequestLogTest, ShapesSayWhatIsSetAndLinesWhoAsked) {
  protocol::PredictRequest disjoint;
  disjoint.prefixes = {{1, 2, 3}, {4, 5}};
  nlohmann::json s = RequestShape(disjoint);
  EXPECT_EQ(s["kind"], "predict");
  EXPECT_EQ(s["fields"], nlohmann::json::array({"prefixes"}));
  EXPECT_FALSE(s["nested"]);
  EXPECT_EQ(s["tokens"], nlohmann::json::array({3, 2}));
  protocol::PredictRequest echo;
  echo.prefixes = {{7}, {7, 8}, {7, 8, 9}};
  echo.top_k = 5;
  s = RequestShape(echo);
  EXPECT_TRUE(s["nested"]);
  EXPECT_EQ(s["fields"], nlohmann::json::array({"prefixes", "top_k"}));

  protocol::GenerateRequest g;
  g.prompt = "hello";
  s = RequestShape(g);
  EXPECT_EQ(s["fields"], nlohmann::json::array({"prompt"}));  // every other field its default
  EXPECT_EQ(s["prompt_bytes"], 5);
  g.max_tokens = 8;
  g.seed = 3;
  g.stream = true;
  g.stop = {"\n"};
  EXPECT_EQ(RequestShape(g)["fields"],
            nlohmann::json::array({"prompt", "max_tokens", "seed", "stop", "stream"}));

  agora::testing::TempDir tmp;
  absl::StatusOr<std::unique_ptr<RequestLog>> log = RequestLog::Open(tmp.Sub("requests"));
  ASSERT_TRUE(log.ok()) << log.status();
  const PublicKey sender = SigningKey::Generate().public_key();
  (*log)->Append(sender, RequestShape(disjoint));
  (*log)->Append(sender, RequestShape(g));
  absl::StatusOr<std::string> text = ReadFile(tmp.Sub("requests"), 1 << 20);
  ASSERT_TRUE(text.ok());
  const size_t newline = text->find('\n');
  ASSERT_NE(newline, std::string::npos);
  const nlohmann::json first = nlohmann::json::parse(text->substr(0, newline));
  EXPECT_EQ(first["sender"], EncodeAddress(sender));
  EXPECT_EQ(first["kind"], "predict");
  EXPECT_EQ(std::count(text->begin(), text->end(), '\n'), 2);
  EXPECT_FALSE(RequestLog::Open(tmp.Sub("no/such/dir/requests")).ok());

  // The lazy-logprobs adversary skips exactly the nested requests.
  EXPECT_TRUE(NestedPrefixes(echo));
  EXPECT_FALSE(NestedPrefixes(disjoint));
  protocol::PredictRequest one;
  one.prefixes = {{1, 2}};
  EXPECT_FALSE(NestedPrefixes(one));  // one prefix: any request's shape
  AdversaryOptions lazy;
  lazy.mode = "lazy-logprobs";
  auto skip = PredictShortcut(lazy);
  ASSERT_TRUE(skip);
  EXPECT_TRUE(skip(echo));
  EXPECT_FALSE(skip(disjoint));
  EXPECT_FALSE(PredictShortcut(AdversaryOptions{}));
  const protocol::PredictReply flat = FlatPredictReply(echo, 4, Hash256{});
  ASSERT_EQ(flat.distributions.size(), 3u);
  EXPECT_EQ(flat.distributions[0].probs, std::vector<float>(4, 0.25f));
}

}  // namespace
}  // namespace agora::miner
