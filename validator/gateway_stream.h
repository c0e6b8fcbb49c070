// The live stream of one gateway request with "stream": true. The request goes
// to several miners at once, each asked to stream (GenerateRequest.stream);
// their chunks and final replies arrive on the client's threads. The first
// miner whose first valid chunk arrives owns the stream: its pieces go to
// the user as they come, the others' chunks are only counted (their final
// replies are still scored). A miner that answers without streaming (an
// older miner, or one whose chunks could not be sent) can own the stream
// with its final reply when nobody streamed first; its whole text is then
// one piece.
//
// Chunks are hostile input: a chunk out of order, with no tokens, with
// tokens and log-probabilities of different lengths, or past max_tokens
// disqualifies that miner's stream. The owner's final reply must agree with
// what it streamed (same tokens, log-probabilities and text so far); if it
// does not, or never comes, the stream ends with an error and is not
// charged. Arrival times are taken here, on the gateway's clock, so a miner
// that buffers its tokens shows a late first chunk whatever it reports.
//
// Thread-safety: every method may be called from any thread.
#ifndef AGORA_VALIDATOR_GATEWAY_STREAM_H_
#define AGORA_VALIDATOR_GATEWAY_STREAM_H_

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "protocol/task_messages.h"

namespace agora::validator {

// Streams of byte-level tokens may split a UTF-8 character across pieces;
// sent alone, each part would show as U+FFFD. Appends `piece` to `*carry`
// and returns what can be sent now: all of it but an incomplete UTF-8
// sequence at the end, which stays in `*carry` for the next piece (or the
// final flush). Bytes that are not UTF-8 at all are passed on as they are.
std::string TakeCompleteUtf8(std::string* carry, const std::string& piece);

class StreamRelay {
 public:
  using Clock = std::chrono::steady_clock;

  StreamRelay(size_t miners, uint32_t max_tokens, Clock::time_point started);

  // A chunk from miner `i`, received at `at`.
  void OnChunk(size_t i, const protocol::GenerateChunk& chunk, Clock::time_point at);
  // Miner `i`'s call ended: its valid final reply, or nullopt (failed,
  // refused, invalid). Called once per miner.
  void OnFinal(size_t i, const std::optional<protocol::GenerateReply>& reply,
               Clock::time_point at);

  // Blocks until the stream has an owner, every miner has ended, or
  // `deadline`; returns the owner, if any.
  std::optional<size_t> WaitForOwner(Clock::time_point deadline);

  // What the writer does next with the owner's stream.
  struct Step {
    std::vector<std::string> pieces;  // text to send now, in order
    bool finished = false;            // nothing follows; see final/error
    // Set when finished well: the owner's whole, verified reply.
    std::optional<protocol::GenerateReply> final_reply;
    std::string error;                // set when finished badly
  };
  // Blocks until the owner has more text, its stream ended, or `deadline`
  // (which ends it with an error). Requires: WaitForOwner returned a value.
  Step Next(Clock::time_point deadline);

  // Time from `started` to the owner's first piece, and the longest gap
  // between two of its pieces; zero before there are any.
  std::chrono::microseconds first_piece_latency() const;
  std::chrono::microseconds longest_gap() const;
  // Miners whose stream was disqualified (bad chunks or a final reply that
  // contradicts their chunks).
  size_t disqualified() const;

 private:
  struct Miner {
    uint32_t next_index = 0;
    bool bad = false;
    bool ended = false;
    std::vector<uint32_t> tokens;  // streamed so far
    std::vector<float> logprobs;
    std::string text;
    std::optional<protocol::GenerateReply> final_reply;
  };
  // The final reply agrees with what miner `m` streamed.
  static bool Agrees(const Miner& m, const protocol::GenerateReply& r);
  void Disqualify(Miner& m);
  void NotePiece(Clock::time_point at);

  const uint32_t max_tokens_;
  const Clock::time_point started_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Miner> miners_;
  size_t ended_ = 0;
  std::optional<size_t> owner_;
  bool owner_by_final_ = false;  // the owner did not stream: one piece from its final
  std::vector<std::string> queued_;  // the owner's pieces not yet taken
  size_t disqualified_ = 0;
  std::optional<Clock::time_point> first_piece_;
  Clock::time_point last_piece_{};
  Clock::duration longest_gap_{};
};

}  // namespace agora::validator

#endif  // AGORA_VALIDATOR_GATEWAY_STREAM_H_
