// Daemons (agora-miner, agora-validator) take every flag also as a key of a
// TOML file named by --config: flag "--max-batch" is key "max_batch", and a
// flag given on the command line wins over the file. Unknown keys and values
// of the wrong type are usage errors naming the file and the key.
//
// Also the typed readers those daemons share for numeric flags: each leaves
// `*out` alone when the flag is absent and is a usage error naming the flag
// when its value is not a number in [lo, hi].
#ifndef AGORA_CLI_CONFIG_FILE_H_
#define AGORA_CLI_CONFIG_FILE_H_

#include <cstdint>
#include <type_traits>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "cli/cli.h"
#include "common/daemon_wallet.h"

namespace agora::cli {

// Merges `toml_text` (keys as flags with '_' for '-') under `flags`; `specs`
// are the command's flags ("config" itself is not a key).
absl::StatusOr<ParsedFlags> MergeTomlConfig(const ParsedFlags& flags, absl::string_view toml_text,
                                            absl::string_view source,
                                            const std::vector<FlagSpec>& specs);

// If `flags` has "config": reads that file (at most 1 MiB) and merges it.
absl::StatusOr<ParsedFlags> WithConfigFile(const ParsedFlags& flags,
                                           const std::vector<FlagSpec>& specs);

absl::Status IntFlag64(const ParsedFlags& f, const char* name, int64_t lo, int64_t hi,
                       int64_t* out);
absl::Status UintFlag64(const ParsedFlags& f, const char* name, uint64_t lo, uint64_t hi,
                        uint64_t* out);
absl::Status RealFlag(const ParsedFlags& f, const char* name, double lo, double hi, double* out);

// The identity flags every daemon takes: --wallet-dir, --wallet, --hotkey,
// --password-file, --password-env.
std::vector<FlagSpec> DaemonWalletFlagSpecs();
DaemonWalletSpec DaemonWalletFromFlags(const ParsedFlags& f);

// Any integer type, range-checked at 64 bits.
template <typename T>
absl::Status IntFlag(const ParsedFlags& f, const char* name, T lo, T hi, T* out) {
  if constexpr (std::is_signed_v<T>) {
    int64_t v = *out;
    absl::Status s = IntFlag64(f, name, lo, hi, &v);
    if (s.ok()) *out = static_cast<T>(v);
    return s;
  } else {
    uint64_t v = *out;
    absl::Status s = UintFlag64(f, name, lo, hi, &v);
    if (s.ok()) *out = static_cast<T>(v);
    return s;
  }
}

}  // namespace agora::cli

#endif  // AGORA_CLI_CONFIG_FILE_H_
