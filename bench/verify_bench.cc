// bench_verify: what re-running answers costs a validator next to what
// producing them cost the miner, for the same answers in the same run, and
// how many honest answers the checks flag (the false-positive rate).
//
// Usage: bench_verify [--layers 2 --dim 96 --heads 4 --context 64]
//                     [--checkpoint DIR] [--answers 2000] [--batch 16]
//                     [--prompt 24] [--max-tokens 16]
//                     [--challenges 8] [--fraction 0.25]
// Generation (the baseline): --answers completions at temperature 1, each
// with its own seed, produced by HandleGenerate through a Batcher over the
// GPT backend, --batch at a time concurrently: the miner's own path
// (batched decoding, keys and values cached). Verification: the same
// completions re-run by ModelBackend::PositionLogits, --batch completions
// per call (one teacher-forced pass when they fit the context), and
// CheckCompletion on each, as the validator does. Predict: --batch prefixes
// answered in one batched NextTokenLogits next to each prefix alone, the
// largest total-variation gap between the two (what the predict spot check
// compares, against its 0.02 tolerance). A fresh model of the given shape
// unless --checkpoint names a trained one. The validator's CPU share: per
// miner, 5 predict steps of --challenges prefixes (one re-run each step) and
// one completion (generate_every 5), re-run always and at --fraction
// (completion_check_fraction, the default 0.25).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <future>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "absl/strings/numbers.h"
#include "miner/batcher.h"
#include "miner/gpt.h"
#include "miner/handlers.h"
#include "miner/sampling_check.h"
#include "miner/tokenizer.h"

namespace {

using namespace agora;
using agora::miner::Clock;

struct Args {
  int64_t layers = 2, dim = 96, heads = 4, context = 64;
  std::string checkpoint;
  size_t answers = 2000, batch = 16;
  uint32_t prompt = 24, max_tokens = 16;
  size_t challenges = 8;   // the validator's default
  double fraction = 0.25;  // the validator's default completion_check_fraction
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
    else if (f == "--checkpoint") a.checkpoint = next();
    else if (f == "--answers") absl::SimpleAtoi(next(), &a.answers);
    else if (f == "--batch") absl::SimpleAtoi(next(), &a.batch);
    else if (f == "--prompt") absl::SimpleAtoi(next(), &a.prompt);
    else if (f == "--max-tokens") absl::SimpleAtoi(next(), &a.max_tokens);
    else if (f == "--challenges") absl::SimpleAtoi(next(), &a.challenges);
    else if (f == "--fraction") absl::SimpleAtod(next(), &a.fraction);
    else {
      std::fprintf(stderr, "unknown flag %s\n", f.c_str());
      std::exit(2);
    }
  }
  a.batch = std::max<size_t>(1, a.batch);
  a.challenges = std::max<size_t>(1, a.challenges);
  return a;
}

double Since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

}  // namespace

