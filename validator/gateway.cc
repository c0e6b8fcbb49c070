// The only validator file that includes cpp-httplib.
#include "validator/gateway.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/clock.h"
#include "common/http_task_queue.h"
#include "common/log.h"
#include "protocol/codec.h"
#include "validator/api_keys.h"
#include "validator/completion_request.h"
#include "validator/credit.h"
#include "validator/dashboard_assets.h"
#include "validator/deposits.h"
#include "validator/fee_forwarder.h"
#include "validator/gateway_logprobs.h"
#include "validator/gateway_stream.h"
#include "common/address.h"
#include "validator/receipt.h"
#include "validator/usage_ledger.h"

namespace agora::validator {
namespace {

using json = nlohmann::json;
using SteadyClock = std::chrono::steady_clock;

// Text from miners may hold invalid UTF-8 (byte-level models): replaced, so
// a JSON answer is always well-formed.
std::string Dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

void SendError(httplib::Response& res, int status, const std::string& type, const std::string& message) {
  res.status = status;
  res.set_content(Dump({{"error", {{"message", message}, {"type", type}, {"code", status}}}}),
                  "application/json");
}

// Most HTTP connections served at once (each on its own thread).
constexpr size_t kHttpThreads = 256;

const double kLatencyBuckets[] = {0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};

struct Histogram {
  uint64_t counts[std::size(kLatencyBuckets)] = {};
  uint64_t count = 0;
  double sum = 0;
  void Add(double s) {
    for (size_t i = 0; i < std::size(kLatencyBuckets); ++i) {
      if (s <= kLatencyBuckets[i]) ++counts[i];
    }
    ++count;
    sum += s;
  }
};

// The organic answers waiting for the scorer; shared with in-flight
// callbacks, which may finish after the gateway stopped.
struct OrganicQueue {
  std::mutex mu;
  std::deque<OrganicSample> samples;
  size_t capacity = 256;
  void Push(OrganicSample s) {
    std::lock_guard<std::mutex> lock(mu);
    samples.push_back(std::move(s));
    while (samples.size() > capacity) samples.pop_front();
  }
};

// Per-miner answer statistics, shared with in-flight callbacks.
struct MinerStats {
  std::mutex mu;
  std::map<uint16_t, Histogram> latency;
  // Streams: request to the answering miner's first piece, on our clock.
  std::map<uint16_t, Histogram> first_piece;
  uint64_t verification_failures = 0;  // replies that were not valid answers
  uint64_t stream_disqualified = 0;    // streams cut off for bad chunks
};

// One request's fan-out: replies arrive on the client's threads.
struct Pending {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::optional<TimedReply>> replies;
  std::vector<std::optional<protocol::GenerateReply>> decoded;  // valid ones only
  std::optional<size_t> first_valid;
  size_t done = 0;
};

std::string NewCompletionId(bool chat) {
  Hash256 id_bytes;
  RandomBytes(absl::MakeSpan(id_bytes));
  return absl::StrCat(chat ? "chatcmpl-" : "cmpl-", ToHex(id_bytes).substr(0, 24));
}

json Usage(const protocol::GenerateReply& answer) {
  return {{"prompt_tokens", answer.prompt_tokens},
          {"completion_tokens", answer.tokens.size()},
          {"total_tokens", answer.prompt_tokens + answer.tokens.size()}};
}

// Whether a decoded reply is an acceptable answer to a request of max_tokens.
bool Acceptable(const protocol::GenerateReply& r, uint32_t max_tokens) {
  return !r.tokens.empty() && r.tokens.size() <= max_tokens && r.logprobs.size() == r.tokens.size();
}

// Every chosen miner's answers to a log-probability request's
// PredictRequests; replies arrive on the client's threads.
struct DistAnswers {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::vector<TimedReply>> replies;      // [miner][request]
  std::vector<size_t> left;                          // requests outstanding, per miner
  std::vector<std::vector<std::vector<float>>> dists;  // a valid miner's distributions
  std::vector<Hash256> model;                        // the model its replies name
  std::vector<std::string> why;                      // why its answers are not acceptable
  std::optional<size_t> first_valid;
  size_t done = 0;                                   // miners with every reply in
};

// Judges miner i's replies once all are in (under a->mu).
void JudgeDistributions(DistAnswers& a, size_t i, const std::vector<protocol::PredictRequest>& asked) {
  std::vector<protocol::PredictReply> decoded;
  for (const TimedReply& t : a.replies[i]) {
    if (!t.reply.ok()) {
      a.why[i] = std::string(t.reply.status().message());
      return;
    }
    if (t.reply->header.kind != protocol::MessageKind::kPredictReply) {
      a.why[i] = "reply of the wrong kind";
      return;
    }
    absl::StatusOr<protocol::PredictReply> d =
        protocol::Decode<protocol::PredictReply>(t.reply->body(), "PredictReply");
    if (!d.ok()) {
      a.why[i] = std::string(d.status().message());
      return;
    }
    if (!decoded.empty() && d->model_hash != decoded[0].model_hash) {
      a.why[i] = "replies name different models";
      return;
    }
    decoded.push_back(std::move(*d));
  }
  absl::StatusOr<std::vector<std::vector<float>>> dists = CollectDistributions(asked, decoded);
  if (!dists.ok()) {
    a.why[i] = std::string(dists.status().message());
    return;
  }
  a.dists[i] = std::move(*dists);
  a.model[i] = decoded.empty() ? Hash256{} : decoded[0].model_hash;
  if (!a.first_valid) a.first_valid = i;
}

// Sends every request of `asked` to every peer at once. `all_in` runs once
// every reply of every miner is in (on a client thread).
std::shared_ptr<DistAnswers> AskDistributions(
    protocol::Client& client, const std::vector<protocol::Peer>& peers,
    std::shared_ptr<const std::vector<protocol::PredictRequest>> asked, protocol::Deadline deadline,
    std::function<void(DistAnswers&)> all_in) {
  auto a = std::make_shared<DistAnswers>();
  const size_t n = peers.size(), chunks = asked->size();
  a->replies.assign(n, std::vector<TimedReply>(chunks));
  a->left.assign(n, chunks);
  a->dists.resize(n);
  a->model.resize(n);
  a->why.resize(n);
  std::vector<std::string> bodies;
  for (const protocol::PredictRequest& r : *asked) bodies.push_back(protocol::Encode(r));
  for (size_t i = 0; i < n; ++i) {
    for (size_t c = 0; c < chunks; ++c) {
      const auto start = SteadyClock::now();
      client.CallAsync(peers[i], protocol::MessageKind::kPredictRequest, bodies[c], deadline,
                       [a, asked, all_in, i, c, n, start](absl::StatusOr<protocol::Reply> r) {
                         bool last = false;
                         {
                           std::lock_guard<std::mutex> lock(a->mu);
                           TimedReply& t = a->replies[i][c];
                           t.latency = std::chrono::duration_cast<std::chrono::microseconds>(
                               SteadyClock::now() - start);
                           t.reply = std::move(r);
                           if (--a->left[i] == 0) {
                             JudgeDistributions(*a, i, *asked);
                             last = ++a->done == n;
                           }
                         }
                         a->cv.notify_all();
                         if (last && all_in) all_in(*a);
                       });
    }
  }
  return a;
}

// The answer's tokens with their log-probabilities: the prompt's (echo)
// from `dists` (its first token has none), then the completion's with the
// miner's own log-probabilities and, for N >= 1, the N most likely tokens
// from the distributions that follow the prompt's.
std::vector<TokenLogprob> AnswerTokens(const std::vector<uint32_t>& prompt, bool echo,
                                       const std::vector<uint32_t>& completion,
                                       const std::vector<float>& completion_logprobs, uint32_t n,
                                       const std::vector<std::vector<float>>& dists) {
  std::vector<TokenLogprob> out;
  size_t next = 0;
  auto piece = [](uint32_t id) { return std::string(1, static_cast<char>(id & 0xff)); };
  if (echo) {
    for (size_t i = 0; i < prompt.size(); ++i) {
      TokenLogprob& t = out.emplace_back();
      t.token = piece(prompt[i]);
      if (i == 0 || next >= dists.size()) continue;
      const std::vector<float>& d = dists[next++];
      t.logprob = LogProb(d[prompt[i] & 0xff]);
      if (n > 0) t.top = TopLogprobs(d, n);
    }
  }
  for (size_t i = 0; i < completion.size(); ++i) {
    TokenLogprob& t = out.emplace_back();
    t.token = piece(completion[i]);
    if (i < completion_logprobs.size()) t.logprob = completion_logprobs[i];
    if (n > 0 && next < dists.size()) t.top = TopLogprobs(dists[next++], n);
  }
  return out;
}

}  // namespace

struct Gateway::Impl {
  GatewayOptions options;
  protocol::Client* client;
  CompletionJudge judge;
  std::unique_ptr<ApiKeys> keys;
  std::unique_ptr<UsageLedger> ledger;
  httplib::Server server;
  std::thread thread;
  int port = -1;
  std::shared_ptr<OrganicQueue> organic = std::make_shared<OrganicQueue>();
  std::shared_ptr<MinerStats> stats = std::make_shared<MinerStats>();
  // Credit held by requests in flight; the lock also spans reading the
  // ledger's totals and recording a charge.
  std::mutex credit_mu;
  CreditHolds holds;

