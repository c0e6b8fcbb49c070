// Token amounts and u16 proportions as `agora` users type and read them.
// Pure functions on integers (no floating point anywhere), safe from any
// thread. 1 AGORA = chain::kUnitsPerToken (1e9) base units, so an amount is
// written with at most 9 decimal places: "1.5" is 1'500'000'000 units.
#ifndef AGORA_CLI_AMOUNT_H_
#define AGORA_CLI_AMOUNT_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "chain/state.h"

namespace agora::cli {

inline constexpr int kTokenDecimals = 9;

// Parses a decimal token amount ("12", "0.5", "1.000000001") into base units.
// Accepted form: one or more digits, optionally '.' and 1..9 more digits;
// no sign, spaces, exponent or thousands separators. InvalidArgument (the
// message says which rule failed) for any other text, for more than 9
// decimals, for an amount above chain::kMaxAmount, and for zero unless
// `allow_zero`.
absl::StatusOr<chain::Amount> ParseTokenAmount(absl::string_view text, bool allow_zero = false);

// "1.500000000": the amount in tokens with exactly 9 decimals. Never fails.
std::string FormatTokenAmount(chain::Amount units);

// "0.5000": `value` / 65535 with 4 decimals, rounded half up.
std::string FormatU16Proportion(uint16_t value);

// "0.2500": part / total with 4 decimals, rounded half up; "0.0000" if total
// is 0. Requires: part <= total.
std::string FormatRatio(uint64_t part, uint64_t total);

// Parses an unsigned decimal integer of digits only (no sign, no spaces) that
// is at most `max`. InvalidArgument naming `what` otherwise.
absl::StatusOr<uint64_t> ParseUnsigned(absl::string_view text, uint64_t max,
                                       absl::string_view what);

}  // namespace agora::cli

#endif  // AGORA_CLI_AMOUNT_H_
