// bench_epoch: times chain::RunEpoch (I32F32 fixed point, sparse rows) next to a
// straightforward float64 dense implementation of the same spec (bench/yuma_reference_f64.h),
// measured in the same run on the same deterministic subnets (bench/epoch_subnet.h), and checks
// that the two compute the same thing, so the comparison is honest: every per-uid proportion
// (stake, active stake, consensus, validator trust, incentive, dividends) within 1e-6 (the
// spec's tolerance), permits equal, and amounts within 1e-6 * rao + 2. Exits 1 otherwise. The
// bond matrices are compared too and reported (not checked): on columns whose weights are tiny,
// the I32F32 product weight x stake keeps few significant bits (on chain as here), so the float
// result legitimately differs there by more than 1e-6.
//
// Times are the CPU time of the calling thread (one core), so that other processes on the
// machine do not inflate them; the median of the runs is reported.
//
// Usage: bench_epoch [--quick] [--runs N]
//   --quick   only the 256- and 1024-uid subnets
//   --runs N  timed runs of RunEpoch per subnet (median reported; default 15)
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_format.h"
#include "bench/epoch_subnet.h"
#include "bench/yuma_reference_f64.h"
#include "chain/yuma.h"

namespace {

double ThreadCpuMs() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

template <typename F>
std::vector<double> TimeMs(int runs, F&& f) {
  std::vector<double> ms;
  for (int r = 0; r < runs; ++r) {
    const double start = ThreadCpuMs();
    f();
    ms.push_back(ThreadCpuMs() - start);
  }
  return ms;
}

struct Row {
  uint32_t n, validators;
  const char* mode;
  size_t entries;
  double fixed_ms, f64_ms;
  agora::bench::F64Agreement agreement;
  double rao;
  bool ok;
};

}  // namespace

int main(int argc, char** argv) {
  bool quick = false;
  int runs = 15;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--quick") == 0) {
      quick = true;
    } else if (std::strcmp(argv[i], "--runs") == 0 && i + 1 < argc) {
      runs = std::max(1, std::atoi(argv[++i]));
    } else {
      std::fprintf(stderr, "usage: bench_epoch [--quick] [--runs N]\n");
      return 2;
    }
  }

  struct Mode {
    const char* name;
    bool yuma3, liquid;
  };
  const Mode modes[] = {{"classic", false, false}, {"yuma3+liquid", true, true}};
  std::vector<uint32_t> sizes = {256, 1024, 4096};
  if (quick) sizes.pop_back();

  std::printf(
      "bench_epoch: one epoch, single thread; density: each validator weights every uid"
      " at n = 256, a random 10-25%% of uids above\n");
  std::vector<Row> rows;
  uint64_t sink = 0;
  bool all_ok = true;
  for (uint32_t n : sizes) {
    for (uint32_t validators : {64u, 256u}) {
      for (const Mode& mode : modes) {
        agora::bench::SubnetSpec spec;
        spec.n = n;
        spec.validators = validators;
        spec.yuma3 = mode.yuma3;
        spec.liquid_alpha = mode.liquid;
        spec.seed = 1000003ull * n + 7919ull * validators + (mode.yuma3 ? 1 : 0);
        const agora::chain::EpochInput in = agora::bench::MakeSubnet(spec);
        size_t entries = 0;
        for (const auto& row : in.weights) entries += row.size();

        absl::StatusOr<agora::chain::EpochOutput> fixed = agora::chain::RunEpoch(in);  // warm-up
        if (!fixed.ok()) {
          std::fprintf(stderr, "RunEpoch failed: %s\n",
                       std::string(fixed.status().message()).c_str());
          return 1;
        }
        const std::vector<double> fixed_ms = TimeMs(runs, [&] {
          absl::StatusOr<agora::chain::EpochOutput> out = agora::chain::RunEpoch(in);
          sink += out->emission[0];
        });
        agora::bench::EpochOutputF64 ref;
        const int f64_runs = n >= 4096 ? 3 : 5;
        const std::vector<double> f64_ms = TimeMs(f64_runs, [&] {
          ref = agora::bench::RunEpochF64(in);
          sink += ref.emission[0];
        });
        const agora::bench::F64Agreement agreement = agora::bench::CompareWithF64(*fixed, ref);
        const double rao = static_cast<double>(in.rao_emission);
        const bool ok =
            agreement.max_proportion_diff <= 1e-6 && agreement.max_amount_diff <= 1e-6 * rao + 2;
        if (!ok) {
          std::fprintf(stderr, "DISAGREEMENT n=%u validators=%u %s: %s %.3g, %s %.3g\n", n,
                       validators, mode.name, agreement.worst_proportion.c_str(),
                       agreement.max_proportion_diff, agreement.worst_amount.c_str(),
                       agreement.max_amount_diff);
        }
        all_ok = all_ok && ok;
        rows.push_back({n, validators, mode.name, entries, Median(fixed_ms), Median(f64_ms),
                        agreement, rao, ok});
      }
    }
  }

  std::printf(
      "\n| uids | validators | mode | weight entries | RunEpoch ms | float64 dense ms |"
      " speedup | max per-uid proportion diff | max amount diff / rao |"
      " max EMA bond diff | max bonds_u16 diff |\n");
  std::printf("|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
  for (const Row& r : rows) {
    std::printf("| %u | %u | %s | %zu | %.2f | %.1f | %.1fx | %.1e%s | %.1e | %.1e | %.0f |\n", r.n,
                r.validators, r.mode, r.entries, r.fixed_ms, r.f64_ms, r.f64_ms / r.fixed_ms,
                r.agreement.max_proportion_diff, r.ok ? "" : " FAIL",
                r.agreement.max_amount_diff / r.rao, r.agreement.max_bond_diff,
                r.agreement.max_bond_u16_diff);
  }
  std::printf(
      "\n(thread CPU time; RunEpoch: median of %d runs; float64: median of 5 runs, 3 at"
      " 4096 uids; sink %llu)\n",
      runs, static_cast<unsigned long long>(sink % 10));
  if (!all_ok) std::printf("FAIL: the float64 reference disagrees beyond the tolerance\n");
  return all_ok ? 0 : 1;
}
