// bench_gateway: what the gateway adds over asking a miner directly. One
// real miner (MinerService over loopback, a trivial 1-layer GPT, curve off)
// and one gateway (validator/gateway.h, HTTP on loopback, one API key with
// no limits) in this process. Measured in the same run:
//   - latency of a 1-token completion: a direct signed GenerateRequest vs
//     POST /v1/completions through the gateway (keep-alive HTTP client),
//     sequential, p50/p99 each and the difference;
//   - requests/s with --clients concurrent callers, direct vs gateway.
// Every gateway answer is charged in the durable usage ledger (a SQLite
// commit with fsync, shared by concurrent answers: group commit) before it
// is sent; that is part of what is measured. The ledger lives under TMPDIR,
// so TMPDIR=/dev/shm shows what the gateway costs without the fsync.
//
// Usage: bench_gateway [--requests 400] [--clients 8] [--seconds 3]
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include <httplib.h>
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/file_util.h"
#include "miner/gpt.h"
#include "miner/miner.h"
#include "protocol/task_messages.h"
#include "protocol/zmq_client.h"
#include "validator/gateway.h"

namespace {

using namespace agora;
using SteadyClock = std::chrono::steady_clock;

struct Args {
  int requests = 400;
  int clients = 8;
  double seconds = 3;
};

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * (v.size() - 1) + 0.5))];
}

double Ms(SteadyClock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

}  // namespace

