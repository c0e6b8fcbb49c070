// bench_miner: tokens/s of generation through the real miner server for 1, 4,
// 16 and 64 concurrent clients (each its own hotkey and socket, signed
// requests over loopback), next to the raw batched decoding of the same model
// at the same batch size, and unbatched serving (max_batch 1) at 16 clients,
// right after the batched 16-client row.
//
// Usage: bench_miner [--layers 2 --dim 128 --heads 4 --context 128]
//                    [--seconds 4] [--prompt 32] [--max-tokens 16] [--curve]
//                    [--clients N]   (one row instead of 1, 4, 16 and 64)
// Each client loops: GenerateRequest(prompt of --prompt bytes, --max-tokens
// tokens, temperature 1, its own seed). The raw figure drives the model
// directly, no server: B generations in lockstep through DecodeStep (the
// prompt, then one token per step, keys and values cached), tokens/s over
// --seconds/2 right before and --seconds/2 right after the served run; the
// served figure is compared with their mean (a shared VM's speed drifts with
// its neighbours' load; "drift" is after / before). For scale, "no-cache" is
// NextTokenLogits (every row recomputed) on B rows of the mean length a
// generation sees (prompt + max_tokens/2). "in model" is the share of the
// served run the batcher's worker spent in the model's forward (the rest:
// sampling, queueing, waiting for requests).
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include <torch/torch.h>

#include "absl/strings/numbers.h"
#include "miner/gpt.h"
#include "miner/miner.h"
#include "protocol/task_messages.h"
#include "protocol/zmq_client.h"

namespace {

using agora::miner::Clock;
using namespace agora;

struct Args {
  int64_t layers = 2, dim = 128, heads = 4, context = 128;
  double seconds = 4;
  uint32_t prompt = 32, max_tokens = 16;
  bool curve = false;
  std::vector<size_t> clients = {1, 4, 16, 64};
};

Args Parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string f = argv[i];
    auto next = [&]() -> const char* { return i + 1 < argc ? argv[++i] : "0"; };
    if (f == "--layers") absl::SimpleAtoi(next(), &a.layers);
    else if (f == "--dim") absl::SimpleAtoi(next(), &a.dim);
    else if (f == "--heads") absl::SimpleAtoi(next(), &a.heads);
    else if (f == "--context") absl::SimpleAtoi(next(), &a.context);
    else if (f == "--seconds") absl::SimpleAtod(next(), &a.seconds);
    else if (f == "--prompt") absl::SimpleAtoi(next(), &a.prompt);
    else if (f == "--max-tokens") absl::SimpleAtoi(next(), &a.max_tokens);
    else if (f == "--curve") a.curve = true;
    else if (f == "--clients") {
      size_t n = 0;
      if (!absl::SimpleAtoi(next(), &n) || n == 0) { std::fprintf(stderr, "--clients: a positive count\n"); std::exit(2); }
      a.clients = {n};
    }
    else { std::fprintf(stderr, "unknown flag %s\n", f.c_str()); std::exit(2); }
  }
  return a;
}

miner::GptConfig Config(const Args& a) {
  miner::GptConfig c;
  c.layers = a.layers;
  c.dim = a.dim;
  c.heads = a.heads;
  c.context = a.context;
  return c;
}

std::unique_ptr<miner::ModelBackend> MakeModel(const Args& a) {
  miner::SetUpTorchProcess();
  return miner::MakeGptBackend(miner::FreshGpt(Config(a), 1), miner::ServingDevice(false));
}

double RawDecodeTokensPerSecond(miner::ModelBackend& m, size_t batch, uint32_t prompt,
                                uint32_t max_tokens, double seconds) {
  static uint64_t next_sequence = 1;
  auto generate = [&] {  // -> its seconds
    std::vector<std::vector<uint32_t>> rows(batch, std::vector<uint32_t>(prompt));
    std::vector<uint64_t> sequences(batch);
    for (size_t i = 0; i < batch; ++i) {
      for (size_t j = 0; j < prompt; ++j) rows[i][j] = static_cast<uint32_t>((i * 31 + j * 7) % 256);
      sequences[i] = next_sequence++;
    }
    const auto t0 = Clock::now();
    for (uint32_t step = 0; step < max_tokens; ++step) {
      absl::StatusOr<miner::Logits> l = m.DecodeStep(rows, sequences);
      if (!l.ok()) std::abort();
      for (size_t i = 0; i < batch; ++i) {
        auto row = l->Row(i);
        rows[i].push_back(static_cast<uint32_t>(std::max_element(row.begin(), row.end()) - row.begin()));
      }
    }
    const double took = std::chrono::duration<double>(Clock::now() - t0).count();
    for (uint64_t s : sequences) m.EndSequence(s);
    return took;
  };
  (void)generate();  // warm up
  double took = 0;
  int runs = 0;
  while (took < seconds || runs < 3) {
    took += generate();
    ++runs;
  }
  return double(batch) * max_tokens * runs / took;
}

double RawRowsPerSecond(miner::ModelBackend& m, size_t batch, size_t len) {
  std::vector<std::vector<uint32_t>> rows(batch, std::vector<uint32_t>(len));
  for (size_t i = 0; i < batch; ++i)
    for (size_t j = 0; j < len; ++j) rows[i][j] = static_cast<uint32_t>((i * 31 + j * 7) % 256);
  (void)m.NextTokenLogits(rows);  // warm up
  std::vector<double> rates;
  for (int r = 0; r < 5; ++r) {
    const auto t0 = Clock::now();
    (void)m.NextTokenLogits(rows);
    rates.push_back(double(batch) / std::chrono::duration<double>(Clock::now() - t0).count());
  }
  std::sort(rates.begin(), rates.end());
  return rates[2];
}

