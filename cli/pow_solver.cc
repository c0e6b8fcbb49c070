#include "cli/pow_solver.h"

#include <algorithm>
#include <atomic>
#include <thread>
#include <vector>

#include "chain/tx.h"

namespace agora::cli {

bool CheckPow(const PowTask& task, uint64_t nonce) {
  return chain::LeadingZeroBits(chain::PowHash(task.netuid, task.hotkey, task.coldkey,
                                               task.block_hash, nonce)) >= task.difficulty;
}

PowRound SolvePow(const PowTask& task, uint64_t first_nonce, std::chrono::milliseconds budget,
                  int threads) {
  threads = std::max(1, threads);
  const auto deadline = std::chrono::steady_clock::now() + budget;
  constexpr uint64_t kBatch = 1024;  // hashes between looks at the clock and the others
  std::atomic<bool> done{false};
  std::atomic<uint64_t> hashes{0};
  std::atomic<uint64_t> found{0};
  std::atomic<bool> have_found{false};
  auto worker = [&](uint64_t t) {
    // Thread t takes batches t, t + threads, t + 2 * threads, ... (nonces wrap
    // around at 2^64, which no search will ever reach).
    for (uint64_t batch = t; !done.load(std::memory_order_relaxed); batch += threads) {
      const uint64_t start = first_nonce + batch * kBatch;
      for (uint64_t i = 0; i < kBatch; ++i) {
        if (CheckPow(task, start + i)) {
          hashes.fetch_add(i + 1, std::memory_order_relaxed);
          if (!have_found.exchange(true)) found.store(start + i);
          done.store(true);
          return;
        }
      }
      hashes.fetch_add(kBatch, std::memory_order_relaxed);
      if (std::chrono::steady_clock::now() >= deadline) done.store(true);
    }
  };
  std::vector<std::thread> pool;
  for (int t = 1; t < threads; ++t) pool.emplace_back(worker, static_cast<uint64_t>(t));
  worker(0);
  for (std::thread& th : pool) th.join();
  PowRound round;
  round.hashes = hashes.load();
  if (have_found.load()) round.nonce = found.load();
  return round;
}

}  // namespace agora::cli