int main(int argc, char** argv) {
  const Args a = Parse(argc, argv);
  miner::SetUpTorchProcess();
  miner::LoadedGpt loaded;
  if (!a.checkpoint.empty()) {
    absl::StatusOr<miner::LoadedGpt> l = miner::LoadCheckpoint(a.checkpoint);
    if (!l.ok()) {
      std::fprintf(stderr, "%s\n", l.status().ToString().c_str());
      return 1;
    }
    loaded = std::move(*l);
  } else {
    miner::GptConfig c;
    c.layers = a.layers;
    c.dim = a.dim;
    c.heads = a.heads;
    c.context = a.context;
    loaded = miner::FreshGpt(c, 1);
  }
  std::unique_ptr<miner::ModelBackend> model = miner::MakeGptBackend(std::move(loaded), torch::kCPU);
  std::printf("model: %s\n", model->Describe().c_str());
  const uint32_t context = model->max_context();
  if (a.prompt + a.max_tokens > context) {
    std::printf("note: prompt + max_tokens > context: re-execution slides a window, one row per token\n");
  }

  // Prompts: bytes of a fixed text at varying offsets.
  const std::string text =
      "In the beginning God created the heaven and the earth. And the earth was without form, and "
      "void; and darkness was upon the face of the deep. And the Spirit of God moved upon the face "
      "of the waters. And God said, Let there be light: and there was light.";
  auto prompt_of = [&](size_t i) {
    const size_t at = (i * 7) % (text.size() - a.prompt);
    return text.substr(at, a.prompt);
  };

  // 1. Generation, the miner's path.
  miner::BatcherOptions bo;
  bo.max_batch = a.batch;
  miner::Batcher batcher(model.get(), bo);
  miner::ByteTokenizer tokenizer;
  std::vector<protocol::GenerateRequest> requests(a.answers);
  std::vector<protocol::GenerateReply> replies(a.answers);
  const Clock::time_point g0 = Clock::now();
  size_t refused = 0;
  for (size_t from = 0; from < a.answers; from += a.batch) {
    std::vector<std::future<absl::StatusOr<protocol::GenerateReply>>> running;
    for (size_t i = from; i < std::min(a.answers, from + a.batch); ++i) {
      requests[i].prompt = prompt_of(i);
      requests[i].max_tokens = a.max_tokens;
      requests[i].temperature = 1.0f;
      requests[i].seed = 1000 + i;
      running.push_back(std::async(std::launch::async, [&, i] {
        miner::TaskEnv env;
        env.batcher = &batcher;
        env.tokenizer = &tokenizer;
        env.model_hash = model->content_hash();
        env.vocab_size = model->vocab_size();
        env.start = Clock::now();
        env.deadline = env.start + std::chrono::minutes(5);
        return miner::HandleGenerate(requests[i], env);
      }));
    }
    for (size_t k = 0; k < running.size(); ++k) {
      absl::StatusOr<protocol::GenerateReply> r = running[k].get();
      if (r.ok()) replies[from + k] = std::move(*r); else ++refused;
    }
  }
  const double generate_s = Since(g0);
  batcher.Stop();

  // 2. Re-execution and the check of every token.
  const Clock::time_point v0 = Clock::now();
  size_t flagged = 0, checked = 0;
  std::string first_evidence;
  miner::CompletionCheckOptions check;
  for (size_t from = 0; from < a.answers; from += a.batch) {
    std::vector<std::vector<uint32_t>> rows;
    std::vector<size_t> starts;
    const size_t to = std::min(a.answers, from + a.batch);
    for (size_t i = from; i < to; ++i) {
      const std::string p = prompt_of(i);
      std::vector<uint32_t> row(p.begin(), p.end());
      row.insert(row.end(), replies[i].tokens.begin(), replies[i].tokens.end());
      starts.push_back(p.size());
      rows.push_back(std::move(row));
    }
    absl::StatusOr<std::vector<miner::Logits>> logits = model->PositionLogits(rows, starts);
    if (!logits.ok()) {
      std::fprintf(stderr, "%s\n", logits.status().ToString().c_str());
      return 1;
    }
    for (size_t i = from; i < to; ++i) {
      const miner::CompletionCheck c =
          miner::CheckCompletion(requests[i], replies[i], (*logits)[i - from], check);
      ++checked;
      if (!c.ok) {
        ++flagged;
        if (first_evidence.empty()) first_evidence = c.evidence;
      }
    }
  }
  const double verify_s = Since(v0);

  // 3. Predict: batched against single rows.
  double worst_tv = 0;
  size_t rows_compared = 0;
  for (size_t from = 0; from + a.batch <= std::max(a.batch, a.answers / 4); from += a.batch) {
    std::vector<std::vector<uint32_t>> rows;
    for (size_t i = from; i < from + a.batch; ++i) {
      const std::string p = prompt_of(i).substr(0, 8 + i % a.prompt);
      rows.emplace_back(p.begin(), p.end());
    }
    absl::StatusOr<miner::Logits> batched = model->NextTokenLogits(rows);
    if (!batched.ok()) return 1;
    for (size_t i = 0; i < rows.size(); ++i) {
      absl::StatusOr<miner::Logits> alone = model->NextTokenLogits({rows[i]});
      if (!alone.ok()) return 1;
      const std::vector<float> p = miner::Softmax(batched->Row(i)), q = miner::Softmax(alone->Row(0));
      double tv = 0;
      for (size_t v = 0; v < p.size(); ++v) tv += std::fabs(double(p[v]) - q[v]);
      worst_tv = std::max(worst_tv, tv / 2);
      ++rows_compared;
    }
  }

  // 4. A predict step as the validator runs it: each miner answers
  // `challenges` prefixes in one request; the validator re-runs one of them
  // once per model. Timed over many steps.
  const size_t challenges = a.challenges, steps = std::max<size_t>(20, a.answers / 8);
  double answer_s = 0, recheck_s = 0;
  for (size_t k = 0; k < steps; ++k) {
    std::vector<std::vector<uint32_t>> rows;
    for (size_t i = 0; i < challenges; ++i) {
      const std::string p = prompt_of(k * challenges + i);
      rows.emplace_back(p.begin(), p.end());
    }
    Clock::time_point t = Clock::now();
    if (!model->NextTokenLogits(rows).ok()) return 1;
    answer_s += Since(t);
    t = Clock::now();
    if (!model->NextTokenLogits({rows[k % challenges]}).ok()) return 1;
    recheck_s += Since(t);
  }
  // The validator's defaults: a generate challenge every 5 steps (one
  // completion per miner, re-run at --fraction once the miner is cleared)
  // and a predict step every step.
  const double per_cycle_miner = 5 * answer_s / steps + generate_s / double(a.answers);
  const double per_cycle_predict = 5 * recheck_s / steps;
  const double per_cycle_validator = per_cycle_predict + verify_s / double(a.answers);
  const double per_cycle_sampled = per_cycle_predict + a.fraction * verify_s / double(a.answers);

  std::printf("answers %zu (%zu refused), batch %zu, prompt %u, max_tokens %u\n", a.answers, refused,
              a.batch, a.prompt, a.max_tokens);
  std::printf("generate (miner, batched decoding)   %8.3f s  %8.1f us/answer\n", generate_s,
              1e6 * generate_s / double(a.answers));
  std::printf("re-run + check (validator)           %8.3f s  %8.1f us/answer\n", verify_s,
              1e6 * verify_s / double(a.answers));
  std::printf("verification / generation            %8.3f   (generation is %.1fx the check)\n",
              verify_s / generate_s, generate_s / verify_s);
  std::printf("honest answers flagged               %zu of %zu%s%s\n", flagged, checked,
              first_evidence.empty() ? "" : ": ", first_evidence.c_str());
  std::printf("predict, batched vs alone            worst total variation %.3g over %zu rows (tolerance 0.02)\n",
              worst_tv, rows_compared);
  std::printf("predict step: miner answers %zu      %8.1f us;  validator re-runs one %8.1f us  (%.3f)\n",
              challenges, 1e6 * answer_s / steps, 1e6 * recheck_s / steps, recheck_s / answer_s);
  std::printf("per miner, 5 predict steps + 1 completion (generate_every 5): miner %.1f us\n",
              1e6 * per_cycle_miner);
  std::printf("  every completion re-run:        validator %8.1f us: verification %.1f%% of answering\n",
              1e6 * per_cycle_validator, 100 * per_cycle_validator / per_cycle_miner);
  std::printf("  completions re-run at p = %.2f: validator %8.1f us: verification %.1f%% of answering "
              "(predict re-runs %.1f%%)\n",
              a.fraction, 1e6 * per_cycle_sampled, 100 * per_cycle_sampled / per_cycle_miner,
              100 * per_cycle_predict / per_cycle_miner);
  return flagged == 0 ? 0 : 1;
}