int main(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string f = argv[i];
    const char* v = i + 1 < argc ? argv[++i] : "0";
    if (f == "--requests") (void)absl::SimpleAtoi(v, &a.requests);
    else if (f == "--clients") (void)absl::SimpleAtoi(v, &a.clients);
    else if (f == "--seconds") (void)absl::SimpleAtod(v, &a.seconds);
    else { std::fprintf(stderr, "unknown flag %s\n", f.c_str()); return 2; }
  }
  const std::string dir = (std::filesystem::temp_directory_path() /
                           absl::StrCat("agora-bench-gateway-", ::getpid())).string();
  std::filesystem::create_directories(dir);

  // The miner: a trivial model, so the model's time does not hide the gateway's.
  miner::GptConfig c;
  c.layers = 1;
  c.dim = 32;
  c.heads = 2;
  c.context = 64;
  miner::LoadedGpt g = miner::FreshGpt(c, 1);
  auto miner_key = std::make_shared<const SigningKey>(SigningKey::Generate());
  miner::ServiceOptions so;
  so.endpoint = "tcp://127.0.0.1:*";
  so.curve = false;
  so.admission.open = true;
  so.admission.rate_per_s = 0;
  so.workers = 64;
  miner::MinerService service(miner::MakeGptBackend(std::move(g), miner::ServingDevice(false)),
                              std::make_unique<miner::ByteTokenizer>(), miner_key, so);
  if (!service.Start().ok()) return 1;
  const protocol::Peer peer{service.endpoint(), miner_key->public_key()};

  // The gateway, routing to that miner.
  protocol::ClientOptions co;
  co.curve = false;
  auto vali_key = std::make_shared<const SigningKey>(SigningKey::Generate());
  auto client = protocol::Client::Create(vali_key, co);
  if (!client.ok()) return 1;
  const std::string token = "sk-bench-0123456789abcdef";
  if (!WriteFileAtomic(dir + "/keys.toml",
                       absl::StrCat("[[keys]]\nname = \"bench\"\nkey = \"", token, "\"\nrate_per_s = 0\n"),
                       0600).ok()) {
    return 1;
  }
  validator::GatewayOptions go;
  go.port = 0;
  go.api_keys_file = dir + "/keys.toml";
  go.ledger_path = dir + "/gateway.db";
  go.top_k = 1;
  validator::Gateway gateway(go, client->get(), nullptr);
  if (absl::Status s = gateway.Start(); !s.ok()) {
    std::fprintf(stderr, "%s\n", s.ToString().c_str());
    return 1;
  }
  gateway.SetMiners({validator::RankedMiner{1, miner_key->public_key(), service.endpoint(), 1.0, "", {}}}, "{}");

  protocol::GenerateRequest req;
  req.prompt = "hello";
  req.max_tokens = 1;
  const std::string body = R"({"prompt": "hello", "max_tokens": 1})";
  const httplib::Headers headers = {{"Authorization", "Bearer " + token}};

  auto direct_once = [&](protocol::Client& cl) {
    auto r = cl.CallTyped<protocol::GenerateRequest, protocol::GenerateReply>(
        peer, protocol::MessageKind::kGenerateRequest, protocol::MessageKind::kGenerateReply, req,
        protocol::DeadlineAfter(std::chrono::seconds(10)));
    return r.ok();
  };
  auto http_once = [&](httplib::Client& http) {
    auto r = http.Post("/v1/completions", headers, body, "application/json");
    return r && r->status == 200;
  };

  // Sequential latency.
  httplib::Client http("127.0.0.1", gateway.port());
  http.set_keep_alive(true);
  http.set_tcp_nodelay(true);
  for (int i = 0; i < 20; ++i) {  // warm up both paths
    direct_once(**client);
    http_once(http);
  }
  std::vector<double> direct, via;
  int failures = 0;
  for (int i = 0; i < a.requests; ++i) {
    auto t0 = SteadyClock::now();
    failures += !direct_once(**client);
    direct.push_back(Ms(SteadyClock::now() - t0));
    t0 = SteadyClock::now();
    failures += !http_once(http);
    via.push_back(Ms(SteadyClock::now() - t0));
  }
  std::printf("latency of a 1-token completion, %d sequential requests each (ms)\n", a.requests);
  std::printf("%-22s %8s %8s\n", "", "p50", "p99");
  std::printf("%-22s %8.3f %8.3f\n", "direct signed query", Percentile(direct, 0.5), Percentile(direct, 0.99));
  std::printf("%-22s %8.3f %8.3f\n", "through the gateway", Percentile(via, 0.5), Percentile(via, 0.99));
  std::printf("%-22s %8.3f %8.3f\n", "added", Percentile(via, 0.5) - Percentile(direct, 0.5),
              Percentile(via, 0.99) - Percentile(direct, 0.99));

  // Throughput with concurrent callers.
  auto throughput = [&](bool through_gateway) {
    std::atomic<uint64_t> done{0}, bad{0};
    std::vector<std::thread> threads;
    const auto end = SteadyClock::now() + std::chrono::duration_cast<SteadyClock::duration>(
                                              std::chrono::duration<double>(a.seconds));
    for (int t = 0; t < a.clients; ++t) {
      threads.emplace_back([&] {
        httplib::Client h("127.0.0.1", gateway.port());
        h.set_keep_alive(true);
        h.set_tcp_nodelay(true);
        auto own = protocol::Client::Create(std::make_shared<const SigningKey>(SigningKey::Generate()), co);
        if (!own.ok()) std::abort();
        while (SteadyClock::now() < end) {
          const bool ok = through_gateway ? http_once(h) : direct_once(**own);
          ++(ok ? done : bad);
        }
      });
    }
    for (std::thread& t : threads) t.join();
    failures += static_cast<int>(bad.load());
    return double(done.load()) / a.seconds;
  };
  const double direct_rps = throughput(false);
  const double gateway_rps = throughput(true);
  std::printf("\nrequests/s with %d concurrent callers over %.0f s\n", a.clients, a.seconds);
  std::printf("%-22s %10.0f\n%-22s %10.0f   (%.0f%% of direct)\n", "direct signed query", direct_rps,
              "through the gateway", gateway_rps, 100.0 * gateway_rps / std::max(1.0, direct_rps));
  std::printf("failures: %d\n", failures);
  gateway.Stop();
  service.Stop();
  std::filesystem::remove_all(dir);
  return failures == 0 ? 0 : 1;
}
