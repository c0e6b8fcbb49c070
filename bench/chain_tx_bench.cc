// bench_chain_tx: signed chain transactions validated, applied and durably
// committed per second, each figure next to a baseline from the same run
// (docs/BENCHMARKS.md "Chain transactions"):
//   (a) libsodium's bound: ed25519 verifies/s of a ~200-byte message on one
//       core (VerifySignature, timed in thread CPU time, best of 5 samples);
//   (b) the Ledger (chain/ledger.h) on a temporary directory: --threads
//       submitters, one account each, Submit() pre-signed transfers while a
//       sealer seals a block every 100 ms; txs/s of wall time (each Submit
//       returns once its transaction is durable) and per CPU-second of the
//       process, and both as a ratio to (a);
//   (c) the same through the real node (RunChainNode in this process, CURVE on)
//       and ChainClient::Submit from --threads threads over loopback;
//   (d) where a transaction's time goes: single-thread cost of each step of
//       Ledger::Submit, and of one group commit (SQLite, synchronous=FULL).
// (b) and (c) are medians of --reps runs, each on a fresh directory.
//
// Usage: bench_chain_tx [--threads N] [--txs N] [--reps N] [--clients N] [--no-node]
//   --clients N: N ChainClients shared by the threads in (c) (default: one each)
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "chain/apply.h"
#include "chain/client.h"
#include "chain/genesis.h"
#include "chain/ledger.h"
#include "chain/node.h"
#include "chain/store.h"
#include "chain/tx.h"
#include "common/address.h"
#include "common/crypto.h"
#include "common/file_util.h"
#include "common/log.h"
#include "protocol/codec.h"

