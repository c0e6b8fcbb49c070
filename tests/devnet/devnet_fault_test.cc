// Faults on a real devnet (tests/devnet/fault_net.h: agora-chain, tiny-model
// agora-miners and agora-validator as separate processes on loopback), one
// fault per test so a failure names it:
//   - a miner killed (kill -9) while the validator's request to it is in
//     flight: the validator keeps stepping, the dead miner's moving average
//     decays step by step, the other miner is still scored;
//   - a miner that stops answering (SIGSTOP) and comes back (SIGCONT): the
//     validator's steps stay bounded by its deadline, the miner is scored
//     down, then scored again;
//   - the validator killed (kill -9) right after the chain acknowledged its
//     weights, and restarted: its moving averages resume from disk, miners
//     accept its new requests (nonces above all it used) yet still refuse an
//     envelope signed with its key before the restart, and weights are never
//     set twice within one weights interval (read from the chain's blocks);
//   - the chain killed (kill -9) right after it acknowledged a validator's
//     weights, and restarted: the transaction is in its block, registrations
//     and endpoints are intact, and miners and validator carry on. (Many
//     concurrent senders across repeated kills: tests/integration/chain_crash_test.cc.)
//   - a miner's wall clock skewed beyond the envelope window (libfaketime):
//     it refuses the validator's requests as stale-timestamp (its refusal
//     counters), the validator records it as failing, nobody crashes, the
//     others keep being served, and with the clock back it is scored again.
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>
#include <zmq.hpp>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "chain/tx.h"
#include "common/crypto.h"
#include "gtest/gtest.h"
#include "protocol/codec.h"
#include "protocol/envelope.h"
#include "protocol/error_reply.h"
#include "protocol/refusal.h"
#include "protocol/task_messages.h"
#include "tests/devnet/fault_net.h"

namespace agora {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::seconds;
using testing::FaultMinerSpec;
using testing::FaultNet;
using testing::FaultNetOptions;

void Log(const std::string& line) { std::fprintf(stderr, "[fault] %s\n", line.c_str()); }

uint64_t UnixMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string Tail(const std::string& text, size_t n = 4000) {
  return text.size() <= n ? text : text.substr(text.size() - n);
}

// The value of the Prometheus sample `series` (name with labels), or -1.
double Metric(const std::string& text, const std::string& series) {
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (absl::StartsWith(line, series + " ")) {
      double v = 0;
      if (absl::SimpleAtod(line.substr(series.size() + 1), &v)) return v;
    }
  }
  return -1;
}

// Records after step `step`.
std::vector<nlohmann::json> After(const std::vector<nlohmann::json>& records, uint64_t step) {
  std::vector<nlohmann::json> out;
  for (const nlohmann::json& r : records) {
    if (r["step"].get<uint64_t>() > step) out.push_back(r);
  }
  return out;
}

// Waits for a record in which `name` answered validly; its step, or 0.
uint64_t WaitForValid(FaultNet& net, const std::string& name, uint64_t after_step, seconds timeout) {
  const auto until = Clock::now() + timeout;
  while (Clock::now() < until && net.validator().Running()) {
    for (const nlohmann::json& r : After(net.Records(), after_step)) {
      const nlohmann::json m = net.MinerEntry(r, name);
      if (!m.is_null() && m["valid"].get<bool>()) return r["step"].get<uint64_t>();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));  // polling the records
  }
  return 0;
}

// The lines of `log` containing `what`.
size_t Count(const std::string& log, const std::string& what) {
  size_t n = 0;
  for (size_t at = log.find(what); at != std::string::npos; at = log.find(what, at + 1)) ++n;
  return n;
}

// Waits for one more `what` in the validator's log than `seen`; false on timeout.
bool WaitForLogLine(FaultNet& net, const std::string& what, size_t seen, seconds timeout) {
  const auto until = Clock::now() + timeout;
  while (Clock::now() < until && net.validator().Running()) {
    if (Count(net.LogOf("validator"), what) > seen) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));  // polling the log: the kill must be prompt
  }
  return false;
}

