#include "validator/holdout.h"

#include <algorithm>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "common/crypto.h"
#include "common/file_util.h"

namespace agora::validator {
namespace {

constexpr size_t kMaxSourceBytes = size_t{1} << 30;

// SplitMix64: a tiny generator whose stream is the same on every platform,
// so a step's challenges follow from its seed alone (score records carry it).
uint64_t Mix(uint64_t& state) {
  uint64_t z = (state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

}  // namespace

absl::StatusOr<std::unique_ptr<HoldoutSource>> HoldoutSource::Open(
    const std::vector<std::string>& paths) {
  if (paths.empty()) return absl::InvalidArgumentError("holdout: no source configured");
  std::vector<std::string> files;
  for (const std::string& p : paths) {
    std::error_code ec;
    if (std::filesystem::is_directory(p, ec)) {
      std::vector<std::string> in_dir;
      for (const auto& e : std::filesystem::directory_iterator(p, ec)) {
        if (e.is_regular_file()) in_dir.push_back(e.path().string());
      }
      if (ec) return absl::NotFoundError(absl::StrCat("holdout: ", p, ": ", ec.message()));
      std::sort(in_dir.begin(), in_dir.end());
      files.insert(files.end(), in_dir.begin(), in_dir.end());
    } else {
      files.push_back(p);
    }
  }
  std::string text, names;
  for (const std::string& f : files) {
    absl::StatusOr<std::string> t = ReadFile(f, kMaxSourceBytes);
    if (!t.ok()) return absl::Status(t.status().code(), absl::StrCat("holdout: ", t.status().message()));
    absl::StrAppend(&names, f, ":", t->size(), ";");
    text += *t;
  }
  if (text.size() < 2) return absl::InvalidArgumentError("holdout: sources hold fewer than 2 bytes");
  // The fingerprint hashes contents too: a replaced file of the same size
  // must not inherit the old cursor.
  const std::string fp = ToHex(Blake2b256(absl::StrCat(names, "|", ToHex(Blake2b256(text)))));
  return std::unique_ptr<HoldoutSource>(new HoldoutSource(std::move(text), fp));
}

std::vector<Challenge> HoldoutSource::Cut(uint64_t cursor, size_t count, uint32_t min_len,
                                          uint32_t max_len, uint64_t seed, uint64_t* next) const {
  std::vector<Challenge> out;
  uint64_t rng = seed;
  min_len = std::max<uint32_t>(min_len, 1);
  max_len = std::max(max_len, min_len);
  uint64_t at = cursor;
  for (size_t i = 0; i < count; ++i) {
    const uint32_t len = min_len + static_cast<uint32_t>(Mix(rng) % (max_len - min_len + 1));
    if (at + len + 1 > text_.size()) break;
    Challenge c;
    c.offset = at;
    c.prefix.reserve(len);
    for (uint32_t k = 0; k < len; ++k) c.prefix.push_back(static_cast<uint8_t>(text_[at + k]));
    c.target = static_cast<uint8_t>(text_[at + len]);
    out.push_back(std::move(c));
    at += len + 1;
  }
  *next = at;
  return out;
}

double StepsLeft(uint64_t size, uint64_t cursor, size_t challenges_per_step, uint32_t min_len,
                 uint32_t max_len) {
  const double per_step = challenges_per_step * ((double(min_len) + double(max_len)) / 2.0 + 1.0);
  if (per_step <= 0 || cursor >= size) return 0;
  return double(size - cursor) / per_step;
}

}  // namespace agora::validator
