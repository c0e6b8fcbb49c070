// bench_perturb: what a model thief pays to escape the duplicate rule. A
// thief serves another's checkpoint with every weight nudged (the
// perturbed-copy adversary, miner/gpt.h PerturbWeights) under a hash of its
// own. Its predict answer is a duplicate of the original's (and earns
// nothing: validator/duplicates.h) when every distribution of the answer is
// within the tolerance (total variation) of the original's; it escapes when
// one is not, and pays for that in held-out loss. For each noise scale this
// prints, over --positions prefixes of a text: the total-variation gap to
// the original (median, largest), the share of distributions within the
// tolerance, the share of --per-answer consecutive distributions all within
// it (answers that are duplicates), and the copy's loss next to the
// original's, measured in the same run (the baseline). --others lists
// independent checkpoints (other seeds, sizes) measured the same way against
// the original: how far apart models that are not copies are, which a rule
// that treats near models as copies must stay clear of.
//
// Usage: bench_perturb --checkpoint DIR --text FILE [--positions 4096]
//                      [--prefix 48] [--per-answer 8] [--tolerance 0.02]
//                      [--seed 1] [--derived 0.08] [--others DIR,DIR...]
// "derived" is the share of answers whose mean total variation is within
// --derived (the validator's derived_tolerance): answers the duplicate rule
// counts as a derived model's, as a copy's.
// Tokens are the text's bytes (the devnet's models are byte-level).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "common/file_util.h"
#include "miner/gpt.h"
#include "miner/handlers.h"

namespace {

using namespace agora;

struct Args {
  std::string checkpoint, text;
  std::vector<std::string> others;
  size_t positions = 4096, prefix = 48, per_answer = 8;
  double tolerance = 0.02;
  double derived = 0.08;
  uint64_t seed = 1;
};

Args Parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string f = argv[i];
    auto next = [&]() -> const char* { return i + 1 < argc ? argv[++i] : "0"; };
    if (f == "--checkpoint") a.checkpoint = next();
    else if (f == "--text") a.text = next();
    else if (f == "--positions") absl::SimpleAtoi(next(), &a.positions);
    else if (f == "--prefix") absl::SimpleAtoi(next(), &a.prefix);
    else if (f == "--per-answer") absl::SimpleAtoi(next(), &a.per_answer);
    else if (f == "--tolerance") absl::SimpleAtod(next(), &a.tolerance);
    else if (f == "--derived") absl::SimpleAtod(next(), &a.derived);
    else if (f == "--seed") absl::SimpleAtoi(next(), &a.seed);
    else if (f == "--others") a.others = absl::StrSplit(next(), ',', absl::SkipEmpty());
    else {
      std::fprintf(stderr, "unknown flag %s\n", f.c_str());
      std::exit(2);
    }
  }
  if (a.checkpoint.empty() || a.text.empty()) {
    std::fprintf(stderr, "usage: bench_perturb --checkpoint DIR --text FILE [...]\n");
    std::exit(2);
  }
  a.per_answer = std::max<size_t>(1, a.per_answer);
  return a;
}

// Next-token distributions of `model` for every row, 64 rows a pass.
std::vector<std::vector<float>> Distributions(miner::ModelBackend& model,
                                              const std::vector<std::vector<uint32_t>>& rows) {
  std::vector<std::vector<float>> out;
  for (size_t from = 0; from < rows.size(); from += 64) {
    std::vector<std::vector<uint32_t>> batch(rows.begin() + from,
                                             rows.begin() + std::min(rows.size(), from + 64));
    absl::StatusOr<miner::Logits> l = model.NextTokenLogits(batch);
    if (!l.ok()) {
      std::fprintf(stderr, "%s\n", l.status().ToString().c_str());
      std::exit(1);
    }
    for (size_t k = 0; k < batch.size(); ++k) out.push_back(miner::Softmax(l->Row(k)));
  }
  return out;
}

double Loss(const std::vector<std::vector<float>>& dists, const std::vector<uint32_t>& targets) {
  double sum = 0;
  for (size_t i = 0; i < dists.size(); ++i) {
    sum -= std::log(std::max(1e-9, double(dists[i][targets[i]])));
  }
  return sum / double(dists.size());
}

}  // namespace

