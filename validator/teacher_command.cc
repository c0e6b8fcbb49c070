#include "validator/teacher_command.h"

#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/crypto.h"
#include "common/file_util.h"
#include "miner/model.h"
#include "validator/public_windows.h"
#include "validator/teacher_text.h"

namespace agora::validator {
namespace {

constexpr size_t kChunk = 256;             // bytes per write: the reader never waits long
constexpr uint64_t kEvaluateBytes = 65536;  // --evaluate's default sample

// Writes all of `data` to fd 1. False once the reader has gone (EPIPE).
absl::StatusOr<bool> WriteOut(absl::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::write(1, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EPIPE) return false;
    if (n < 0) return absl::InternalError(absl::StrCat("teacher: write: ", std::strerror(errno)));
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

// Mean negative log-likelihood per byte of `text` under `model`, over
// consecutive windows of its context (the first byte of each window is
// context only).
absl::StatusOr<double> LossOn(miner::ModelBackend& model, const std::string& text) {
  const size_t len = model.max_context();
  if (len < 2 || text.size() < len) return absl::InvalidArgumentError("teacher: text too short to evaluate");
  double sum = 0;
  uint64_t count = 0;
  constexpr size_t kBatch = 16;
  std::vector<std::vector<uint32_t>> rows;
  auto flush = [&]() -> absl::Status {
    if (rows.empty()) return absl::OkStatus();
    absl::StatusOr<std::vector<std::vector<float>>> lp =
        model.TokenLogprobs(rows, std::vector<size_t>(rows.size(), 1));
    if (!lp.ok()) return lp.status();
    for (const std::vector<float>& r : *lp) {
      for (float x : r) sum -= x, ++count;
    }
    rows.clear();
    return absl::OkStatus();
  };
  for (size_t at = 0; at + len <= text.size(); at += len - 1) {
    std::vector<uint32_t> row;
    for (size_t i = at; i < at + len; ++i) row.push_back(static_cast<uint8_t>(text[i]));
    rows.push_back(std::move(row));
    if (rows.size() == kBatch) {
      absl::Status s = flush();
      if (!s.ok()) return s;
    }
  }
  absl::Status s = flush();
  if (!s.ok()) return s;
  return sum / static_cast<double>(count);
}

absl::Status RunTeacher(const cli::ParsedFlags& f, cli::Context& ctx) {
  uint64_t bytes = 0;
  if (f.Has("bytes") && !absl::SimpleAtoi(f.Get("bytes"), &bytes)) {
    return cli::UsageError("--bytes must be a whole number");
  }
  double temperature = 1.0;
  if (f.Has("temperature") && (!absl::SimpleAtod(f.Get("temperature"), &temperature) ||
                               !(temperature > 0 && temperature <= 10))) {
    return cli::UsageError("--temperature must be a number in (0, 10]");
  }
  const std::vector<std::string> evaluate = cli::CommaList(f.Get("evaluate"));
  if (!evaluate.empty() && bytes == 0) bytes = kEvaluateBytes;

  Hash256 secret{};
  if (f.Has("secret-file")) {
    absl::StatusOr<std::string> text = ReadFile(f.Get("secret-file"), 1024);
    if (!text.ok()) return text.status();
    absl::StatusOr<std::string> raw = FromHex(absl::StripAsciiWhitespace(*text));
    if (!raw.ok() || raw->size() != secret.size()) {
      return cli::UsageError("--secret-file must hold 64 hex digits");
    }
    std::memcpy(secret.data(), raw->data(), secret.size());
  } else {
    RandomBytes(absl::Span<uint8_t>(secret.data(), secret.size()));  // never written anywhere
  }

  std::vector<std::string> missing;
  absl::StatusOr<PublicWindows> exclude = PublicWindows::Load(cli::CommaList(f.Get("exclude")), &missing);
  if (!exclude.ok()) return exclude.status();
  for (const std::string& m : missing) ctx.err << "teacher: --exclude " << m << " does not exist; skipped\n";

  miner::ModelSpec spec;
  spec.checkpoint_dir = f.Get("checkpoint");
  spec.force_cpu = f.Has("cpu");
  absl::StatusOr<std::unique_ptr<miner::ModelBackend>> model = miner::LoadModel(spec);
  if (!model.ok()) return model.status();
  absl::StatusOr<TeacherText> teacher =
      TeacherText::Create(model->get(), secret, temperature, &*exclude);
  if (!teacher.ok()) return teacher.status();
  ctx.err << "teacher: " << (*model)->Describe() << "; " << exclude->windows()
          << " public windows excluded from " << exclude->files() << " files\n";

  if (!evaluate.empty()) {
    absl::StatusOr<std::string> text = teacher->Next(bytes);
    if (!text.ok()) return text.status();
    for (const std::string& dir : evaluate) {
      miner::ModelSpec s;
      s.checkpoint_dir = dir;
      s.force_cpu = spec.force_cpu;
      absl::StatusOr<std::unique_ptr<miner::ModelBackend>> m = miner::LoadModel(s);
      if (!m.ok()) return m.status();
      absl::StatusOr<double> loss = LossOn(**m, *text);
      if (!loss.ok()) return loss.status();
      ctx.out << nlohmann::json{{"checkpoint", dir}, {"loss", *loss}, {"bytes", text->size()}}.dump()
              << "\n";
    }
    return absl::OkStatus();
  }
  for (uint64_t written = 0; bytes == 0 || written < bytes;) {
    const size_t n = bytes == 0 ? kChunk : static_cast<size_t>(std::min<uint64_t>(kChunk, bytes - written));
    absl::StatusOr<std::string> text = teacher->Next(n);
    if (!text.ok()) return text.status();
    absl::StatusOr<bool> more = WriteOut(*text);
    if (!more.ok()) return more.status();
    if (!*more) return absl::OkStatus();  // the reader is done
    written += n;
  }
  return absl::OkStatus();
}

}  // namespace

cli::Command TeacherCommand() {
  return cli::Command{
      "agora-validator teacher",
      "write challenge text sampled from a private checkpoint with a secret seed",
      "Samples bytes from a private byte-level checkpoint (one that is never\n"
      "registered or served) with a secret drawn at start (or read from\n"
      "--secret-file), and writes them to standard output: endlessly, or --bytes\n"
      "of them. A byte that would complete a 32-byte window of the --exclude texts\n"
      "is refused and redrawn, so no lookup over public text finds the\n"
      "continuation of a challenge. The validator reads it as its holdout_command.\n"
      "With --evaluate it prints, for each listed checkpoint, its loss (nats/byte)\n"
      "on --bytes (default 65536) of fresh text, as JSON lines. See docs/VALIDATOR.md.",
      {
          {"checkpoint", "DIR", "the teacher: a private agora-train checkpoint", /*required=*/true},
          {"exclude", "PATHS",
           "public texts (files or directories, comma-separated) whose 32-byte windows the text never "
           "contains; missing ones are skipped"},
          {"bytes", "N", "stop after N bytes (default: endless)"},
          {"temperature", "X", "sampling temperature (default 1)"},
          {"secret-file", "FILE", "64 hex digits to seed the text with (default: fresh random, never saved)"},
          {"evaluate", "DIRS", "checkpoints to score on fresh text instead of writing text"},
          {"cpu", "", "run on the CPU even if CUDA is available"},
      },
      &RunTeacher,
      {}};
}

}  // namespace agora::validator
