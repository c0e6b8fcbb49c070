// Fuzz target: the gateway's stream relay (validator/gateway_stream.h) under
// arbitrary sequences of chunks and final replies from three miners, as
// hostile miners could send them, and the UTF-8 hold-back of streamed text.
// Invariants: nothing blocks once every miner has ended; a stream that ends
// with an answer delivered exactly that answer's text; held-back text is
// never lost or reordered.
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "validator/gateway_stream.h"

namespace {

using agora::validator::StreamRelay;

class Input {
 public:
  Input(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  bool empty() const { return pos_ >= size_; }
  uint8_t Byte() { return pos_ < size_ ? data_[pos_++] : 0; }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
};

float LogProb(uint8_t b) {
  switch (b % 5) {
    case 0: return -1.0f;
    case 1: return std::numeric_limits<float>::quiet_NaN();
    case 2: return 0.5f;
    case 3: return -std::numeric_limits<float>::infinity();
    default: return -0.25f;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 4096) return 0;
  constexpr size_t kMiners = 3;
  Input in(data, size);
  const uint32_t max_tokens = 1 + in.Byte() % 16;
  const auto t0 = StreamRelay::Clock::now();
  StreamRelay relay(kMiners, max_tokens, t0);
  // What each miner streamed, so that some final replies agree with it.
  std::vector<agora::protocol::GenerateReply> sent(kMiners);
  std::vector<bool> ended(kMiners, false);
  std::string all_text_in, all_text_out, carry;
  while (!in.empty()) {
    const uint8_t op = in.Byte();
    const size_t miner = op % kMiners;
    if ((op / kMiners) % 4 != 3) {
      agora::protocol::GenerateChunk c;
      c.index = in.Byte() % 8;
      const size_t n = in.Byte() % 4;
      for (size_t k = 0; k < n; ++k) c.tokens.push_back(in.Byte());
      const size_t nl = (in.Byte() % 3 == 0) ? n + 1 : n;
      for (size_t k = 0; k < nl; ++k) c.logprobs.push_back(LogProb(in.Byte()));
      const size_t len = in.Byte() % 6;
      for (size_t k = 0; k < len; ++k) c.text.push_back(static_cast<char>(in.Byte()));
      relay.OnChunk(miner, c, t0 + std::chrono::microseconds(in.Byte()));
      sent[miner].tokens.insert(sent[miner].tokens.end(), c.tokens.begin(), c.tokens.end());
      sent[miner].logprobs.insert(sent[miner].logprobs.end(), c.logprobs.begin(), c.logprobs.end());
      sent[miner].text += c.text;
      all_text_in += c.text;
      all_text_out += agora::validator::TakeCompleteUtf8(&carry, c.text);
    } else if (!ended[miner]) {
      std::optional<agora::protocol::GenerateReply> final_reply;
      const uint8_t kind = in.Byte() % 3;
      if (kind == 1) {
        final_reply = sent[miner];  // agrees with the stream (if it was valid)
        final_reply->tokens.push_back(in.Byte());
        final_reply->logprobs.push_back(-1.0f);
        final_reply->text.push_back(static_cast<char>(in.Byte()));
      } else if (kind == 2) {
        final_reply.emplace();
        final_reply->tokens = {in.Byte()};
        final_reply->logprobs = {-1.0f};
        final_reply->text.push_back('z');  // (= "z" trips a GCC 12 -Wrestrict false positive)
      }
      relay.OnFinal(miner, final_reply, t0);
      ended[miner] = true;
    }
  }
  if ((all_text_out + carry) != all_text_in) std::abort();
  for (size_t m = 0; m < kMiners; ++m) {
    if (!ended[m]) relay.OnFinal(m, std::nullopt, t0);
  }
  // Every miner has ended: nothing below may wait for the deadline.
  const auto far = StreamRelay::Clock::now() + std::chrono::hours(1);
  const std::optional<size_t> owner = relay.WaitForOwner(far);
  if (!owner) return 0;
  std::string delivered;
  for (int steps = 0;; ++steps) {
    if (steps > 1000) std::abort();
    StreamRelay::Step step = relay.Next(far);
    for (const std::string& p : step.pieces) delivered += p;
    if (!step.finished) continue;
    if (step.final_reply.has_value() == !step.error.empty()) std::abort();
    if (step.final_reply && delivered != step.final_reply->text) std::abort();
    break;
  }
  return 0;
}