int main(int argc, char** argv) {
  const Args a = Parse(argc, argv);
  miner::SetUpTorchProcess();
  absl::StatusOr<std::string> text = ReadFile(a.text, size_t{1} << 30);
  if (!text.ok() || text->size() < a.prefix + 2) {
    std::fprintf(stderr, "%s: cannot read, or too short\n", a.text.c_str());
    return 1;
  }
  absl::StatusOr<miner::LoadedGpt> original = miner::LoadCheckpoint(a.checkpoint);
  if (!original.ok()) {
    std::fprintf(stderr, "%s\n", original.status().ToString().c_str());
    return 1;
  }
  // Prefixes spread evenly over the text, each followed by its target byte.
  std::vector<std::vector<uint32_t>> rows;
  std::vector<uint32_t> targets;
  const size_t span = text->size() - a.prefix - 1;
  for (size_t i = 0; i < a.positions; ++i) {
    const size_t at = span * i / a.positions;
    rows.emplace_back(text->begin() + at, text->begin() + at + a.prefix);
    for (uint32_t& t : rows.back()) t &= 0xff;
    targets.push_back(uint8_t((*text)[at + a.prefix]));
  }
  const std::string shape = original->model->config().ToJson();
  auto backend = miner::MakeGptBackend(std::move(*original), torch::kCPU);
  const std::vector<std::vector<float>> truth = Distributions(*backend, rows);
  const double base = Loss(truth, targets);
  std::printf("model %s (%s), %zu prefixes of %zu bytes, answers of %zu, tolerance %.3f\n",
              a.checkpoint.c_str(), shape.c_str(), rows.size(), a.prefix, a.per_answer,
              a.tolerance);
  std::printf("original (baseline): loss %.4f nats/byte\n\n", base);
  std::printf("%-10s %10s %10s %10s %8s %10s %11s %8s %10s %10s\n", "noise", "TV p50", "TV max",
              "TV mean", "within", "dup ans", "ans mean>=", "derived", "loss", "vs orig");
  // One row: a candidate's distributions against the original's. "ans
  // mean>=" is the smallest per-answer mean TV among 95% of answers (the 5th
  // percentile): how far a rule on an answer's mean distance would have to
  // reach to call nearly every answer of this candidate a copy.
  auto report = [&](const std::string& name, miner::ModelBackend& candidate) {
    const std::vector<std::vector<float>> got = Distributions(candidate, rows);
    std::vector<double> tv(rows.size());
    size_t within = 0;
    double mean = 0;
    for (size_t i = 0; i < rows.size(); ++i) {
      double d = 0;
      for (size_t t = 0; t < got[i].size(); ++t) d += std::fabs(double(got[i][t]) - truth[i][t]);
      tv[i] = d / 2;
      mean += tv[i] / double(rows.size());
      within += tv[i] <= a.tolerance ? 1 : 0;
    }
    size_t answers = 0, duplicates = 0, derived = 0;
    std::vector<double> answer_means;
    for (size_t from = 0; from + a.per_answer <= rows.size(); from += a.per_answer) {
      ++answers;
      bool all = true;
      double m = 0;
      for (size_t i = from; i < from + a.per_answer; ++i) {
        all = all && tv[i] <= a.tolerance;
        m += tv[i] / double(a.per_answer);
      }
      answer_means.push_back(m);
      duplicates += all ? 1 : 0;
      derived += all || m <= a.derived ? 1 : 0;
    }
    std::sort(answer_means.begin(), answer_means.end());
    std::vector<double> sorted = tv;
    std::sort(sorted.begin(), sorted.end());
    const double loss = Loss(got, targets);
    std::printf("%-10s %10.5f %10.5f %10.5f %7.1f%% %9.1f%% %11.5f %7.1f%% %10.4f %+9.2f%%\n",
                name.c_str(), sorted[sorted.size() / 2], sorted.back(), mean,
                100.0 * within / rows.size(), 100.0 * duplicates / std::max<size_t>(1, answers),
                answer_means.empty() ? 0.0 : answer_means[answer_means.size() / 20],
                100.0 * derived / std::max<size_t>(1, answers), loss, 100 * (loss / base - 1));
  };
  for (double scale : {1e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1, 3e-1}) {
    absl::StatusOr<miner::LoadedGpt> copy = miner::LoadCheckpoint(a.checkpoint);
    if (!copy.ok()) return 1;
    miner::PerturbWeights(copy->model, scale, a.seed);
    auto copied = miner::MakeGptBackend(std::move(*copy), torch::kCPU);
    char name[32];
    std::snprintf(name, sizeof(name), "%g", scale);
    report(name, *copied);
  }
  for (const std::string& dir : a.others) {
    absl::StatusOr<miner::LoadedGpt> other = miner::LoadCheckpoint(dir);
    if (!other.ok()) {
      std::fprintf(stderr, "%s\n", other.status().ToString().c_str());
      return 1;
    }
    std::printf("other %s: %s\n", dir.c_str(), other->model->config().ToJson().c_str());
    auto backend_other = miner::MakeGptBackend(std::move(*other), torch::kCPU);
    report(dir.substr(dir.find_last_of('/') + 1), *backend_other);
  }
  return 0;
}