struct Served {
  double tokens_per_s = 0, p50_ms = 0, p99_ms = 0, mean_batch = 0;
  double in_model = 0;  // share of the run the worker spent in the model's forward
  uint64_t errors = 0;
};

Served Serve(const Args& a, size_t clients, size_t max_batch) {
  auto key = std::make_shared<const SigningKey>(SigningKey::Generate());
  miner::ServiceOptions so;
  so.endpoint = "tcp://127.0.0.1:*";
  so.workers = static_cast<int>(clients) + 8;
  so.curve = a.curve;
  so.admission.open = true;
  so.admission.rate_per_s = 0;
  so.batcher.max_batch = max_batch;
  so.batcher.max_wait = std::chrono::microseconds(2000);
  so.request_timeout = std::chrono::seconds(120);
  miner::MinerService service(MakeModel(a), std::make_unique<miner::ByteTokenizer>(), key, so);
  if (!service.Start().ok()) std::abort();
  const protocol::Peer peer{service.endpoint(), key->public_key()};
  std::atomic<uint64_t> tokens{0}, errors{0};
  std::vector<std::vector<double>> lat(clients);
  std::atomic<bool> go{false};
  const auto end_after = std::chrono::duration<double>(a.seconds);
  std::vector<std::thread> threads;
  for (size_t c = 0; c < clients; ++c) {
    threads.emplace_back([&, c] {
      protocol::ClientOptions co;
      co.curve = a.curve;
      auto client = protocol::Client::Create(std::make_shared<const SigningKey>(SigningKey::Generate()), co);
      if (!client.ok()) std::abort();
      protocol::GenerateRequest req;
      req.prompt.assign(a.prompt, 'a' + static_cast<char>(c % 26));
      req.max_tokens = a.max_tokens;
      req.seed = c;
      while (!go.load()) std::this_thread::yield();
      const auto start = Clock::now();
      while (Clock::now() - start < end_after) {
        const auto t0 = Clock::now();
        auto rep = (*client)->CallTyped<protocol::GenerateRequest, protocol::GenerateReply>(
            peer, protocol::MessageKind::kGenerateRequest, protocol::MessageKind::kGenerateReply, req,
            protocol::DeadlineAfter(std::chrono::seconds(120)));
        if (!rep.ok()) {
          ++errors;
          continue;
        }
        tokens += rep->tokens.size();
        lat[c].push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
        ++req.seed;
      }
    });
  }
  const auto t0 = Clock::now();
  go = true;
  for (auto& t : threads) t.join();
  const double elapsed = std::chrono::duration<double>(Clock::now() - t0).count();
  Served s;
  s.tokens_per_s = double(tokens.load()) / elapsed;
  s.errors = errors.load();
  std::vector<double> all;
  for (auto& l : lat) all.insert(all.end(), l.begin(), l.end());
  std::sort(all.begin(), all.end());
  if (!all.empty()) {
    s.p50_ms = all[all.size() / 2];
    s.p99_ms = all[std::min(all.size() - 1, all.size() * 99 / 100)];
  }
  const miner::MetricsSnapshot m = service.Snapshot();
  s.mean_batch = m.batcher.batches ? double(m.batcher.rows) / double(m.batcher.batches) : 0;
  s.in_model = m.batcher.forward_seconds / elapsed;
  service.Stop();
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  const Args a = Parse(argc, argv);
  auto model = MakeModel(a);
  const size_t len = a.prompt + a.max_tokens / 2;
  std::printf("model: %s\n", model->Describe().c_str());
  std::printf("torch threads: %d, OPENBLAS_CORETYPE=%s, curve=%d, %g s per point\n",
              torch::get_num_threads(), std::getenv("OPENBLAS_CORETYPE") ? std::getenv("OPENBLAS_CORETYPE") : "(unset)",
              a.curve, a.seconds);
  std::printf("generate: prompt %u bytes, %u tokens per request\n\n", a.prompt, a.max_tokens);
  std::printf("%8s %14s %14s %8s %7s %14s %10s %9s %10s %10s %7s\n", "clients", "served tok/s",
              "raw tok/s", "ratio", "drift", "no-cache tok/s", "mean batch", "in model", "p50 ms", "p99 ms",
              "errors");
  for (size_t c : a.clients) {
    const double no_cache = RawRowsPerSecond(*model, c, len);
    const double before = RawDecodeTokensPerSecond(*model, c, a.prompt, a.max_tokens, a.seconds / 2);
    const Served s = Serve(a, c, 64);
    const double after = RawDecodeTokensPerSecond(*model, c, a.prompt, a.max_tokens, a.seconds / 2);
    const double raw = (before + after) / 2;
    std::printf("%8zu %14.0f %14.0f %7.0f%% %6.2fx %14.0f %10.1f %8.0f%% %10.1f %10.1f %7llu\n", c,
                s.tokens_per_s, raw, 100.0 * s.tokens_per_s / raw, after / before, no_cache, s.mean_batch,
                100.0 * s.in_model, s.p50_ms, s.p99_ms, static_cast<unsigned long long>(s.errors));
    std::fflush(stdout);
    if (c != 16) continue;
    // Unbatched serving right after, so both see the machine alike.
    const Served u = Serve(a, 16, 1);
    std::printf("%8s %14.0f %14s %8s %7s %14s %10.1f %8.0f%% %10.1f %10.1f %7llu   (max_batch 1: %.1fx "
                "less than batched)\n",
                "16 unb.", u.tokens_per_s, "", "", "", "", u.mean_batch, 100.0 * u.in_model, u.p50_ms,
                u.p99_ms, static_cast<unsigned long long>(u.errors), s.tokens_per_s / std::max(u.tokens_per_s, 1e-9));
    std::fflush(stdout);
  }
  return 0;
}