// The lines of `log` that mention `what`.
std::string Lines(const std::string& log, const std::string& what) {
  std::string out;
  for (absl::string_view line : absl::StrSplit(log, '\n')) {
    if (absl::StrContains(line, what)) absl::StrAppend(&out, line, "\n");
  }
  return out;
}

// Checks that from `from` on, `name` fails every step with a reason and its
// moving average strictly decays, while `other` answers validly.
void ExpectDecays(FaultNet& net, const std::vector<nlohmann::json>& records, const std::string& name,
                  const std::string& other) {
  ASSERT_GE(records.size(), 3u);
  double last = -1;
  for (const nlohmann::json& r : records) {
    const nlohmann::json m = net.MinerEntry(r, name);
    ASSERT_FALSE(m.is_null()) << r.dump();
    EXPECT_FALSE(m["valid"].get<bool>()) << r.dump();
    EXPECT_FALSE(m["reason"].get<std::string>().empty()) << r.dump();
    const double ema = m["ema"].get<double>();
    if (last >= 0) {
      EXPECT_LT(ema, last) << "step " << r["step"] << ": " << r.dump();
    }
    last = ema;
    const nlohmann::json o = net.MinerEntry(r, other);
    ASSERT_FALSE(o.is_null()) << r.dump();
    EXPECT_TRUE(o["valid"].get<bool>()) << r.dump();
  }
  Log(absl::StrCat(name, ": ", net.MinerEntry(records.front(), name)["reason"].get<std::string>(),
                   "; moving average ", net.MinerEntry(records.front(), name)["ema"].get<double>(), " -> ", last));
}

TEST(DevnetFault, MinerKilledMidRequestDecaysWhileOthersAreScored) {
  FaultNetOptions o;
  o.timeout_ms = 2000;
  FaultNet net(o);
  // The victim takes >= 400 ms per answer, so a request to it is in flight
  // for a good share of each step and the kill can land inside one.
  ASSERT_TRUE(net.Start({{.name = "steady", .dim = 16},
                         {.name = "victim", .dim = 24, .extra_args = {"--mode", "slow", "--delay-ms", "400"}}})
                  .ok()) << Tail(net.LogOf("validator"));
  const uint64_t valid_at = WaitForValid(net, "victim", 0, seconds(60));
  ASSERT_GT(valid_at, 0u) << Tail(net.LogOf("validator"));
  ASSERT_TRUE(net.WaitForRecords(valid_at + 2, seconds(30)));

  // In flight: the miner has read more frames than it has answered.
  bool in_flight = false;
  for (auto until = Clock::now() + seconds(30); Clock::now() < until && !in_flight;) {
    const std::string m = net.MinerMetrics("victim");
    const double received = Metric(m, "agora_miner_frames_received_total");
    const double done = Metric(m, "agora_miner_requests_total{task=\"predict\",outcome=\"ok\"}") +
                        Metric(m, "agora_miner_requests_total{task=\"predict\",outcome=\"refused\"}");
    in_flight = received > done && done >= 0;
  }
  ASSERT_TRUE(in_flight) << "never saw a request in flight at the victim";
  net.miner("victim").Kill();
  const size_t records_at_kill = net.RecordCount();
  Log(absl::StrCat("victim killed with a request in flight, after ", records_at_kill, " records"));

  // The step that was waiting on it, and four more.
  ASSERT_TRUE(net.WaitForRecords(records_at_kill + 5, seconds(60))) << Tail(net.LogOf("validator"));
  ASSERT_TRUE(net.validator().Running());
  const std::vector<nlohmann::json> records = net.Records();
  std::vector<nlohmann::json> later(records.end() - 5, records.end());
  // Before the kill the victim had earned something to lose.
  const nlohmann::json before = net.MinerEntry(records[records.size() - 6], "victim");
  ASSERT_GT(before["ema"].get<double>(), 0) << before.dump();
  ExpectDecays(net, later, "victim", "steady");
  EXPECT_GT(net.MinerEntry(later.back(), "steady")["ema"].get<double>(),
            net.MinerEntry(later.back(), "victim")["ema"].get<double>());
}