namespace agora::bench {
namespace {

using namespace agora::chain;
using Clock = std::chrono::steady_clock;

struct Flags {
  int threads = 64;
  int txs = 12800;  // per repetition, split evenly over the threads
  int reps = 3;
  bool node = true;
  int clients = 0;  // ChainClients for (c), shared round-robin by the threads; 0: one per thread
};

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

double CpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_utime.tv_sec + u.ru_stime.tv_sec + (u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

double ThreadCpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

SigningKey Key(const std::string& name) {
  absl::StatusOr<SigningKey> k = SigningKey::FromSeed(Blake2b256("agora-bench-chain:" + name));
  if (!k.ok()) std::abort();
  return std::move(*k);
}

// A fresh directory, removed on destruction.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "agora-bench-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) std::abort();
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// The benchmark's chain: one funded account per submitter thread.
struct World {
  std::vector<SigningKey> senders;
  PublicKey sink{};
  std::string genesis_text;
  Genesis genesis;
  // per thread, its transactions in nonce order
  std::vector<std::vector<SignedTx>> txs;
};

World MakeWorld(int threads, int txs_per_thread) {
  World w;
  w.sink = Key("sink").public_key();
  w.genesis_text = "chain_id = \"agora-bench\"\nblock_interval_ms = 100\n";
  for (int i = 0; i < threads; ++i) {
    w.senders.push_back(Key(absl::StrCat("sender-", i)));
    absl::StrAppend(&w.genesis_text, "[[accounts]]\naddress = \"",
                    EncodeAddress(w.senders.back().public_key()), "\"\nbalance = 1000000000000\n");
  }
  absl::StrAppend(&w.genesis_text, "[[subnets]]\nnetuid = 1\nowner = \"", EncodeAddress(w.sink),
                  "\"\n[subnets.params]\ntempo = 10\n");
  absl::StatusOr<Genesis> g = ParseGenesis(w.genesis_text, "bench");
  if (!g.ok()) std::abort();
  w.genesis = std::move(*g);
  w.txs.resize(threads);
  for (int i = 0; i < threads; ++i) {
    for (int k = 0; k < txs_per_thread; ++k) {
      w.txs[i].push_back(MakeTx(w.senders[i], "agora-bench", kTxTransfer, static_cast<uint64_t>(k),
                                TransferTx{w.sink, 1 + static_cast<Amount>(k)}));
    }
  }
  return w;
}

// (a) One core's ed25519 verifies per second (thread CPU time): the best of
// five 0.25 s samples, the least disturbed by whatever else shares the core
// (so the ratios below are, if anything, understated).
double VerifyBound() {
  const SigningKey key = Key("verify");
  const std::string msg(200, 'x');
  const Signature sig = key.Sign(msg);
  double best = 0;
  for (int sample = 0; sample < 5; ++sample) {
    int n = 0;
    const double start = ThreadCpuSeconds();
    while (ThreadCpuSeconds() - start < 0.25) {
      for (int i = 0; i < 64; ++i) n += VerifySignature(key.public_key(), AsBytes(msg), sig) ? 1 : 0;
    }
    best = std::max(best, n / (ThreadCpuSeconds() - start));
  }
  return best;
}

struct Rate {
  double wall = 0;  // txs per second of wall time
  double cpu = 0;   // txs per CPU-second of the whole process
  int failed = 0;
};

// Runs `submit(thread, index)` for every transaction from one thread per account
// while a sealer seals a block every 100 ms.
template <typename SubmitFn, typename SealFn>
Rate Drive(const World& w, SubmitFn submit, SealFn seal) {
  std::atomic<int> failed{0};
  std::atomic<bool> go{false}, done{false};
  std::vector<std::thread> threads;
  for (size_t i = 0; i < w.txs.size(); ++i) {
    threads.emplace_back([&, i] {
      while (!go.load()) std::this_thread::yield();
      for (size_t k = 0; k < w.txs[i].size(); ++k) {
        if (!submit(i, k)) failed.fetch_add(1);
      }
    });
  }
  std::thread sealer([&] {
    auto next = Clock::now();
    while (!done.load()) {
      next += std::chrono::milliseconds(100);
      std::this_thread::sleep_until(next);
      seal();
    }
  });
  size_t total = 0;
  for (const auto& t : w.txs) total += t.size();
  const double cpu0 = CpuSeconds();
  const auto t0 = Clock::now();
  go = true;
  for (std::thread& t : threads) t.join();
  const double wall = Seconds(Clock::now() - t0);
  const double cpu = CpuSeconds() - cpu0;
  done = true;
  sealer.join();
  // Only transactions that were acknowledged count.
  const double ok = static_cast<double>(total - static_cast<size_t>(failed.load()));
  return Rate{ok / wall, ok / cpu, failed.load()};
}

Rate LedgerRun(const World& w) {
  TempDir dir;
  absl::StatusOr<std::unique_ptr<Ledger>> ledger =
      Ledger::Open(w.genesis, dir.path() + "/chain.db", LedgerOptions{});
  if (!ledger.ok()) {
    std::fprintf(stderr, "ledger: %s\n", ledger.status().ToString().c_str());
    std::exit(1);
  }
  std::vector<std::vector<std::string>> bytes(w.txs.size());
  for (size_t i = 0; i < w.txs.size(); ++i) {
    for (const SignedTx& tx : w.txs[i]) bytes[i].push_back(protocol::Encode(tx));
  }
  uint64_t ts = 0;
  return Drive(
      w, [&](size_t i, size_t k) { return (*ledger)->Submit(bytes[i][k]).ok(); },
      [&] { (void)(*ledger)->SealBlock(ts += 100); });
}

Rate NodeRun(const World& w, int num_clients) {
  TempDir dir;
  const std::string genesis_path = dir.path() + "/genesis.toml";
  if (!WriteFileAtomic(genesis_path, w.genesis_text, 0644).ok()) std::abort();
  ChainNodeOptions o;
  o.genesis_path = genesis_path;
  o.data_dir = dir.path() + "/data";
  o.endpoint = "tcp://127.0.0.1:*";
  o.events_endpoint = "tcp://127.0.0.1:*";
  o.block_interval_ms = 100;
  o.workers = 64;
  std::atomic<bool> stop{false};
  absl::Status node_status;
  std::thread node([&] { node_status = RunChainNode(o, &stop); });
  std::string url;
  const auto deadline = Clock::now() + std::chrono::seconds(20);
  while (Clock::now() < deadline) {
    absl::StatusOr<std::string> u = ReadFile(o.data_dir + "/chain.url", 4096);
    if (u.ok() && !u->empty() && u->back() == '\n') {
      url = u->substr(0, u->size() - 1);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (url.empty()) {
    stop = true;
    node.join();
    std::fprintf(stderr, "node did not start: %s\n", node_status.ToString().c_str());
    std::exit(1);
  }
  ChainClientOptions copts;
  copts.timeout = std::chrono::milliseconds(30000);
  copts.attempts = 1;
  std::atomic<bool> first_error{false};
  // Each client verifies its replies on its own I/O thread and signs with its
  // own transport key (so has its own nonce sequence at the node).
  std::vector<std::unique_ptr<ChainClient>> clients;
  for (int c = 0; c < num_clients; ++c) {
    absl::StatusOr<std::unique_ptr<ChainClient>> client = ChainClient::Connect(url, nullptr, copts);
    if (!client.ok()) std::abort();
    clients.push_back(std::move(*client));
  }
  const Rate r = Drive(
      w,
      [&](size_t i, size_t k) {
        absl::StatusOr<TxReceiptMsg> r = clients[i % clients.size()]->Submit(w.txs[i][k]);
        if (!r.ok() && first_error.exchange(true) == false) {
          std::fprintf(stderr, "    first failed submission: %s\n", r.status().ToString().c_str());
        }
        return r.ok();
      },
      [] {});  // the node seals on its own timer
  clients.clear();
  stop = true;
  node.join();
  return r;
}

// (d) Single-thread cost of each step Ledger::Submit takes, in microseconds.
void Breakdown(const World& w) {
  const std::string bytes = protocol::Encode(w.txs[0][0]);
  const int n = 4000;
  auto time = [&](const char* what, auto&& fn) {
    const double t0 = ThreadCpuSeconds();
    for (int i = 0; i < n; ++i) fn();
    const double us = (ThreadCpuSeconds() - t0) / n * 1e6;
    std::printf("  %-44s %8.1f us\n", what, us);
    return us;
  };
  std::printf("(d) where a transaction's time goes (one thread, CPU time per tx):\n");
  double total = 0;
  total += time("DecodeSignedTx (decode + canonical check)", [&] { (void)DecodeSignedTx(bytes); });
  const SignedTx tx = *DecodeSignedTx(bytes);
  total += time("VerifyTx (decode body + ed25519 verify)", [&] { (void)VerifyTx(tx); });
  total += time("TxHash (encode + BLAKE2b)", [&] { (void)TxHash(tx); });
  const TxBody body = *VerifyTx(tx);
  ChainState state = w.genesis.state;
  total += time("ApplyTx (transfer), state lock held", [&] {
    state.accounts[body.signer].nonce = 0;
    (void)ApplyTx(state, body, 1);
  });
  std::printf("  %-44s %8.1f us\n", "sum", total);
  // One group commit of 64 transactions.
  TempDir dir;
  absl::StatusOr<std::unique_ptr<ChainStore>> store =
      ChainStore::Open(dir.path() + "/c.db", w.genesis.hash);
  if (!store.ok()) std::abort();
  const int batches = 50, per = 64;
  double cpu0 = CpuSeconds();
  const auto t0 = Clock::now();
  for (int b = 0; b < batches; ++b) {
    std::vector<LogEvent> events;
    for (int k = 0; k < per; ++k) {
      Hash256 h = Blake2b256(absl::StrCat(b, ":", k));
      events.push_back(LogEvent{TxRecord{1, static_cast<uint32_t>(k), h, bytes}, std::nullopt});
    }
    if (!(*store)->Append(events).ok()) std::abort();
  }
  const double wall_ms = Seconds(Clock::now() - t0) * 1e3 / batches;
  const double cpu_us = (CpuSeconds() - cpu0) * 1e6 / batches;
  std::printf("  %-44s %8.2f ms wall, %.0f us CPU (%.1f us CPU per tx)\n",
              "ChainStore::Append of 64 txs (one fsync)", wall_ms, cpu_us, cpu_us / per);
}

int Main(int argc, char** argv) {
  Flags f;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> int {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "%s needs a value\n", a.c_str());
        std::exit(2);
      }
      return std::atoi(argv[++i]);
    };
    if (a == "--threads") {
      f.threads = std::max(1, value());
    } else if (a == "--txs") {
      f.txs = std::max(1, value());
    } else if (a == "--reps") {
      f.reps = std::max(1, value());
    } else if (a == "--clients") {
      f.clients = std::max(0, value());
    } else if (a == "--no-node") {
      f.node = false;
    } else {
      std::fprintf(stderr, "usage: bench_chain_tx [--threads N] [--txs N] [--reps N] [--clients N] [--no-node]\n");
      return 2;
    }
  }
  log::SetLevel(log::Level::kWarn);
  if (!InitCrypto().ok()) return 1;
  const int per_thread = std::max(1, f.txs / f.threads);
  std::printf("bench_chain_tx: %d threads x %d transfers, %d reps, %u cores\n", f.threads,
              per_thread, f.reps, std::thread::hardware_concurrency());
  const World w = MakeWorld(f.threads, per_thread);

  const double bound = VerifyBound();
  std::printf("(a) libsodium verify bound (200-byte message, one core): %.0f verifies/s\n", bound);

  std::vector<double> wall, cpu;
  for (int r = 0; r < f.reps; ++r) {
    const Rate x = LedgerRun(w);
    if (x.failed) std::printf("    ledger run %d: %d submissions failed\n", r, x.failed);
    wall.push_back(x.wall);
    cpu.push_back(x.cpu);
  }
  std::printf("(b) Ledger::Submit, durable:  %8.0f txs/s wall (%.0f%% of the bound), %8.0f txs per "
              "CPU-second (%.0f%%)\n",
              Median(wall), 100 * Median(wall) / bound, Median(cpu), 100 * Median(cpu) / bound);
  if (f.node) {
    wall.clear();
    cpu.clear();
    for (int r = 0; r < f.reps; ++r) {
      const Rate x = NodeRun(w, f.clients > 0 ? f.clients : f.threads);
      if (x.failed) std::printf("    node run %d: %d submissions failed\n", r, x.failed);
      wall.push_back(x.wall);
      cpu.push_back(x.cpu);
    }
    std::printf("(c) node + ChainClient, durable: %5.0f txs/s wall (%.0f%% of the bound), %8.0f txs "
                "per CPU-second (%.0f%%; client and node share the process)\n",
                Median(wall), 100 * Median(wall) / bound, Median(cpu), 100 * Median(cpu) / bound);
  }
  Breakdown(w);
  return 0;
}

}  // namespace
}  // namespace agora::bench

int main(int argc, char** argv) { return agora::bench::Main(argc, argv); }
