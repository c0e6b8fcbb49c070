// bench_miner_flood: does an unregistered flood slow a registered validator?
// One real miner (MinerService, CurveZMQ on, admission closed: only the
// validator's hotkey is registered, as the metagraph would say) and, on
// loopback, a validator asking PredictRequests of 8 prefixes back to back.
// Measured in the same run: the validator's latency with the miner quiet
// (the baseline), then with --flooders unregistered senders each sending
// signed GenerateRequests as fast as the miner refuses them. Prints p50/p99
// both ways and their ratio; the goal is p99 under flood within 2x.
// A flooder waits at most 20 ms for an answer: the miner signs at most
// ServerOptions::overload_replies_per_s refusals and drops the rest, and a
// flooder that waited out a long deadline for each dropped one would flood
// far less than it could.
//
// All of it shares this machine's CPUs, so the flooders' own work (signing,
// CurveZMQ, checking refusals) competes with the miner's; --flooder-nice 19
// lowers the flooder threads' priority, closer to a flood from another host.
//
// Usage: bench_miner_flood [--seconds 5] [--flooders 16] [--flooder-nice N]
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include <sys/resource.h>
#include <unistd.h>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/synchronization/mutex.h"
#include "miner/gpt.h"
#include "miner/miner.h"
#include "protocol/task_messages.h"
#include "protocol/zmq_client.h"

namespace {

using namespace agora;
using Clock = std::chrono::steady_clock;

struct Latency {
  double p50_ms = 0, p99_ms = 0;
  size_t n = 0, errors = 0;
};

// The validator's view: sequential predict requests for `seconds`.
Latency Ask(protocol::Client& client, const protocol::Peer& peer, double seconds) {
  protocol::PredictRequest req;
  for (uint32_t i = 0; i < 8; ++i) {
    std::vector<uint32_t> prefix(32);
    for (uint32_t j = 0; j < prefix.size(); ++j) prefix[j] = (i * 17 + j * 5) % 256;
    req.prefixes.push_back(prefix);
  }
  std::vector<double> ms;
  Latency l;
  const auto end = Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  while (Clock::now() < end) {
    const auto t0 = Clock::now();
    auto r = client.CallTyped<protocol::PredictRequest, protocol::PredictReply>(
        peer, protocol::MessageKind::kPredictRequest, protocol::MessageKind::kPredictReply, req,
        protocol::DeadlineAfter(std::chrono::seconds(10)));
    if (!r.ok()) {
      ++l.errors;
      continue;
    }
    ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
  }
  std::sort(ms.begin(), ms.end());
  l.n = ms.size();
  if (!ms.empty()) {
    l.p50_ms = ms[ms.size() / 2];
    l.p99_ms = ms[std::min(ms.size() - 1, ms.size() * 99 / 100)];
  }
  return l;
}

}  // namespace