TEST(DevnetFault, MinerThatStopsAnsweringIsScoredDownThenBackUp) {
  FaultNetOptions o;
  o.timeout_ms = 1500;
  FaultNet net(o);
  ASSERT_TRUE(net.Start({{.name = "steady", .dim = 16}, {.name = "sleeper", .dim = 24}}).ok())
      << Tail(net.LogOf("validator"));
  const uint64_t valid_at = WaitForValid(net, "sleeper", 0, seconds(60));
  ASSERT_GT(valid_at, 0u) << Tail(net.LogOf("validator"));
  ASSERT_TRUE(net.WaitForRecords(valid_at + 2, seconds(30)));

  net.miner("sleeper").Signal(SIGSTOP);
  const size_t stopped_at = net.RecordCount();
  Log(absl::StrCat("sleeper stopped after ", stopped_at, " records"));
  // The step in progress may have had its answer; four after it cannot.
  ASSERT_TRUE(net.WaitForRecords(stopped_at + 5, seconds(60))) << Tail(net.LogOf("validator"));
  std::vector<nlohmann::json> records = net.Records();
  const std::vector<nlohmann::json> stopped(records.end() - 4, records.end());
  ExpectDecays(net, stopped, "sleeper", "steady");
  // No hang: each step waits for the deadline, not for the silent miner.
  for (size_t i = 1; i < stopped.size(); ++i) {
    const int64_t gap = stopped[i]["time_ms"].get<int64_t>() - stopped[i - 1]["time_ms"].get<int64_t>();
    EXPECT_LT(gap, 3 * o.timeout_ms + 2 * o.step_interval_ms) << "a step waited past its deadline";
  }
  const double low = net.MinerEntry(stopped.back(), "sleeper")["ema"].get<double>();

  net.miner("sleeper").Signal(SIGCONT);
  const uint64_t last_stopped = stopped.back()["step"].get<uint64_t>();
  const uint64_t back_at = WaitForValid(net, "sleeper", last_stopped, seconds(60));
  ASSERT_GT(back_at, 0u) << "never scored again after SIGCONT\n" << Tail(net.LogOf("validator"));
  ASSERT_TRUE(net.WaitForRecords(back_at + 2, seconds(30)));
  records = net.Records();
  const double now = net.MinerEntry(records.back(), "sleeper")["ema"].get<double>();
  Log(absl::StrCat("sleeper answered again at step ", back_at, "; moving average ", low, " -> ", now));
  EXPECT_GT(now, low);
  EXPECT_TRUE(net.MinerEntry(records.back(), "sleeper")["valid"].get<bool>()) << records.back().dump();
}

