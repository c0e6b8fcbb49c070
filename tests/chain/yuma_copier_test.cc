// Weight copying under commit-reveal, at the level of the epoch function.
//
// Two validators with equal stake and three miners. The honest validator's
// view of the miners changes twice (the best miner goes down, then comes
// back). With commit-reveal (reveal period 1 epoch) the chain holds the
// honest validator's weights of the previous epoch, and a copier, who can only
// copy what has been revealed, holds the weights of the epoch before that: it
// is always one reveal period behind. Its bonds (an EMA of its weights) then
// sit on miners whose incentive is falling and miss those whose incentive is
// rising, so its dividends are lower. Without commit-reveal the copier reads
// the honest weights within the same tempo and earns exactly as much.
#include <cstdint>
#include <cstdio>
#include <map>
#include <vector>

#include "chain/yuma.h"
#include "gtest/gtest.h"
#include "tests/chain/yuma_test_util.h"

namespace agora::chain {
namespace {

constexpr uint16_t kHonest = 0, kCopier = 1;
constexpr uint32_t kN = 5;  // uids 2, 3, 4 are miners
constexpr int kEpochs = 30;

// What the honest validator concludes from its own measurements at epoch e.
U16Row TrueWeights(int e) {
  if (e < 10) return {{2, 65535}, {3, 30000}, {4, 5000}};
  if (e < 20) return {{2, 0}, {3, 65535}, {4, 10000}};  // miner 2 is down
  return {{2, 65535}, {3, 30000}, {4, 5000}};
}

struct Totals {
  uint64_t honest = 0, copier = 0;
};

// Runs kEpochs epochs. `lag` is the reveal period in epochs (0: no
// commit-reveal): the honest row on chain is TrueWeights(e - lag), the
// copier's is a copy of what was visible when it committed, TrueWeights(e - 2 lag).
Totals Simulate(int lag, bool yuma3, bool liquid_alpha) {
  EpochInput in = SmallSubnet(kN);
  in.yuma3 = yuma3;
  in.liquid_alpha = liquid_alpha;
  in.activity_cutoff = 100000;
  in.stake = {1'000'000'000'000, 1'000'000'000'000, 0, 0, 0};
  in.validator_permit = {true, true, false, false, false};
  Totals t;
  for (int e = 0; e < kEpochs; ++e) {
    in.current_block = 10 * static_cast<uint64_t>(e + 1);
    in.last_mechanism_step_block = e == 0 ? 0 : in.current_block - 10;
    in.weights.assign(kN, {});
    in.last_update.assign(kN, 0);
    if (e - lag >= 0) {
      in.weights[kHonest] = TrueWeights(e - lag);
      in.last_update[kHonest] = in.current_block - 1;
    }
    if (e - 2 * lag >= 0) {
      in.weights[kCopier] = TrueWeights(e - 2 * lag);
      in.last_update[kCopier] = in.current_block - 1;
    }
    absl::StatusOr<EpochOutput> out = RunEpoch(in);
    EXPECT_TRUE(out.ok()) << out.status();
    if (!out.ok()) return t;
    t.honest += out->validator_emission[kHonest];
    t.copier += out->validator_emission[kCopier];
    in.bonds = out->bonds_u16;
    in.validator_permit = out->new_validator_permit;
  }
  return t;
}

double Ratio(const Totals& t) { return static_cast<double>(t.copier) / static_cast<double>(t.honest); }

TEST(YumaCopierTest, CopierEarnsLessUnderCommitReveal) {
  for (const auto& [yuma3, liquid] : {std::pair{true, false}, {true, true}, {false, false}}) {
    const Totals cr = Simulate(/*lag=*/1, yuma3, liquid);
    const Totals direct = Simulate(/*lag=*/0, yuma3, liquid);
    std::fprintf(stderr,
                 "yuma3=%d liquid_alpha=%d: commit-reveal honest %llu copier %llu (%.4f); "
                 "without honest %llu copier %llu (%.4f)\n",
                 yuma3, liquid, static_cast<unsigned long long>(cr.honest),
                 static_cast<unsigned long long>(cr.copier), Ratio(cr),
                 static_cast<unsigned long long>(direct.honest),
                 static_cast<unsigned long long>(direct.copier), Ratio(direct));
    // Yuma3 (the devnet's) and classic: the copier loses well over the rounding.
    EXPECT_LT(Ratio(cr), 0.95);
    EXPECT_EQ(direct.copier, direct.honest) << "same rows on chain, same dividends";
  }
}

}  // namespace
}  // namespace agora::chain
