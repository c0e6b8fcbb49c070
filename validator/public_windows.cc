#include "validator/public_windows.h"

#include <algorithm>
#include <filesystem>
#include <system_error>

#include "absl/strings/str_cat.h"
#include "common/file_util.h"

namespace agora::validator {
namespace {

constexpr uint64_t kBase = 0x100000001B3ull;  // odd: the hash is a polynomial in it mod 2^64

// kBase^(kPublicWindow - 1): what the byte leaving a rolling window weighed.
uint64_t OutWeight() {
  uint64_t w = 1;
  for (size_t i = 1; i < kPublicWindow; ++i) w *= kBase;
  return w;
}

// Calls f(offset, hash) for every window of `text`, rolling.
template <typename F>
void ForEachWindow(absl::string_view text, F f) {
  if (text.size() < kPublicWindow) return;
  static const uint64_t out_weight = OutWeight();
  uint64_t h = 0;
  for (size_t i = 0; i < kPublicWindow; ++i) h = h * kBase + static_cast<uint8_t>(text[i]) + 1;
  f(size_t{0}, h);
  for (size_t i = kPublicWindow; i < text.size(); ++i) {
    h -= (static_cast<uint8_t>(text[i - kPublicWindow]) + 1) * out_weight;
    h = h * kBase + static_cast<uint8_t>(text[i]) + 1;
    f(i - kPublicWindow + 1, h);
  }
}

}  // namespace

absl::StatusOr<PublicWindows> PublicWindows::Load(const std::vector<std::string>& paths,
                                                  std::vector<std::string>* missing,
                                                  size_t max_bytes) {
  namespace fs = std::filesystem;
  std::vector<std::string> files;
  for (const std::string& p : paths) {
    std::error_code ec;
    const fs::file_status st = fs::symlink_status(p, ec);
    if (ec || !fs::exists(st)) {
      if (missing != nullptr) missing->push_back(p);
      continue;
    }
    if (fs::is_directory(st)) {
      for (fs::recursive_directory_iterator it(p, ec), end; !ec && it != end; it.increment(ec)) {
        if (it->is_regular_file(ec) && !it->is_symlink(ec)) files.push_back(it->path().string());
      }
      if (ec) return absl::NotFoundError(absl::StrCat("public text ", p, ": ", ec.message()));
    } else {
      files.push_back(p);
    }
  }
  std::sort(files.begin(), files.end());
  PublicWindows w;
  for (const std::string& f : files) {
    absl::StatusOr<std::string> text = ReadFile(f, max_bytes - std::min<uint64_t>(w.bytes_, max_bytes));
    if (!text.ok()) {
      return absl::Status(text.status().code(),
                          absl::StrCat("public text (at most ", max_bytes, " bytes in all): ",
                                       text.status().message()));
    }
    w.Add(*text);
  }
  w.Seal();
  return w;
}

PublicWindows PublicWindows::Of(absl::string_view text) {
  PublicWindows w;
  w.Add(text);
  w.Seal();
  return w;
}

void PublicWindows::Add(absl::string_view text) {
  ++files_;
  bytes_ += text.size();
  ForEachWindow(text, [&](size_t, uint64_t h) { hashes_.push_back(h); });
}

void PublicWindows::Seal() {
  std::sort(hashes_.begin(), hashes_.end());
  hashes_.erase(std::unique(hashes_.begin(), hashes_.end()), hashes_.end());
  hashes_.shrink_to_fit();
}

bool PublicWindows::Contains(absl::string_view window) const {
  if (window.size() != kPublicWindow) return false;
  bool found = false;
  ForEachWindow(window, [&](size_t, uint64_t h) {
    found = std::binary_search(hashes_.begin(), hashes_.end(), h);
  });
  return found;
}

std::optional<size_t> PublicWindows::FirstShared(absl::string_view text) const {
  std::optional<size_t> first;
  ForEachWindow(text, [&](size_t at, uint64_t h) {
    if (!first && std::binary_search(hashes_.begin(), hashes_.end(), h)) first = at;
  });
  return first;
}

}  // namespace agora::validator