// A raw DEALER speaking CURVE to a miner, so the test can send the exact
// same envelope bytes twice.
class RawDealer {
 public:
  RawDealer(const protocol::Peer& peer, const SigningKey& key) : socket_(ctx_, zmq::socket_type::dealer) {
    socket_.set(zmq::sockopt::linger, 0);
    const CurveKey server = Ed25519ToCurvePublic(peer.hotkey).value();
    const CurveKey mine = key.CurvePublicKey();
    const SecretBytes secret = key.CurveSecretKey();
    socket_.set(zmq::sockopt::curve_serverkey, zmq::buffer(server));
    socket_.set(zmq::sockopt::curve_publickey, zmq::buffer(mine));
    socket_.set(zmq::sockopt::curve_secretkey, zmq::const_buffer(secret.data(), secret.size()));
    socket_.connect(peer.endpoint);
  }
  // Sends `frame` and returns the reply's kind and body ("" on no reply).
  std::pair<protocol::MessageKind, std::string> Call(const std::string& frame, const PublicKey& self) {
    socket_.send(zmq::buffer(frame), zmq::send_flags::none);
    zmq::pollitem_t item{socket_.handle(), 0, ZMQ_POLLIN, 0};
    if (zmq::poll(&item, 1, std::chrono::milliseconds(10'000)) == 0) return {protocol::MessageKind::kPing, ""};
    zmq::message_t msg;
    if (!socket_.recv(msg, zmq::recv_flags::dontwait)) return {protocol::MessageKind::kPing, ""};
    protocol::OpenContext ctx;
    ctx.self = self;
    ctx.now_ms = UnixMs();
    const std::string bytes = msg.to_string();
    absl::StatusOr<protocol::OpenedEnvelope> env = protocol::OpenEnvelope(bytes, ctx);
    if (!env.ok()) return {protocol::MessageKind::kPing, ""};
    return {env->header.kind, std::string(env->body)};
  }

 private:
  zmq::context_t ctx_;
  zmq::socket_t socket_;
};

class ValidatorKillTest : public ::testing::TestWithParam<bool> {};

TEST_P(ValidatorKillTest, ResumesScoresAndNoncesAndNeverSetsWeightsTwice) {
  FaultNetOptions o;
  o.commit_reveal = GetParam();
  // Longer than a validator restart takes (a few seconds at 100 ms blocks),
  // so weights set again too soon after the restart would show as a gap
  // under the interval.
  o.weights_interval = 80;
  // Commits expire once their reveal epoch has passed (chain/block.cc): with
  // 6 s epochs the restart lands inside the pending commit's reveal window.
  if (o.commit_reveal) o.tempo = 60;
  FaultNet net(o);
  ASSERT_TRUE(net.Start({{.name = "steady", .dim = 16}, {.name = "other", .dim = 24}}).ok())
      << Tail(net.LogOf("validator"));
  ASSERT_TRUE(net.WaitForRecords(6, seconds(60))) << Tail(net.LogOf("validator"));

  // The kill lands right after the chain acknowledged weights: the moment
  // whose state (the last weights block, the pending commit) must already
  // be on disk for the restarted validator not to spend the interval again.
  const std::string weights_line = o.commit_reveal ? "commit_weights in block" : "set_weights in block";
  ASSERT_TRUE(WaitForLogLine(net, weights_line, Count(net.LogOf("validator"), weights_line), seconds(60)))
      << Tail(net.LogOf("validator"));
  net.KillValidator();
  const std::vector<nlohmann::json> before = net.Records();
  ASSERT_FALSE(before.empty());
  const nlohmann::json& last = before.back();
  const uint64_t last_step = last["step"].get<uint64_t>();
  Log(absl::StrCat("validator killed after acknowledged weights; last record: step ", last_step));

  // An envelope signed with the validator's key while no validator runs: a
  // well-formed request the miner answers, captured to replay later.
  absl::StatusOr<SigningKey> vkey = net.ValidatorHotkey();
  ASSERT_TRUE(vkey.ok()) << vkey.status();
  const protocol::Peer steady = net.MinerPeer("steady");
  protocol::SealParams sp;
  sp.receiver = steady.hotkey;
  sp.kind = protocol::MessageKind::kPredictRequest;
  sp.nonce = UnixMs() * 1000;  // as protocol/nonce.h: Unix microseconds
  sp.timestamp_ms = UnixMs();
  protocol::PredictRequest req;
  req.prefixes = {{116, 104, 101, 32}};
  const std::string captured = protocol::SealEnvelope(*vkey, sp, protocol::Encode(req));
  RawDealer dealer(steady, *vkey);
  auto [kind, body] = dealer.Call(captured, vkey->public_key());
  ASSERT_EQ(kind, protocol::MessageKind::kPredictReply) << body;

  ASSERT_TRUE(net.StartValidator().ok()) << Tail(net.LogOf("validator"));
  EXPECT_TRUE(absl::StrContains(net.LogOf("validator"), "resuming at step")) << Tail(net.LogOf("validator"));
  ASSERT_TRUE(net.WaitForRecords(before.size() + 4, seconds(60))) << Tail(net.LogOf("validator"));
  const std::vector<nlohmann::json> after = After(net.Records(), last_step);
  ASSERT_GE(after.size(), 4u);

  // Moving averages resume: the first step after the restart continues the
  // last record's (a kill between a step's state and its record skips one).
  const uint64_t first = after.front()["step"].get<uint64_t>();
  EXPECT_TRUE(first == last_step + 1 || first == last_step + 2) << first << " after " << last_step;
  for (const std::string name : {"steady", "other"}) {
    const double ema_before = net.MinerEntry(last, name)["ema"].get<double>();
    const nlohmann::json m = net.MinerEntry(after.front(), name);
    ASSERT_GT(ema_before, 0) << last.dump();
    if (first == last_step + 1) {
      EXPECT_NEAR(m["ema"].get<double>(), ema_before + o.alpha * (m["step_score"].get<double>() - ema_before),
                  1e-9) << name << ": not continued from the last record";
    } else {
      EXPECT_GE(m["ema"].get<double>(), (1 - o.alpha) * (1 - o.alpha) * ema_before) << name << ": reset";
    }
    Log(absl::StrCat(name, ": moving average ", ema_before, " before the kill, ", m["ema"].get<double>(),
                     " at step ", first));
  }
  // Nonces resume above everything the key signed before: the miners accept
  // the restarted validator's requests...
  for (const nlohmann::json& r : after) {
    for (const std::string name : {"steady", "other"}) {
      const nlohmann::json m = net.MinerEntry(r, name);
      EXPECT_TRUE(m["valid"].get<bool>()) << name << " refused the restarted validator: " << r.dump();
    }
  }
  // ...and still refuse the envelope from before the restart.
  auto [rkind, rbody] = dealer.Call(captured, vkey->public_key());
  ASSERT_EQ(rkind, protocol::MessageKind::kError) << "the replay was answered";
  const std::optional<protocol::Reason> why = protocol::ReasonOf(protocol::StatusFromErrorReply(rbody));
  ASSERT_TRUE(why.has_value());
  EXPECT_EQ(protocol::ReasonString(*why), "replayed-nonce");

  // Weights on chain: every set_weights (or reveal_weights) of the
  // validator, from its blocks; never two within one weights interval.
  ASSERT_TRUE(WaitForLogLine(net, weights_line, Count(net.LogOf("validator"), weights_line), seconds(60)))
      << "no weights after the restart\n" << Tail(net.LogOf("validator"));
  // Up to the block of that last transaction: acknowledged (durable) before
  // its block is sealed, so it may be past the height the chain reports.
  const std::string vlog_now = net.LogOf("validator");
  const size_t at = vlog_now.rfind(weights_line);
  uint64_t upto = 0;
  ASSERT_TRUE(absl::SimpleAtoi(vlog_now.substr(at + weights_line.size() + 1,
                                               vlog_now.find(':', at) - at - weights_line.size() - 1),
                               &upto)) << vlog_now.substr(at, 80);
  absl::StatusOr<chain::ChainStatus> status = net.chain().Status();
  ASSERT_TRUE(status.ok()) << status.status();
  upto = std::max<uint64_t>(upto, status->height);
  const PublicKey vhot = vkey->public_key();
  std::vector<uint64_t> spent;  // blocks of weight-setting transactions
  size_t commits = 0, reveals = 0;
  for (uint64_t h = 1; h <= upto; ++h) {
    absl::StatusOr<chain::BlockTxs> b = net.chain().BlockTransactions(h);
    for (int tries = 0; !b.ok() && tries < 50; ++tries) {  // the newest height may not be sealed yet
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      b = net.chain().BlockTransactions(h);
    }
    ASSERT_TRUE(b.ok()) << b.status();
    for (const std::string& bytes : b->txs) {
      absl::StatusOr<chain::SignedTx> tx = chain::DecodeSignedTx(bytes);
      ASSERT_TRUE(tx.ok());
      absl::StatusOr<chain::TxBody> body = chain::VerifyTx(*tx);
      ASSERT_TRUE(body.ok());
      if (body->signer != vhot) continue;
      // Weights take effect by set_weights or by the reveal of a commit.
      if (body->type == chain::kTxSetWeights || body->type == chain::kTxRevealWeights) spent.push_back(h);
      if (body->type == chain::kTxCommitWeights) ++commits;
      if (body->type == chain::kTxRevealWeights) ++reveals;
    }
  }
  std::string shown;
  for (uint64_t h : spent) absl::StrAppend(&shown, " ", h);
  Log("validator's weight transactions in blocks" + shown);
  const std::string vlog = net.LogOf("validator");
  const std::string weights_log = Lines(vlog, "weights") + Lines(vlog, "reveal") + Lines(vlog, "resuming");
  Log("the validator's log on weights:\n" + weights_log);
  ASSERT_GE(spent.size(), 2u) << shown;
  for (size_t i = 1; i < spent.size(); ++i) {
    EXPECT_GE(spent[i] - spent[i - 1], o.weights_interval) << "weights set twice in one interval:" << shown << "\n" << weights_log;
  }
  if (o.commit_reveal) {
    // The commit acknowledged just before the kill is revealed by the
    // restarted validator (its salt was on disk before it was sent).
    EXPECT_FALSE(absl::StrContains(vlog, "reveal refused")) << weights_log;
    EXPECT_GE(reveals, 2u) << weights_log;
    EXPECT_LE(reveals, commits) << weights_log;
  }
}

INSTANTIATE_TEST_SUITE_P(WeightModes, ValidatorKillTest, ::testing::Values(false, true),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "CommitReveal" : "SetWeights";
                         });

TEST(DevnetFault, ChainKilledAfterAcknowledgingWeightsKeepsThem) {
  FaultNet net;
  ASSERT_TRUE(net.Start({{.name = "steady", .dim = 16}, {.name = "other", .dim = 24}}).ok())
      << Tail(net.LogOf("validator"));
  const std::string line = "set_weights in block ";
  ASSERT_TRUE(WaitForLogLine(net, line, 0, seconds(60))) << Tail(net.LogOf("validator"));
  net.KillChain();
  // The validator logs the block only once the chain acknowledged the
  // transaction as durable: that block must survive the kill.
  const std::string log = net.LogOf("validator");
  const size_t at = log.rfind(line);
  uint64_t acked = 0;
  ASSERT_TRUE(absl::SimpleAtoi(log.substr(at + line.size(), log.find(':', at + line.size()) - at - line.size()),
                               &acked)) << log.substr(at, 80);
  Log(absl::StrCat("chain killed after acknowledging set_weights in block ", acked));
  const size_t records_at_kill = net.RecordCount();

  // Down for a while: nobody crashes waiting for it.
  std::this_thread::sleep_for(seconds(2));  // the outage itself
  ASSERT_TRUE(net.validator().Running()) << Tail(net.LogOf("validator"));
  ASSERT_TRUE(net.miner("steady").Running()) << Tail(net.LogOf("steady"));
  ASSERT_TRUE(net.miner("other").Running()) << Tail(net.LogOf("other"));

  ASSERT_TRUE(net.StartChain().ok()) << Tail(net.LogOf("chain"));
  // The receipt names the block the transaction goes into; it may still
  // have been open at the kill (the transaction was durable in the log, not
  // yet sealed), so the restarted chain seals it with its next block.
  absl::StatusOr<chain::ChainStatus> status = net.chain().Status();
  const auto seal_by = std::chrono::steady_clock::now() + seconds(20);
  while (status.ok() && status->height < acked && std::chrono::steady_clock::now() < seal_by) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));  // polling for the next block
    status = net.chain().Status();
  }
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_GE(status->height, acked);
  absl::StatusOr<chain::BlockTxs> block = net.chain().BlockTransactions(acked);
  ASSERT_TRUE(block.ok()) << block.status();
  absl::StatusOr<SigningKey> vkey = net.ValidatorHotkey();
  ASSERT_TRUE(vkey.ok());
  bool found = false;
  for (const std::string& bytes : block->txs) {
    absl::StatusOr<chain::SignedTx> tx = chain::DecodeSignedTx(bytes);
    ASSERT_TRUE(tx.ok());
    absl::StatusOr<chain::TxBody> body = chain::VerifyTx(*tx);
    ASSERT_TRUE(body.ok());
    found |= body->type == chain::kTxSetWeights && body->signer == vkey->public_key();
  }
  EXPECT_TRUE(found) << "the acknowledged set_weights is not in block " << acked;
  absl::StatusOr<chain::Metagraph> mg = net.chain().GetMetagraph(1, false, true);
  ASSERT_TRUE(mg.ok()) << mg.status();
  for (const std::string name : {"validator", "steady", "other"}) {
    bool present = false;
    for (const chain::NeuronInfo& n : mg->neurons) {
      if (n.hotkey != net.Hotkey(name)) continue;
      present = true;
      if (name == "validator") {
        EXPECT_GE(n.last_update, acked);
        EXPECT_FALSE(n.weights.empty());
        EXPECT_GT(n.stake, 0u);
      } else {
        EXPECT_FALSE(n.axon_endpoint.empty()) << name << "'s announced endpoint was lost";
      }
    }
    EXPECT_TRUE(present) << name << "'s registration was lost";
  }

  // Everyone carries on against the restarted chain: the validator steps on
  // its new blocks, both miners still answer it, and it sets weights again.
  const uint64_t restarted_at = status->height;
  bool carried_on = false;
  for (auto until = Clock::now() + seconds(60); Clock::now() < until && !carried_on;) {
    for (const nlohmann::json& r : net.Records()) {
      if (r["block"].get<uint64_t>() <= restarted_at) continue;
      carried_on = net.MinerEntry(r, "steady")["valid"].get<bool>() &&
                   net.MinerEntry(r, "other")["valid"].get<bool>();
      if (carried_on) break;
    }
    if (!carried_on) std::this_thread::sleep_for(std::chrono::milliseconds(200));  // polling the records
  }
  EXPECT_TRUE(carried_on) << "no step with both miners scored after the restart\n" << Tail(net.LogOf("validator"));
  EXPECT_GT(net.RecordCount(), records_at_kill);
  const size_t lines = Count(net.LogOf("validator"), line);
  EXPECT_TRUE(WaitForLogLine(net, line, lines, seconds(60))) << "no weights set after the restart\n"
                                                             << Tail(net.LogOf("validator"));
}