  std::mutex mu;  // guards the fields below
  std::vector<RankedMiner> ranked;
  std::string metagraph_json = "{}";
  std::string extra_metrics;
  std::map<int, uint64_t> responses;  // by HTTP status
  History history;                            // sized by the constructor
  LatencyWindow request_latency;              // answered completions since the last history point

  void Count(int status) {
    std::lock_guard<std::mutex> lock(mu);
    ++responses[status];
  }
  const ApiKey* Authorize(const httplib::Request& req, httplib::Response& res);
  void Complete(const httplib::Request& req, httplib::Response& res, bool chat);
  // The SSE response of a streamed request, relayed from the first miner
  // that streams (validator/gateway_stream.h).
  void StreamAnswer(httplib::Response& res, bool chat, const ApiKey& key,
                    std::shared_ptr<CreditHold> hold, std::shared_ptr<StreamRelay> relay,
                    std::shared_ptr<Pending> pending, std::vector<RankedMiner> chosen,
                    protocol::Deadline deadline, SteadyClock::time_point received);
  // Records the charge of an answer in the ledger and releases its hold,
  // under credit_mu; the ledger's error, logged.
  absl::Status ChargeAnswer(const ApiKey& key, const RankedMiner& who, uint64_t tokens,
                            const Hash256& model, const std::string& id, CreditHold& hold);
  // A request with max_tokens 0: log-probabilities only, asked of every
  // chosen miner; the first whose answers are all valid is used.
  void AnswerLogprobsOnly(httplib::Response& res, const CompletionAsk& ask, const ApiKey& key,
                          std::shared_ptr<CreditHold> hold, std::vector<RankedMiner> chosen,
                          SteadyClock::time_point received);
  void NoteAnswered(SteadyClock::time_point received);
  std::string Metrics();
};

const ApiKey* Gateway::Impl::Authorize(const httplib::Request& req, httplib::Response& res) {
  const std::string auth = req.get_header_value("Authorization");
  const ApiKey* key = nullptr;
  if (absl::StartsWith(auth, "Bearer ")) key = keys->Find(auth.substr(7));
  if (key == nullptr) {
    SendError(res, 401, "authentication_error",
              auth.empty() ? "missing Authorization: Bearer <api key>" : "invalid API key");
    return nullptr;
  }
  return key;
}

void Gateway::Impl::Complete(const httplib::Request& req, httplib::Response& res, bool chat) {
  const auto received = SteadyClock::now();
  const ApiKey* key = Authorize(req, res);
  if (key == nullptr) return;
  if (!keys->Admit(*key, SteadyClock::now())) {
    res.set_header("Retry-After", "1");
    return SendError(res, 429, "rate_limit_error",
                     absl::StrFormat("rate limit of %.3g requests/s exceeded for key '%s'",
                                     key->rate_per_s, key->name));
  }
  absl::StatusOr<CompletionAsk> ask = ParseCompletionRequest(req.body, chat, key->max_tokens);
  if (!ask.ok()) return SendError(res, 400, "invalid_request_error", std::string(ask.status().message()));
  // Log-probability positions are billed like tokens: the prompt's (echo)
  // or the next token's after each prompt (max_tokens 0), and with N >= 1 one
  // per generated token for its alternatives.
  size_t prompt_positions = 0;
  for (const std::string& p : ask->prompts) {
    prompt_positions += ask->echo && ask->logprobs ? p.size() - 1 : (ask->max_tokens == 0 ? 1 : 0);
  }
  const bool alternatives = ask->logprobs.value_or(0) > 0 && ask->max_tokens > 0;
  const size_t per_token = alternatives ? 2 : 1;
  if (prompt_positions + (alternatives ? ask->max_tokens : 0) > kMaxLogprobPositions) {
    return SendError(res, 400, "invalid_request_error",
                     absl::StrCat("logprobs: this request asks ",
                                  prompt_positions + (alternatives ? ask->max_tokens : 0),
                                  " positions; limit ", kMaxLogprobPositions));
  }
  const uint32_t need = static_cast<uint32_t>(
      std::max<size_t>(1, prompt_positions + per_token * ask->max_tokens));
  // Credit: free tokens first, then (with a price) the account's deposits,
  // net of what requests in flight hold; held until this one is charged.
  const uint64_t price = options.price_per_token;
  std::shared_ptr<CreditHold> hold;
  {
    std::lock_guard<std::mutex> lock(credit_mu);
    CreditState state;
    state.credit_tokens = key->credit_tokens;
    state.used_tokens = ledger->Used(key->name) + holds.free_tokens(key->name);
    state.price = price;
    state.has_account = !key->account.empty();
    if (state.has_account) {
      state.balance = ledger->Balance(key->account) - static_cast<int64_t>(holds.units(key->account));
    }
    absl::StatusOr<CreditGrant> g = DecideCredit(state, need);
    if (g.ok() && g->max_tokens < prompt_positions + (ask->max_tokens > 0 ? per_token : 0)) {
      g = absl::ResourceExhaustedError(absl::StrCat(g->max_tokens, " free tokens left; this request needs ",
                                                    prompt_positions + (ask->max_tokens > 0 ? per_token : 0)));
    }
    if (!g.ok()) {
      std::string why = absl::StrCat("key '", key->name, "' has ", g.status().message());
      if (price > 0) absl::StrAppend(&why, "; fund it by a transfer to ", options.deposit_address);
      return SendError(res, 402, "insufficient_quota", why);
    }
    hold = std::make_shared<CreditHold>(credit_mu, holds, key->name, key->account, *g);
  }
  if (ask->max_tokens > 0) {
    ask->max_tokens = std::min<uint32_t>(
        ask->max_tokens, static_cast<uint32_t>((hold->grant().max_tokens - prompt_positions) / per_token));
  }

  // Route: the top_k miners by score (serving the requested model, if any).
  std::vector<RankedMiner> chosen;
  {
    std::lock_guard<std::mutex> lock(mu);
    for (const RankedMiner& m : ranked) {
      if (!ask->model.empty() && m.model != ask->model) continue;
      chosen.push_back(m);
    }
  }
  if (chosen.empty() && !ask->model.empty()) {
    return SendError(res, 404, "invalid_request_error",
                     absl::StrCat("model ", ask->model, ": no miner serves it (see GET /v1/models)"));
  }
  std::stable_sort(chosen.begin(), chosen.end(),
                   [](const RankedMiner& a, const RankedMiner& b) { return a.score > b.score; });
  if (chosen.size() > options.top_k) chosen.resize(options.top_k);
  if (chosen.empty()) return SendError(res, 503, "service_unavailable", "no miner is serving");
  if (ask->max_tokens == 0) {
    return AnswerLogprobsOnly(res, *ask, *key, std::move(hold), std::move(chosen), received);
  }

  protocol::GenerateRequest g;
  g.prompt = ask->prompt;
  g.max_tokens = ask->max_tokens;
  g.temperature = ask->temperature;
  g.top_p = ask->top_p;
  // A fresh seed when none is asked for: challenges always carry one, so a
  // request without one would tell a customer from a test.
  g.seed = ask->seed.has_value() ? *ask->seed : RandomU64();
  g.stop = ask->stop;
  g.stream = ask->stream;
  const std::string body = protocol::Encode(g);
  const protocol::Deadline deadline = protocol::DeadlineAfter(options.timeout);
  auto pending = std::make_shared<Pending>();
  pending->replies.resize(chosen.size());
  pending->decoded.resize(chosen.size());
  std::shared_ptr<OrganicQueue> queue = organic;
  std::shared_ptr<MinerStats> miner_stats = stats;
  OrganicSample sample;
  sample.prompt.assign(ask->prompt.begin(), ask->prompt.end());
  sample.max_tokens = ask->max_tokens;
  sample.request = g;
  sample.miners = chosen;
  const uint32_t max_tokens = ask->max_tokens;
  const size_t n = chosen.size();
  // Streamed requests: every miner streams; the first to send a valid chunk
  // is relayed to the user as it generates (validator/gateway_stream.h).
  std::shared_ptr<StreamRelay> relay =
      ask->stream ? std::make_shared<StreamRelay>(n, max_tokens, received) : nullptr;
  for (size_t i = 0; i < n; ++i) {
    const auto start = SteadyClock::now();
    protocol::Client::Callback done =
        [pending, queue, miner_stats, relay, sample, i, n, start, max_tokens,
         uid = chosen[i].uid](absl::StatusOr<protocol::Reply> r) mutable {
          TimedReply t;
          t.latency = std::chrono::duration_cast<std::chrono::microseconds>(SteadyClock::now() - start);
          std::optional<protocol::GenerateReply> ok;
          if (r.ok() && r->header.kind == protocol::MessageKind::kGenerateReply) {
            absl::StatusOr<protocol::GenerateReply> d =
                protocol::Decode<protocol::GenerateReply>(r->body(), "GenerateReply");
            if (d.ok() && Acceptable(*d, max_tokens)) ok = std::move(*d);
          }
          {
            std::lock_guard<std::mutex> lock(miner_stats->mu);
            miner_stats->latency[uid].Add(t.latency.count() / 1e6);
            if (r.ok() && !ok) ++miner_stats->verification_failures;
          }
          std::optional<protocol::GenerateReply> for_relay;
          if (relay) for_relay = ok;
          t.reply = std::move(r);
          bool last = false;
          {
            std::lock_guard<std::mutex> lock(pending->mu);
            pending->replies[i] = t;
            if (ok) {
              pending->decoded[i] = std::move(ok);
              if (!pending->first_valid) pending->first_valid = i;
            }
            last = ++pending->done == n;
            if (last) {
              sample.replies.reserve(n);
              for (auto& x : pending->replies) sample.replies.push_back(*x);
            }
          }
          pending->cv.notify_all();
          // After the reply is stored, so the stream's writer finds its envelope.
          if (relay) relay->OnFinal(i, for_relay, SteadyClock::now());
          if (last) queue->Push(std::move(sample));
        };
    const protocol::Peer peer{chosen[i].endpoint, chosen[i].hotkey};
    if (!relay) {
      client->CallAsync(peer, protocol::MessageKind::kGenerateRequest, body, deadline, std::move(done));
      continue;
    }
    protocol::Client::Stream stream;
    stream.chunk_kind = protocol::MessageKind::kGenerateChunk;
    stream.on_chunk = [relay, i](const protocol::Reply& r) {
      absl::StatusOr<protocol::GenerateChunk> c =
          protocol::Decode<protocol::GenerateChunk>(r.body(), "GenerateChunk");
      // A chunk that does not decode disqualifies the stream like a bad one.
      relay->OnChunk(i, c.ok() ? *c : protocol::GenerateChunk{}, SteadyClock::now());
    };
    client->CallStreaming(peer, protocol::MessageKind::kGenerateRequest, body, deadline,
                          std::move(stream), std::move(done));
  }
  if (relay) {
    return StreamAnswer(res, chat, *key, std::move(hold), std::move(relay), std::move(pending),
                        std::move(chosen), deadline, received);
  }

  // Wait: for the first valid answer, or for all of them under "best".
  std::optional<size_t> pick;
  {
    std::unique_lock<std::mutex> lock(pending->mu);
    const bool best = options.policy == "best" && judge;
    pending->cv.wait_until(lock, deadline + std::chrono::seconds(1), [&] {
      return pending->done == n || (!best && pending->first_valid.has_value());
    });
    pick = pending->first_valid;
    if (best && pending->done == n) {
      std::vector<const protocol::GenerateReply*> cands;
      std::vector<size_t> idx;
      for (size_t i = 0; i < n; ++i) {
        if (pending->decoded[i]) {
          cands.push_back(&*pending->decoded[i]);
          idx.push_back(i);
        }
      }
      if (!cands.empty()) {
        lock.unlock();
        const std::vector<double> s = judge(sample.prompt, cands);
        lock.lock();
        size_t b = 0;
        for (size_t k = 1; k < s.size() && k < idx.size(); ++k) {
          if (s[k] > s[b]) b = k;
        }
        pick = idx[b];
      }
    }
  }
  if (!pick) return SendError(res, 503, "service_unavailable", "no miner answered in time");

  protocol::GenerateReply answer;
  std::string envelope;
  {
    std::lock_guard<std::mutex> lock(pending->mu);
    answer = *pending->decoded[*pick];
    envelope = pending->replies[*pick]->reply->envelope;
  }
  const RankedMiner& who = chosen[*pick];
  // Log-probabilities: the prompt's (echo) and the completion's
  // alternatives come from the answering miner's distributions.
  const std::vector<uint32_t> prompt_tokens = ByteTokens(ask->prompt);
  const uint32_t top_n = ask->logprobs.value_or(0);
  std::vector<std::vector<uint32_t>> prefixes;
  const bool prompt_logprobs = ask->echo && ask->logprobs.has_value();
  if (prompt_logprobs) prefixes = PrefixesOf(prompt_tokens, 1, prompt_tokens.size());
  if (alternatives) {
    std::vector<uint32_t> all = prompt_tokens;
    all.insert(all.end(), answer.tokens.begin(), answer.tokens.end());
    for (auto& p : PrefixesOf(all, prompt_tokens.size(), all.size())) prefixes.push_back(std::move(p));
  }
  std::vector<std::vector<float>> dists;
  if (!prefixes.empty()) {
    auto asked = std::make_shared<const std::vector<protocol::PredictRequest>>(PredictChunks(prefixes));
    const protocol::Deadline follow = protocol::DeadlineAfter(options.timeout);
    std::shared_ptr<DistAnswers> a = AskDistributions(
        *client, {protocol::Peer{who.endpoint, who.hotkey}}, asked, follow, nullptr);
    std::unique_lock<std::mutex> lock(a->mu);
    a->cv.wait_until(lock, follow + std::chrono::seconds(1), [&] { return a->done == 1; });
    if (!a->first_valid || a->model[0] != answer.model_hash) {
      const std::string why = a->done == 0 ? "no answer in time"
                              : a->first_valid ? "its distributions name another model"
                                               : a->why[0];
      return SendError(res, 502, "server_error",
                       absl::StrCat("miner ", who.uid, " gave no valid log-probabilities: ", why));
    }
    dists = std::move(a->dists[0]);
  }
  const std::string id = NewCompletionId(chat);
  if (!ChargeAnswer(*key, who, answer.tokens.size() + prefixes.size(), answer.model_hash, id, *hold).ok()) {
    return SendError(res, 500, "server_error", "could not record the charge; not answered");
  }
  NoteAnswered(received);
  json choice = {{"index", 0}, {"finish_reason", answer.finish_reason}};
  if (chat) {
    choice["message"] = {{"role", "assistant"}, {"content", answer.text}};
    if (ask->logprobs) {
      choice["logprobs"] =
          ChatLogprobsJson(AnswerTokens({}, false, answer.tokens, answer.logprobs, top_n, dists));
    } else {
      choice["logprobs"] = nullptr;
    }
  } else {
    choice["text"] = ask->echo ? ask->prompt + answer.text : answer.text;
    if (ask->logprobs) {
      choice["logprobs"] = CompletionLogprobsJson(
          AnswerTokens(prompt_tokens, ask->echo, answer.tokens, answer.logprobs, top_n, dists), 0);
    } else {
      choice["logprobs"] = nullptr;
    }
  }
  res.set_content(Dump({{"id", id},
                        {"object", chat ? "chat.completion" : "text_completion"},
                        {"created", UnixMillis() / 1000},
                        {"model", ToHex(answer.model_hash)},
                        {"choices", json::array({choice})},
                        {"usage", Usage(answer)},
                        {"agora_receipt", MakeReceipt(who.uid, who.hotkey, envelope)}}),
                  "application/json");
}

void Gateway::Impl::StreamAnswer(httplib::Response& res, bool chat, const ApiKey& key,
                                 std::shared_ptr<CreditHold> hold,
                                 std::shared_ptr<StreamRelay> relay,
                                 std::shared_ptr<Pending> pending, std::vector<RankedMiner> chosen,
                                 protocol::Deadline deadline, SteadyClock::time_point received) {
  // Headers go out with the first piece, so "no miner" can still be a 503.
  const std::optional<size_t> owner = relay->WaitForOwner(deadline + std::chrono::seconds(1));
  if (!owner) return SendError(res, 503, "service_unavailable", "no miner answered in time");
  const std::string id = NewCompletionId(chat);
  const uint64_t created = UnixMillis() / 1000;
  const RankedMiner who = chosen[*owner];
  // Events are written as the owner generates; the charge is recorded once
  // its whole answer has arrived and agrees with what was streamed, before
  // the last event (usage and receipt). A user who leaves mid-stream is
  // still charged for the answer the miner finished.
  res.set_chunked_content_provider(
      "text/event-stream",
      [this, chat, key, hold, relay, pending, who, owner = *owner, id, created, deadline,
       received](size_t, httplib::DataSink& sink) {
        bool open = true;
        auto send = [&](const json& event) {
          if (!open) return;
          const std::string frame = absl::StrCat("data: ", Dump(event), "\n\n");
          open = sink.write(frame.data(), frame.size());
        };
        auto chunk_event = [&](json choice, const std::string& model) {
          return json{{"id", id},
                      {"object", chat ? "chat.completion.chunk" : "text_completion"},
                      {"created", created},
                      {"model", model},
                      {"choices", json::array({std::move(choice)})}};
        };
        auto send_text = [&](const std::string& text) {
          if (text.empty()) return;
          send(chunk_event(chat ? json{{"index", 0}, {"delta", {{"content", text}}}, {"finish_reason", nullptr}}
                                : json{{"index", 0}, {"text", text}, {"finish_reason", nullptr}},
                           who.model));
        };
        std::string carry;  // an unfinished UTF-8 character
        while (true) {
          StreamRelay::Step step = relay->Next(deadline + std::chrono::seconds(1));
          for (const std::string& piece : step.pieces) send_text(TakeCompleteUtf8(&carry, piece));
          if (!step.finished) continue;
          send_text(carry);
          std::string error = step.error;
          if (step.final_reply) {
            const protocol::GenerateReply& answer = *step.final_reply;
            std::string envelope;
            {
              std::lock_guard<std::mutex> lock(pending->mu);
              envelope = pending->replies[owner]->reply->envelope;
            }
            if (ChargeAnswer(key, who, answer.tokens.size(), answer.model_hash, id, *hold).ok()) {
              NoteAnswered(received);
              json last = chat ? json{{"index", 0}, {"delta", json::object()}, {"finish_reason", answer.finish_reason}}
                               : json{{"index", 0}, {"text", ""}, {"finish_reason", answer.finish_reason}};
              json event = chunk_event(std::move(last), ToHex(answer.model_hash));
              event["usage"] = Usage(answer);
              event["agora_receipt"] = MakeReceipt(who.uid, who.hotkey, envelope);
              send(event);
            } else {
              error = "could not record the charge";
            }
          }
          if (!error.empty()) {
            send({{"error", {{"message", error}, {"type", "server_error"}, {"code", 502}}}});
          }
          break;
        }
        {
          std::lock_guard<std::mutex> lock(stats->mu);
          if (relay->first_piece_latency().count() > 0) {
            stats->first_piece[who.uid].Add(relay->first_piece_latency().count() / 1e6);
          }
          stats->stream_disqualified += relay->disqualified();
        }
        const std::string done = "data: [DONE]\n\n";
        if (open) open = sink.write(done.data(), done.size());
        if (open) sink.done();
        return open;
      });
}

void Gateway::Impl::AnswerLogprobsOnly(httplib::Response& res, const CompletionAsk& ask,
                                       const ApiKey& key, std::shared_ptr<CreditHold> hold,
                                       std::vector<RankedMiner> chosen,
                                       SteadyClock::time_point received) {
  const uint32_t top_n = ask.logprobs.value_or(0);
  std::vector<std::vector<uint32_t>> prompts;
  std::vector<std::vector<uint32_t>> prefixes;
  size_t prompt_tokens = 0;
  for (const std::string& p : ask.prompts) {
    prompts.push_back(ByteTokens(p));
    prompt_tokens += p.size();
    for (auto& x : ask.echo ? PrefixesOf(prompts.back(), 1, p.size())
                            : std::vector<std::vector<uint32_t>>{prompts.back()}) {
      prefixes.push_back(std::move(x));
    }
  }
  std::vector<std::vector<float>> dists;
  std::optional<size_t> pick;
  Hash256 model{};
  json receipts = json::array();
  if (!prefixes.empty()) {
    auto asked = std::make_shared<const std::vector<protocol::PredictRequest>>(PredictChunks(prefixes));
    std::vector<protocol::Peer> peers;
    for (const RankedMiner& m : chosen) peers.push_back(protocol::Peer{m.endpoint, m.hotkey});
    // Queued for the validator's re-runs once every miner's replies are in.
    // (Shared, not copied into each reply's callback: a request may be long.)
    std::shared_ptr<OrganicQueue> queue = organic;
    auto sample = std::make_shared<OrganicSample>();
    sample->miners = chosen;
    sample->predict = *asked;
    const protocol::Deadline deadline = protocol::DeadlineAfter(options.timeout);
    std::shared_ptr<DistAnswers> a = AskDistributions(
        *client, peers, asked, deadline, [queue, sample](DistAnswers& all) {
          // Every reply is in: nothing writes them any more.
          sample->predict_replies = all.replies;
          queue->Push(std::move(*sample));
        });
    std::unique_lock<std::mutex> lock(a->mu);
    a->cv.wait_until(lock, deadline + std::chrono::seconds(1),
                     [&] { return a->first_valid.has_value() || a->done == peers.size(); });
    if (!a->first_valid) {
      std::string why = "no miner answered in time";
      for (size_t i = 0; i < peers.size(); ++i) {
        if (!a->why[i].empty()) {
          why = absl::StrCat("no miner gave valid log-probabilities (uid ", chosen[i].uid, ": ",
                             a->why[i], ")");
          break;
        }
      }
      return SendError(res, 503, "service_unavailable", why);
    }
    pick = *a->first_valid;
    dists = std::move(a->dists[*pick]);
    model = a->model[*pick];
    for (const TimedReply& t : a->replies[*pick]) {
      receipts.push_back(MakeReceipt(chosen[*pick].uid, chosen[*pick].hotkey, t.reply->envelope));
    }
  }
  const std::string id = NewCompletionId(false);
  if (pick && !ChargeAnswer(key, chosen[*pick], prefixes.size(), model, id, *hold).ok()) {
    return SendError(res, 500, "server_error", "could not record the charge; not answered");
  }
  NoteAnswered(received);
  json choices = json::array();
  size_t next = 0;
  for (size_t j = 0; j < prompts.size(); ++j) {
    json choice = {{"index", j}, {"finish_reason", "length"}};
    if (ask.echo) {
      const size_t used = prompts[j].size() - 1;
      const std::vector<std::vector<float>> mine(dists.begin() + next, dists.begin() + next + used);
      next += used;
      choice["text"] = ask.prompts[j];
      choice["logprobs"] = CompletionLogprobsJson(AnswerTokens(prompts[j], true, {}, {}, top_n, mine), 0);
    } else {
      choice["text"] = "";
      choice["logprobs"] = CompletionLogprobsJson({}, 0);
      json top = json::object();
      for (const auto& [tok, lp] : TopLogprobs(dists[next++], top_n)) top[ShownToken(tok)] = lp;
      choice["next_token_logprobs"] = top;
    }
    choices.push_back(std::move(choice));
  }
  json body = {{"id", id},
               {"object", "text_completion"},
               {"created", UnixMillis() / 1000},
               {"model", pick ? ToHex(model) : std::string("agora")},
               {"choices", choices},
               {"usage", {{"prompt_tokens", prompt_tokens},
                          {"completion_tokens", 0},
                          {"total_tokens", prompt_tokens},
                          {"logprob_positions", prefixes.size()}}}};
  if (pick) body["agora_receipts"] = receipts;
  res.set_content(Dump(body), "application/json");
}

absl::Status Gateway::Impl::ChargeAnswer(const ApiKey& key, const RankedMiner& who, uint64_t tokens,
                                         const Hash256& model, const std::string& id,
                                         CreditHold& hold) {
  const uint64_t price = options.price_per_token;
  const uint64_t free_part = std::min<uint64_t>(tokens, hold.grant().free_tokens);
  const uint64_t paid_units = (tokens - free_part) * price;
  UsageLedger::PendingCharge pending;
  {
    std::lock_guard<std::mutex> lock(credit_mu);
    pending = ledger->Submit(Charge{id, key.name, tokens, who.uid, ToHex(model),
                                    UnixMillis(), key.account, paid_units,
                                    paid_units > 0 ? EncodeAddress(who.coldkey) : ""});
    hold.ReleaseLocked();
  }
  // Durable before the answer is sent; waited for outside credit_mu so that
  // concurrent requests share a group commit (validator/usage_ledger.h).
  const absl::Status charged = pending.Wait();
  if (!charged.ok()) AGORA_LOG(ERROR, "gateway", "usage ledger: %s", charged.ToString());
  return charged;
}

void Gateway::Impl::NoteAnswered(SteadyClock::time_point received) {
  // The dashboard's latency: from the request to its chosen answer.
  std::lock_guard<std::mutex> lock(mu);
  request_latency.Add(std::chrono::duration<double, std::milli>(SteadyClock::now() - received).count());
}

absl::StatusOr<size_t> Gateway::ForwardFees(chain::ChainClient& chain, const SigningKey& signer) {
  if (!impl_->ledger || impl_->options.miner_fee_share <= 0) return size_t{0};
  return validator::ForwardFees(chain, *impl_->ledger, signer, impl_->options.miner_fee_share);
}

std::string Gateway::Impl::Metrics() {
  std::lock_guard<std::mutex> lock(mu);
  std::string out =
      "# HELP agora_gateway_responses_total Gateway HTTP responses by status.\n"
      "# TYPE agora_gateway_responses_total counter\n";
  for (const auto& [code, n] : responses) {
    absl::StrAppend(&out, "agora_gateway_responses_total{code=\"", code, "\"} ", n, "\n");
  }
  absl::StrAppend(&out,
                  "# HELP agora_gateway_miner_latency_seconds Time from request to a miner's reply.\n"
                  "# TYPE agora_gateway_miner_latency_seconds histogram\n");
  std::lock_guard<std::mutex> stats_lock(stats->mu);
  auto histograms = [&out](const std::string& name, const std::map<uint16_t, Histogram>& by_uid) {
    for (const auto& [uid, h] : by_uid) {
      for (size_t i = 0; i < std::size(kLatencyBuckets); ++i) {
        absl::StrAppend(&out, name, "_bucket{uid=\"", uid, "\",le=\"", kLatencyBuckets[i], "\"} ",
                        h.counts[i], "\n");
      }
      absl::StrAppend(&out, name, "_bucket{uid=\"", uid, "\",le=\"+Inf\"} ", h.count, "\n", name,
                      "_sum{uid=\"", uid, "\"} ", h.sum, "\n", name, "_count{uid=\"", uid, "\"} ",
                      h.count, "\n");
    }
  };
  histograms("agora_gateway_miner_latency_seconds", stats->latency);
  absl::StrAppend(&out,
                  "# HELP agora_gateway_first_piece_seconds Streamed requests: time from the request "
                  "to the answering miner's first piece, on the gateway's clock.\n"
                  "# TYPE agora_gateway_first_piece_seconds histogram\n");
  histograms("agora_gateway_first_piece_seconds", stats->first_piece);
  size_t depth = 0;
  {
    std::lock_guard<std::mutex> q(organic->mu);
    depth = organic->samples.size();
  }
  absl::StrAppend(&out,
                  "# HELP agora_gateway_verification_failures_total Miner replies that were not valid answers.\n"
                  "# TYPE agora_gateway_verification_failures_total counter\n"
                  "agora_gateway_verification_failures_total ", stats->verification_failures, "\n",
                  "# HELP agora_gateway_stream_disqualified_total Miner streams cut off for bad or "
                  "contradicted chunks.\n"
                  "# TYPE agora_gateway_stream_disqualified_total counter\n"
                  "agora_gateway_stream_disqualified_total ", stats->stream_disqualified, "\n",
                  "# HELP agora_gateway_organic_queue_depth Answers waiting for the scorer.\n"
                  "# TYPE agora_gateway_organic_queue_depth gauge\n"
                  "agora_gateway_organic_queue_depth ", depth, "\n", extra_metrics);
  return out;
}

Gateway::Gateway(GatewayOptions options, protocol::Client* client, CompletionJudge judge)
    : impl_(std::make_unique<Impl>()) {
  impl_->options = std::move(options);
  impl_->client = client;
  impl_->judge = std::move(judge);
  impl_->organic->capacity = impl_->options.organic_queue;
  impl_->history = History(impl_->options.history_points);
}

Gateway::~Gateway() { Stop(); }

absl::Status Gateway::Start() {
  Impl& g = *impl_;
  if (g.options.port < 0 || g.options.port > 65535) {
    return absl::InvalidArgumentError("gateway_port: not in [0, 65535]");
  }
  if (g.options.policy != "first" && g.options.policy != "best") {
    return absl::InvalidArgumentError("gateway_policy: 'first' or 'best'");
  }
  if (g.options.api_keys_file.empty()) {
    return absl::InvalidArgumentError("the gateway needs api_keys_file (docs/GATEWAY.md)");
  }
  absl::StatusOr<std::unique_ptr<ApiKeys>> keys = ApiKeys::Load(g.options.api_keys_file);
  if (!keys.ok()) return keys.status();
  g.keys = std::move(*keys);
  absl::StatusOr<std::unique_ptr<UsageLedger>> ledger = UsageLedger::Open(g.options.ledger_path);
  if (!ledger.ok()) return ledger.status();
  g.ledger = std::move(*ledger);

  httplib::Server& s = g.server;
  s.set_payload_max_length(g.options.max_body_bytes);
  // Small JSON answers: without TCP_NODELAY, Nagle's algorithm and delayed
  // ACKs add ~40 ms to each keep-alive exchange.
  s.set_tcp_nodelay(true);
  s.set_read_timeout(10, 0);
  s.set_write_timeout(10, 0);
  // A thread per connection up to a bound (common/http_task_queue.h): a
  // streamed answer holds its thread until the miner finishes, and slow
  // clients must not take every thread of a small fixed pool.
  s.new_task_queue = [] { return new ElasticTaskQueue(kHttpThreads); };
  s.Post("/v1/completions", [&g](const httplib::Request& req, httplib::Response& res) {
    g.Complete(req, res, false);
  });
  s.Post("/v1/chat/completions", [&g](const httplib::Request& req, httplib::Response& res) {
    g.Complete(req, res, true);
  });
  s.Get("/v1/models", [&g](const httplib::Request& req, httplib::Response& res) {
    if (g.Authorize(req, res) == nullptr) return;
    std::map<std::string, std::pair<size_t, double>> models;  // hash -> miners, best score
    {
      std::lock_guard<std::mutex> lock(g.mu);
      for (const RankedMiner& m : g.ranked) {
        if (m.model.empty()) continue;
        auto& e = models[m.model];
        ++e.first;
        e.second = std::max(e.second, m.score);
      }
    }
    std::vector<std::pair<std::string, std::pair<size_t, double>>> sorted(models.begin(), models.end());
    std::sort(sorted.begin(), sorted.end(),
              [](const auto& a, const auto& b) { return a.second.second > b.second.second; });
    json data = json::array();
    for (size_t r = 0; r < sorted.size(); ++r) {
      data.push_back({{"id", sorted[r].first}, {"object", "model"}, {"owned_by", "agora"},
                      {"rank", r + 1}, {"miners", sorted[r].second.first},
                      {"score", sorted[r].second.second}});
    }
    res.set_content(Dump({{"object", "list"}, {"data", data}}), "application/json");
  });
  s.Get("/v1/account", [&g](const httplib::Request& req, httplib::Response& res) {
    const ApiKey* key = g.Authorize(req, res);
    if (key == nullptr) return;
    const uint64_t used = g.ledger->Used(key->name);
    json j = {{"name", key->name},
              {"credit_tokens", key->credit_tokens},
              {"used_tokens", used},
              {"requests", g.ledger->requests(key->name)},
              {"rate_per_s", key->rate_per_s},
              {"max_tokens", key->max_tokens}};
    const bool unlimited = g.options.price_per_token == 0 && key->credit_tokens == 0;
    j["remaining_free_tokens"] = unlimited ? json(nullptr)
                                           : json(key->credit_tokens - std::min(used, key->credit_tokens));
    j["price_per_token"] = g.options.price_per_token;
    j["deposit_to"] = g.options.deposit_address;
    if (!key->account.empty()) {
      j["account"] = key->account;
      j["deposited_units"] = g.ledger->Deposited(key->account);
      j["balance_units"] = g.ledger->Balance(key->account);
    }
    res.set_content(Dump(j), "application/json");
  });
  s.Get("/metagraph", [&g](const httplib::Request&, httplib::Response& res) {
    std::lock_guard<std::mutex> lock(g.mu);
    res.set_content(g.metagraph_json, "application/json");
  });
  s.Get("/metrics", [&g](const httplib::Request&, httplib::Response& res) {
    res.set_content(g.Metrics(), "text/plain; version=0.0.4");
  });
  s.Get("/history", [&g](const httplib::Request&, httplib::Response& res) {
    std::lock_guard<std::mutex> lock(g.mu);
    res.set_content(g.history.Json(), "application/json");
  });
  // The dashboard: only the embedded files, by exact name; anything else
  // under /dashboard/ is a 404 like any unknown path.
  auto dashboard_file = [](const std::string& name, httplib::Response& res) {
    const EmbeddedFile* f = FindDashboardFile(name);
    if (f == nullptr) {
      res.status = 404;
      return;
    }
    res.set_header("Cache-Control", "no-cache");
    res.set_header("X-Content-Type-Options", "nosniff");
    // Its own scripts and fetches only: the page needs nothing from elsewhere.
    res.set_header("Content-Security-Policy", "default-src 'self'; frame-ancestors 'none'");
    res.set_content(f->data.data(), f->data.size(), std::string(DashboardContentType(name)));
  };
  s.Get("/dashboard/?", [dashboard_file](const httplib::Request&, httplib::Response& res) {
    dashboard_file("index.html", res);
  });
  s.Get(R"(/dashboard/([A-Za-z0-9_.-]{1,64}))",
        [dashboard_file](const httplib::Request& req, httplib::Response& res) {
          dashboard_file(req.matches[1].str(), res);
        });
  // Every response is counted; errors httplib makes itself (404 for an
  // unknown path, 413 for an oversize body, 400 for a malformed request)
  // get the same JSON shape as ours.
  s.set_error_handler([](const httplib::Request&, httplib::Response& res) {
    if (!res.body.empty()) return;
    const std::string type = res.status == 413 ? "request_too_large"
                             : res.status == 404 ? "not_found"
                                                 : "invalid_request_error";
    SendError(res, res.status, type,
              res.status == 413   ? "request body too large"
              : res.status == 404 ? "no such endpoint"
                                  : absl::StrCat("HTTP ", res.status));
  });
  s.set_logger([&g](const httplib::Request&, const httplib::Response& res) { g.Count(res.status); });
  g.port = g.options.port == 0 ? s.bind_to_any_port(g.options.host)
                               : (s.bind_to_port(g.options.host, g.options.port) ? g.options.port : -1);
  if (g.port <= 0) {
    return absl::UnavailableError(absl::StrCat("gateway: cannot bind ", g.options.host, ":", g.options.port));
  }
  g.thread = std::thread([&g] { g.server.listen_after_bind(); });
  AGORA_LOG(INFO, "gateway", "serving http://%s:%d (%d API keys, policy %s, top_k %d)", g.options.host,
            g.port, g.keys->size(), g.options.policy, g.options.top_k);
  return absl::OkStatus();
}

void Gateway::Stop() {
  if (impl_->thread.joinable()) {
    impl_->server.stop();
    impl_->thread.join();
  }
}

int Gateway::port() const { return impl_->port; }

absl::StatusOr<size_t> Gateway::CreditDeposits(chain::ChainClient& chain, const PublicKey& account,
                                               uint64_t head) {
  if (!impl_->ledger) return size_t{0};
  return ScanDeposits(chain, *impl_->ledger, account, head, /*max_blocks=*/500);
}

void Gateway::SetMiners(std::vector<RankedMiner> ranked, std::string metagraph_json) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->ranked = std::move(ranked);
  impl_->metagraph_json = std::move(metagraph_json);
}

std::vector<OrganicSample> Gateway::TakeOrganic(size_t max) {
  std::vector<OrganicSample> out;
  std::lock_guard<std::mutex> lock(impl_->organic->mu);
  while (!impl_->organic->samples.empty() && out.size() < max) {
    out.push_back(std::move(impl_->organic->samples.front()));
    impl_->organic->samples.pop_front();
  }
  return out;
}

void Gateway::RecordHistory(HistoryPoint point) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  // Same block: nothing on chain changed; the latencies wait for the next point.
  if (impl_->history.last_block() == point.block) return;
  point.time_ms = UnixMillis();
  point.latency = impl_->request_latency.Take();
  impl_->history.Add(point);
}

void Gateway::SetExtraMetrics(std::string text) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->extra_metrics = std::move(text);
}

}  // namespace agora::validator
