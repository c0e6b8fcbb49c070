// The gateway: end users query the best miners through the validator, over
// HTTP in the OpenAI style (docs/GATEWAY.md). Served by agora-validator when
// gateway_port is set; the validator loop tells it the current ranking
// (SetMiners) and scores the answers it collects (TakeOrganic).
//
//   POST /v1/completions        {"prompt", "max_tokens", "temperature", "top_p",
//                                "stop", "stream", "seed", "model", "logprobs", "echo"}
//   POST /v1/chat/completions   {"messages": [{"role", "content"}], ...}
//   GET  /v1/models             the models miners serve, by hash and rank
//   GET  /v1/account            the caller's credit and use
//   GET  /metagraph             the validator's view of the subnet (JSON)
//   GET  /metrics               Prometheus text
//   GET  /history               metagraph snapshots and request latency over
//                               time (validator/gateway_history.h)
//   GET  /dashboard             a page of the above: table and charts
//                               (validator/dashboard/, embedded)
//
// Every request but /metrics, /metagraph, /history and /dashboard needs
// "Authorization: Bearer <key>" (validator/api_keys.h). Errors are JSON {"error": {"message",
// "type", "code"}} with 400, 401, 402 (credit used up, deposits spent), 404, 413, 429, 503
// (no miner answered). Each answer carries a receipt signed by the miner
// (validator/receipt.h) and is charged in the durable usage ledger before
// it is sent (validator/usage_ledger.h).
//
// Routing: the request goes to the top_k miners by the validator's moving
// average at once; policy "first" answers with the first valid reply,
// "best" waits for all (until the deadline) and answers with the one the
// judge scores highest. With "stream": true every miner is asked to stream
// and the first to send a valid chunk is relayed as server-sent events while
// it generates (validator/gateway_stream.h). Log-probabilities are asked
// with PredictRequests (validator/gateway_logprobs.h): of every chosen miner
// for max_tokens 0 (the first whose answers are all valid is used), of the
// answering miner for a completion's. Every answer is queued for the scorer.
//
// Thread-safety: all public methods may be called from any thread.
#ifndef AGORA_VALIDATOR_GATEWAY_H_
#define AGORA_VALIDATOR_GATEWAY_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "chain/client.h"
#include "common/crypto.h"
#include "protocol/task_messages.h"
#include "protocol/zmq_client.h"
#include "validator/fan_out.h"
#include "validator/gateway_history.h"

namespace agora::validator {

struct GatewayOptions {
  std::string host = "127.0.0.1";
  int port = -1;                  // -1: no gateway; 0: any free port
  std::string api_keys_file;      // required when port >= 0
  std::string ledger_path;        // the usage ledger (SQLite)
  size_t top_k = 3;               // miners asked per request
  std::string policy = "first";   // "first" or "best"
  size_t max_body_bytes = 64 * 1024;
  std::chrono::milliseconds timeout{10'000};
  size_t organic_queue = 256;     // answers waiting for the scorer; the oldest are dropped
  // Paid use: tokens beyond a key's free credit cost this many base units
  // each, paid from its account's transfers to deposit_address. 0: free.
  uint64_t price_per_token = 0;
  std::string deposit_address;    // set by the validator: its hotkey's address
  double miner_fee_share = 0.5;   // share of paid units forwarded to the answering miner's coldkey
  size_t history_points = 300;    // points kept for GET /history (one per block the validator saw)
};

// A miner as the validator ranks it.
struct RankedMiner {
  uint16_t uid = 0;
  PublicKey hotkey{};
  std::string endpoint;
  double score = 0;   // moving average
  std::string model;  // hex content hash it last answered with; may be empty
  PublicKey coldkey{};  // where its share of paid fees goes
};

// One organic request and every answer it got, for the scorer.
// A completion request, or (when `predict` is not empty) a request for
// log-probabilities only (max_tokens 0), whose answers the validator re-runs
// at its drawn share like a predict challenge's.
struct OrganicSample {
  std::vector<uint32_t> prompt;  // bytes of the prompt as sent
  uint32_t max_tokens = 0;
  protocol::GenerateRequest request;  // as sent to the miners, for the sampling check
  std::vector<RankedMiner> miners;
  std::vector<TimedReply> replies;  // aligned with miners
  std::vector<protocol::PredictRequest> predict;         // as sent, in order
  std::vector<std::vector<TimedReply>> predict_replies;  // [miner][request], aligned with miners
};

// Scores completions of `prompt` (higher is better), one per completion.
using CompletionJudge = std::function<std::vector<double>(
    const std::vector<uint32_t>& prompt, const std::vector<const protocol::GenerateReply*>& completions)>;

class Gateway {
 public:
  // `client` (thread-safe, not owned) must outlive the gateway; `judge` may
  // be empty (policy "best" then falls back to "first").
  Gateway(GatewayOptions options, protocol::Client* client, CompletionJudge judge);
  ~Gateway();  // Stop()

  // Loads the keys and the ledger, binds and serves. Errors name the file
  // or the address.
  absl::Status Start();
  void Stop();
  int port() const;

  void SetMiners(std::vector<RankedMiner> ranked, std::string metagraph_json);
  // Adds a point to the dashboard's history (skipped when its block is the
  // last point's); the gateway fills in time_ms and the latency of the
  // completions it answered since the previous point.
  void RecordHistory(HistoryPoint point);
  // Up to `max` queued samples, oldest first.
  std::vector<OrganicSample> TakeOrganic(size_t max);
  // Credits transfers to `account` found in blocks up to `head`
  // (validator/deposits.h); returns how many. No-op before Start().
  absl::StatusOr<size_t> CreditDeposits(chain::ChainClient& chain, const PublicKey& account,
                                        uint64_t head);
  // Pays miners their share of the fees (validator/fee_forwarder.h), signed
  // by `signer` (the account deposits went to). No-op before Start().
  absl::StatusOr<size_t> ForwardFees(chain::ChainClient& chain, const SigningKey& signer);
  // Extra Prometheus lines appended to /metrics (the validator's own).
  void SetExtraMetrics(std::string text);

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace agora::validator

#endif  // AGORA_VALIDATOR_GATEWAY_H_