int main(int argc, char** argv) {
  double seconds = 5;
  int flooders = 16;
  int flooder_nice = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i];
    const bool ok = k == "--seconds"    ? absl::SimpleAtod(argv[i + 1], &seconds) && seconds > 0
                    : k == "--flooders" ? absl::SimpleAtoi(argv[i + 1], &flooders) && flooders > 0
                    : k == "--flooder-nice"
                        ? absl::SimpleAtoi(argv[i + 1], &flooder_nice) && flooder_nice >= 0 && flooder_nice <= 19
                                        : false;
    if (!ok) {
      std::fprintf(stderr, "usage: bench_miner_flood [--seconds S] [--flooders N] [--flooder-nice 0..19]\n");
      return 2;
    }
  }
  miner::SetUpTorchProcess();
  miner::GptConfig c;
  c.layers = 2;
  c.dim = 64;
  c.heads = 4;
  c.context = 128;
  miner::LoadedGpt g = miner::FreshGpt(c, 1);

  auto miner_key = std::make_shared<const SigningKey>(SigningKey::Generate());
  auto validator_key = std::make_shared<const SigningKey>(SigningKey::Generate());
  miner::ServiceOptions so;
  so.endpoint = "tcp://127.0.0.1:*";
  so.curve = true;
  so.admission.open = false;
  so.admission.rate_per_s = 0;
  miner::MinerService service(miner::MakeGptBackend(std::move(g), miner::ServingDevice(false)),
                              std::make_unique<miner::ByteTokenizer>(), miner_key, so);
  service.admission().Update({miner::Member{validator_key->public_key(), 1'000'000'000'000, true}});
  if (!service.Start().ok()) std::abort();
  const protocol::Peer peer{service.endpoint(), miner_key->public_key()};
  auto validator = protocol::Client::Create(validator_key, protocol::ClientOptions{});
  if (!validator.ok()) std::abort();
  (void)Ask(**validator, peer, 0.5);  // warm up: connection, model

  std::printf("miner: 2-layer GPT (dim 64), CurveZMQ on, admission: one registered validator\n");
  std::printf("validator: sequential PredictRequests of 8 prefixes x 32 tokens, %g s per phase\n", seconds);
  std::printf("flooders: %d threads in this process, nice %d, each waiting at most 20 ms per request\n\n", flooders,
              flooder_nice);
  const Latency quiet = Ask(**validator, peer, seconds);

  std::atomic<bool> stop{false}, flooding{false};
  std::atomic<uint64_t> sent{0}, refused{0}, unanswered{0}, answered{0};
  absl::Mutex refusal_mu;
  std::vector<double> refusal_ms;  // time to a signed refusal, while the validator asks
  std::vector<std::thread> flood;
  for (int f = 0; f < flooders; ++f) {
    flood.emplace_back([&] {
      // Linux: a thread's nice value is its own (the client's I/O threads,
      // created below, inherit it).
      if (flooder_nice > 0) (void)setpriority(PRIO_PROCESS, static_cast<id_t>(gettid()), flooder_nice);
      auto client = protocol::Client::Create(std::make_shared<const SigningKey>(SigningKey::Generate()),
                                             protocol::ClientOptions{});
      if (!client.ok()) return;
      protocol::GenerateRequest req;
      req.prompt = "let me in";
      req.max_tokens = 64;
      std::vector<double> mine;
      while (!stop.load()) {
        const bool counted = flooding.load();
        const auto t0 = Clock::now();
        auto r = (*client)->CallTyped<protocol::GenerateRequest, protocol::GenerateReply>(
            peer, protocol::MessageKind::kGenerateRequest, protocol::MessageKind::kGenerateReply, req,
            protocol::DeadlineAfter(std::chrono::milliseconds(20)));
        if (!counted) continue;
        ++sent;
        if (r.ok()) {
          ++answered;  // must not happen: the flooders are not registered
        } else if (absl::IsDeadlineExceeded(r.status())) {
          ++unanswered;
        } else {
          ++refused;
          mine.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
        }
      }
      absl::MutexLock lock(&refusal_mu);
      refusal_ms.insert(refusal_ms.end(), mine.begin(), mine.end());
    });
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // the flood under way
  flooding = true;
  const Latency flooded = Ask(**validator, peer, seconds);
  flooding = false;
  stop = true;
  for (std::thread& t : flood) t.join();
  std::sort(refusal_ms.begin(), refusal_ms.end());
  const miner::MetricsSnapshot m = service.Snapshot();
  service.Stop();

  std::printf("%-32s %10s %10s %10s %8s\n", "", "requests", "p50 ms", "p99 ms", "errors");
  std::printf("%-32s %10zu %10.2f %10.2f %8zu\n", "validator, miner quiet", quiet.n, quiet.p50_ms,
              quiet.p99_ms, quiet.errors);
  std::printf("%-32s %10zu %10.2f %10.2f %8zu\n", "validator, under flood", flooded.n, flooded.p50_ms,
              flooded.p99_ms, flooded.errors);
  std::printf("\nflood: %d unregistered senders, %llu requests (%.0f/s): %llu refused (signed), "
              "%llu unanswered (past the miner's signing budget), %llu answered; "
              "admission counted %llu unregistered in all\n",
              flooders, static_cast<unsigned long long>(sent.load()), double(sent.load()) / seconds,
              static_cast<unsigned long long>(refused.load()),
              static_cast<unsigned long long>(unanswered.load()),
              static_cast<unsigned long long>(answered.load()),
              static_cast<unsigned long long>(m.admission.unregistered));
  if (!refusal_ms.empty()) {
    std::printf("a flooder's wait for its refusal: p50 %.2f ms, p99 %.2f ms\n", refusal_ms[refusal_ms.size() / 2],
                refusal_ms[std::min(refusal_ms.size() - 1, refusal_ms.size() * 99 / 100)]);
  }
  std::printf("validator p99 under flood / quiet: %.2fx (goal <= 2x); p50: %.2fx\n",
              flooded.p99_ms / std::max(quiet.p99_ms, 1e-9), flooded.p50_ms / std::max(quiet.p50_ms, 1e-9));
  return 0;
}