TEST(DevnetFault, ClockSkewBeyondTheWindowIsRefusedClearly) {
  FaultNet net;
  ASSERT_TRUE(net.Start({{.name = "steady", .dim = 16}, {.name = "skewed", .dim = 24, .faketime = true}}).ok())
      << Tail(net.LogOf("validator")) << Tail(net.LogOf("skewed"));
  const uint64_t valid_at = WaitForValid(net, "skewed", 0, seconds(60));
  ASSERT_GT(valid_at, 0u) << "the miner under libfaketime (offset +0) never answered validly\n"
                          << Tail(net.LogOf("validator"));
  const double stale_before =
      Metric(net.MinerMetrics("skewed"), "agora_miner_refusals_total{reason=\"stale-timestamp\"}");
  ASSERT_EQ(stale_before, 0);

  // Four times the 30 s window ahead: every envelope the validator sends
  // looks two minutes old to this miner.
  ASSERT_TRUE(net.SetClockOffset("skewed", "+120s").ok());
  const size_t skewed_at = net.RecordCount();
  ASSERT_TRUE(net.WaitForRecords(skewed_at + 5, seconds(60))) << Tail(net.LogOf("validator"));
  std::vector<nlohmann::json> records = net.Records();
  const std::vector<nlohmann::json> skewed(records.end() - 4, records.end());
  ExpectDecays(net, skewed, "skewed", "steady");
  const std::string metrics = net.MinerMetrics("skewed");
  const double stale = Metric(metrics, "agora_miner_refusals_total{reason=\"stale-timestamp\"}");
  Log(absl::StrCat("the skewed miner refused ", stale, " requests as stale-timestamp; the validator recorded: ",
                   net.MinerEntry(skewed.back(), "skewed")["reason"].get<std::string>()));
  EXPECT_GE(stale, 4) << metrics;
  Log("the skewed miner's log:\n" + Tail(net.LogOf("skewed"), 1500));
  for (const std::string name : {"steady", "skewed"}) {
    EXPECT_TRUE(net.miner(name).Running()) << name << ":\n" << Tail(net.LogOf(name));
  }
  EXPECT_TRUE(net.chain_process().Running()) << Tail(net.LogOf("chain"));
  EXPECT_TRUE(net.validator().Running());

  ASSERT_TRUE(net.SetClockOffset("skewed", "+0").ok());
  const uint64_t back_at = WaitForValid(net, "skewed", skewed.back()["step"].get<uint64_t>(), seconds(60));
  EXPECT_GT(back_at, 0u) << "not scored again with its clock back\n" << Tail(net.LogOf("validator"));
}

}  // namespace
}  // namespace agora
