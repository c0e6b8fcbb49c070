#include "cli/amount.h"

#include <cstdio>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace agora::cli {
namespace {

using chain::Amount;
using chain::kMaxAmount;
using chain::kUnitsPerToken;

bool AllDigits(absl::string_view s) {
  for (char c : s) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) return false;
  }
  return !s.empty();
}

std::string Shown(absl::string_view text) { return absl::CEscape(text.substr(0, 40)); }

// n * 10000 / d rounded half up, for n <= d (so the result is in [0, 10000]).
std::string FourDecimals(uint64_t n, uint64_t d) {
  // n <= d < 2^64: use 128-bit intermediates so nothing wraps.
  const unsigned __int128 scaled = static_cast<unsigned __int128>(n) * 20000 + d;
  const uint64_t q = static_cast<uint64_t>(scaled / (static_cast<unsigned __int128>(d) * 2));
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%llu.%04llu", static_cast<unsigned long long>(q / 10000),
                static_cast<unsigned long long>(q % 10000));
  return buf;
}

}  // namespace

absl::StatusOr<Amount> ParseTokenAmount(absl::string_view text, bool allow_zero) {
  if (text.empty()) return absl::InvalidArgumentError("amount is empty");
  if (text[0] == '-') {
    return absl::InvalidArgumentError(absl::StrCat("amount '", Shown(text), "' is negative"));
  }
  const size_t dot = text.find('.');
  const absl::string_view whole = text.substr(0, dot);
  const absl::string_view frac =
      dot == absl::string_view::npos ? absl::string_view() : text.substr(dot + 1);
  if (!AllDigits(whole) || (dot != absl::string_view::npos && !AllDigits(frac))) {
    return absl::InvalidArgumentError(absl::StrCat(
        "amount '", Shown(text), "' is not a decimal number of tokens (e.g. 10 or 1.5)"));
  }
  if (frac.size() > static_cast<size_t>(kTokenDecimals)) {
    return absl::InvalidArgumentError(
        absl::StrCat("amount '", Shown(text), "' has more than ", kTokenDecimals,
                     " decimal places (1 AGORA = ", kUnitsPerToken, " base units)"));
  }
  // Whole tokens: at most kMaxAmount / kUnitsPerToken (1e9), checked digit by
  // digit so no length of input can wrap.
  constexpr Amount kMaxWhole = kMaxAmount / kUnitsPerToken;
  Amount tokens = 0;
  for (char c : whole) {
    tokens = tokens * 10 + static_cast<Amount>(c - '0');
    if (tokens > kMaxWhole) {
      return absl::InvalidArgumentError(absl::StrCat(
          "amount '", Shown(text), "' is above the supply limit of ", kMaxWhole, " AGORA"));
    }
  }
  Amount units = 0;
  for (int i = 0; i < kTokenDecimals; ++i) {
    units = units * 10 + (static_cast<size_t>(i) < frac.size()
                              ? static_cast<Amount>(frac[static_cast<size_t>(i)] - '0')
                              : 0);
  }
  const Amount total = tokens * kUnitsPerToken + units;  // <= 1e18 + 1e9: no wrap
  if (total > kMaxAmount) {
    return absl::InvalidArgumentError(absl::StrCat(
        "amount '", Shown(text), "' is above the supply limit of ", kMaxWhole, " AGORA"));
  }
  if (total == 0 && !allow_zero) {
    return absl::InvalidArgumentError(absl::StrCat("amount '", Shown(text), "' is zero"));
  }
  return total;
}

std::string FormatTokenAmount(Amount units) {
  char buf[48];
  std::snprintf(buf, sizeof(buf), "%llu.%09llu",
                static_cast<unsigned long long>(units / kUnitsPerToken),
                static_cast<unsigned long long>(units % kUnitsPerToken));
  return buf;
}

std::string FormatU16Proportion(uint16_t value) { return FourDecimals(value, 65535); }

std::string FormatRatio(uint64_t part, uint64_t total) {
  if (total == 0) return "0.0000";
  return FourDecimals(part > total ? total : part, total);
}

absl::StatusOr<uint64_t> ParseUnsigned(absl::string_view text, uint64_t max,
                                       absl::string_view what) {
  if (!AllDigits(text)) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": '", Shown(text), "' is not a non-negative integer"));
  }
  uint64_t v = 0;
  for (char c : text) {
    const uint64_t digit = static_cast<uint64_t>(c - '0');
    if (v > max / 10 || digit > max - v * 10) {
      return absl::InvalidArgumentError(
          absl::StrCat(what, ": '", Shown(text), "' is larger than ", max));
    }
    v = v * 10 + digit;
  }
  return v;
}

}  // namespace agora::cli
