#include "cli/config_file.h"

#include <optional>
#include <string>

#include <toml++/toml.h>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "common/file_util.h"

namespace agora::cli {

absl::StatusOr<ParsedFlags> MergeTomlConfig(const ParsedFlags& flags, absl::string_view toml_text,
                                            absl::string_view source,
                                            const std::vector<FlagSpec>& specs) {
  toml::table root;
  try {
    root = toml::parse(std::string_view(toml_text.data(), toml_text.size()),
                       std::string_view(source.data(), source.size()));
  } catch (const toml::parse_error& e) {
    return UsageError(absl::StrCat(source, ":", e.source().begin.line, ": ",
                                   std::string(e.description())));
  }
  ParsedFlags out = flags;
  for (auto&& [k, v] : root) {
    const std::string key(k.str());
    const std::string name = absl::StrReplaceAll(key, {{"_", "-"}});
    const FlagSpec* spec = nullptr;
    for (const FlagSpec& s : specs) {
      if (s.name == name && name != "config") spec = &s;
    }
    if (spec == nullptr) return UsageError(absl::StrCat(source, ": unknown key '", key, "'"));
    if (flags.Has(name)) continue;  // the command line wins
    if (spec->value_name.empty()) {
      std::optional<bool> b = v.value_exact<bool>();
      if (!b) return UsageError(absl::StrCat(source, ": ", key, " must be true or false"));
      if (*b) out.Set(name, "true");
    } else if (auto s = v.value_exact<std::string>()) {
      out.Set(name, *s);
    } else if (auto i = v.value_exact<int64_t>()) {
      out.Set(name, absl::StrCat(*i));
    } else if (auto d = v.value_exact<double>()) {
      out.Set(name, absl::StrCat(*d));
    } else {
      return UsageError(absl::StrCat(source, ": ", key, " must be a string or a number"));
    }
  }
  return out;
}

absl::StatusOr<ParsedFlags> WithConfigFile(const ParsedFlags& flags,
                                           const std::vector<FlagSpec>& specs) {
  if (!flags.Has("config")) return flags;
  absl::StatusOr<std::string> text = ReadFile(flags.Get("config"), 1u << 20);
  if (!text.ok()) return text.status();
  return MergeTomlConfig(flags, *text, flags.Get("config"), specs);
}

std::vector<FlagSpec> DaemonWalletFlagSpecs() {
  return {
      {"wallet-dir", "DIR", "wallet root (default $AGORA_HOME/wallets or ~/.agora/wallets)"},
      {"wallet", "NAME", "wallet name (default 'default')"},
      {"hotkey", "NAME", "hotkey name in the wallet (default 'default')"},
      {"password-file", "FILE", "read the wallet password from FILE"},
      {"password-env", "VAR", "read the wallet password from $VAR (default AGORA_WALLET_PASSWORD)"},
  };
}

DaemonWalletSpec DaemonWalletFromFlags(const ParsedFlags& f) {
  DaemonWalletSpec w;
  w.wallet_dir = f.Get("wallet-dir");
  w.wallet = f.Get("wallet", w.wallet);
  w.hotkey = f.Get("hotkey", w.hotkey);
  w.password.password_file = f.Get("password-file");
  w.password.env_var = f.Get("password-env", w.password.env_var);
  return w;
}

absl::Status IntFlag64(const ParsedFlags& f, const char* name, int64_t lo, int64_t hi,
                       int64_t* out) {
  if (!f.Has(name)) return absl::OkStatus();
  int64_t v = 0;
  if (!absl::SimpleAtoi(f.Get(name), &v) || v < lo || v > hi) {
    return UsageError(absl::StrCat("--", name, " (", f.Get(name), "): must be an integer in [", lo,
                                   ", ", hi, "]"));
  }
  *out = v;
  return absl::OkStatus();
}

absl::Status UintFlag64(const ParsedFlags& f, const char* name, uint64_t lo, uint64_t hi,
                        uint64_t* out) {
  if (!f.Has(name)) return absl::OkStatus();
  uint64_t v = 0;
  if (!absl::SimpleAtoi(f.Get(name), &v) || v < lo || v > hi) {
    return UsageError(absl::StrCat("--", name, " (", f.Get(name), "): must be an integer in [", lo,
                                   ", ", hi, "]"));
  }
  *out = v;
  return absl::OkStatus();
}

absl::Status RealFlag(const ParsedFlags& f, const char* name, double lo, double hi, double* out) {
  if (!f.Has(name)) return absl::OkStatus();
  double v = 0;
  if (!absl::SimpleAtod(f.Get(name), &v) || !(v >= lo && v <= hi)) {
    return UsageError(absl::StrCat("--", name, " (", f.Get(name), "): must be a number in [", lo,
                                   ", ", hi, "]"));
  }
  *out = v;
  return absl::OkStatus();
}

}  // namespace agora::cli
