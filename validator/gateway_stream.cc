#include "validator/gateway_stream.h"

#include <algorithm>
#include <cmath>
#include <utility>

namespace agora::validator {

std::string TakeCompleteUtf8(std::string* carry, const std::string& piece) {
  *carry += piece;
  const std::string& b = *carry;
  // The last lead byte among the final three: does its sequence fit?
  size_t keep = b.size();
  for (size_t back = 1; back <= std::min<size_t>(3, b.size()); ++back) {
    const auto c = static_cast<unsigned char>(b[b.size() - back]);
    if ((c & 0xC0) == 0x80) continue;  // a continuation byte: look further back
    const size_t need = (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 1;
    if (need > back) keep = b.size() - back;
    break;
  }
  std::string ready = carry->substr(0, keep);
  carry->erase(0, keep);
  return ready;
}

StreamRelay::StreamRelay(size_t miners, uint32_t max_tokens, Clock::time_point started)
    : max_tokens_(max_tokens), started_(started), miners_(miners) {}

bool StreamRelay::Agrees(const Miner& m, const protocol::GenerateReply& r) {
  return r.tokens.size() >= m.tokens.size() &&
         std::equal(m.tokens.begin(), m.tokens.end(), r.tokens.begin()) &&
         r.logprobs.size() >= m.logprobs.size() &&
         std::equal(m.logprobs.begin(), m.logprobs.end(), r.logprobs.begin()) &&
         r.text.compare(0, m.text.size(), m.text) == 0;
}

void StreamRelay::Disqualify(Miner& m) {
  if (m.bad) return;
  m.bad = true;
  m.final_reply.reset();
  ++disqualified_;
}

void StreamRelay::NotePiece(Clock::time_point at) {
  if (!first_piece_) {
    first_piece_ = at;
  } else {
    longest_gap_ = std::max(longest_gap_, at - last_piece_);
  }
  last_piece_ = at;
}

void StreamRelay::OnChunk(size_t i, const protocol::GenerateChunk& c, Clock::time_point at) {
  std::lock_guard<std::mutex> lock(mu_);
  if (i >= miners_.size()) return;
  Miner& m = miners_[i];
  if (m.bad || m.ended) return;
  bool valid = c.index == m.next_index && !c.tokens.empty() &&
               c.tokens.size() == c.logprobs.size() &&
               m.tokens.size() + c.tokens.size() <= max_tokens_;
  for (float lp : c.logprobs) valid = valid && std::isfinite(lp) && lp <= 0.0f;
  if (!valid) {
    Disqualify(m);
    cv_.notify_all();
    return;
  }
  ++m.next_index;
  m.tokens.insert(m.tokens.end(), c.tokens.begin(), c.tokens.end());
  m.logprobs.insert(m.logprobs.end(), c.logprobs.begin(), c.logprobs.end());
  m.text += c.text;
  if (!owner_) owner_ = i;
  if (*owner_ == i) {
    queued_.push_back(c.text);
    NotePiece(at);
  }
  cv_.notify_all();
}

void StreamRelay::OnFinal(size_t i, const std::optional<protocol::GenerateReply>& reply,
                          Clock::time_point at) {
  std::lock_guard<std::mutex> lock(mu_);
  if (i >= miners_.size() || miners_[i].ended) return;
  Miner& m = miners_[i];
  m.ended = true;
  ++ended_;
  if (reply && !m.bad) {
    if (Agrees(m, *reply)) {
      m.final_reply = reply;
    } else {
      Disqualify(m);
    }
  }
  if (!owner_ && m.final_reply) {
    owner_ = i;
    owner_by_final_ = true;
    queued_.push_back(m.final_reply->text);
    NotePiece(at);
  } else if (owner_ && *owner_ == i && m.final_reply && !owner_by_final_ &&
             m.final_reply->text.size() > m.text.size()) {
    // Tokens it generated without streaming them (its chunks stopped).
    queued_.push_back(m.final_reply->text.substr(m.text.size()));
    NotePiece(at);
  }
  cv_.notify_all();
}

std::optional<size_t> StreamRelay::WaitForOwner(Clock::time_point deadline) {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait_until(lock, deadline, [&] { return owner_.has_value() || ended_ == miners_.size(); });
  return owner_;
}

StreamRelay::Step StreamRelay::Next(Clock::time_point deadline) {
  std::unique_lock<std::mutex> lock(mu_);
  Step step;
  if (!owner_) {
    step.finished = true;
    step.error = "no miner answered";
    return step;
  }
  const Miner& o = miners_[*owner_];
  cv_.wait_until(lock, deadline, [&] { return !queued_.empty() || o.ended || o.bad; });
  step.pieces.swap(queued_);
  if (o.bad) {
    step.finished = true;
    step.error = "the answering miner's stream broke the protocol or contradicted its answer";
  } else if (o.ended) {
    step.finished = true;
    if (o.final_reply) {
      step.final_reply = o.final_reply;
    } else {
      step.error = "the answering miner did not finish its answer";
    }
  } else if (step.pieces.empty()) {  // the deadline passed
    step.finished = true;
    step.error = "the answering miner did not finish its answer in time";
  }
  return step;
}

std::chrono::microseconds StreamRelay::first_piece_latency() const {
  std::lock_guard<std::mutex> lock(mu_);
  if (!first_piece_) return std::chrono::microseconds(0);
  return std::chrono::duration_cast<std::chrono::microseconds>(*first_piece_ - started_);
}

std::chrono::microseconds StreamRelay::longest_gap() const {
  std::lock_guard<std::mutex> lock(mu_);
  return std::chrono::duration_cast<std::chrono::microseconds>(longest_gap_);
}

size_t StreamRelay::disqualified() const {
  std::lock_guard<std::mutex> lock(mu_);
  return disqualified_;
}

}  // namespace agora::validator
