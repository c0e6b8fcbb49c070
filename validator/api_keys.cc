#include "validator/api_keys.h"

#include <algorithm>
#include <set>

#include <toml++/toml.h>

#include "absl/strings/str_cat.h"
#include "common/address.h"
#include "common/file_util.h"

namespace agora::validator {

absl::StatusOr<std::unique_ptr<ApiKeys>> ApiKeys::Parse(const std::string& text,
                                                        const std::string& source) {
  toml::table root;
  try {
    root = toml::parse(text, source);
  } catch (const toml::parse_error& e) {
    return absl::InvalidArgumentError(
        absl::StrCat(source, ":", e.source().begin.line, ": ", std::string(e.description())));
  }
  auto out = std::unique_ptr<ApiKeys>(new ApiKeys());
  for (auto&& [k, v] : root) {
    if (k.str() != "keys") return absl::InvalidArgumentError(absl::StrCat(source, ": unknown key '", std::string(k.str()), "'"));
  }
  const toml::array* keys = root["keys"].as_array();
  if (keys == nullptr || keys->empty()) {
    return absl::InvalidArgumentError(absl::StrCat(source, ": no [[keys]] entries"));
  }
  std::set<std::string> tokens;
  size_t i = 0;
  for (const toml::node& node : *keys) {
    const std::string where = absl::StrCat(source, ": keys[", i++, "]");
    const toml::table* t = node.as_table();
    if (t == nullptr) return absl::InvalidArgumentError(where + ": not a table");
    ApiKey key;
    for (auto&& [k, v] : *t) {
      const std::string name(k.str());
      bool ok = true;
      if (name == "name") {
        ok = v.is_string() && !(key.name = *v.value<std::string>()).empty();
      } else if (name == "key") {
        ok = v.is_string() && (key.key = *v.value<std::string>()).size() >= 16;
      } else if (name == "rate_per_s" || name == "burst") {
        std::optional<double> d = v.value<double>();
        ok = d.has_value() && *d >= 0 && *d <= 1e9;
        if (ok) (name == "rate_per_s" ? key.rate_per_s : key.burst) = *d;
      } else if (name == "account") {
        ok = v.is_string() && ParseAddress(*v.value<std::string>()).ok();
        if (ok) key.account = *v.value<std::string>();
      } else if (name == "credit_tokens") {
        std::optional<int64_t> n = v.value_exact<int64_t>();
        ok = n.has_value() && *n >= 0;
        if (ok) key.credit_tokens = static_cast<uint64_t>(*n);
      } else if (name == "max_tokens") {
        std::optional<int64_t> n = v.value_exact<int64_t>();
        ok = n.has_value() && *n >= 1 && *n <= 1024;
        if (ok) key.max_tokens = static_cast<uint32_t>(*n);
      } else {
        return absl::InvalidArgumentError(absl::StrCat(where, ": unknown field '", name, "'"));
      }
      if (!ok) {
        return absl::InvalidArgumentError(absl::StrCat(
            where, ": bad ", name,
            name == "key"       ? " (a string of at least 16 characters)"
            : name == "account" ? " (an Agora address)"
                                : " (wrong type or range)"));
      }
    }
    if (key.name.empty() || key.key.empty()) {
      return absl::InvalidArgumentError(where + ": needs name and key");
    }
    if (key.burst < 1 && key.rate_per_s > 0) key.burst = 1;
    if (!tokens.insert(key.key).second || out->keys_.count(key.name) > 0) {
      return absl::InvalidArgumentError(where + ": duplicate name or key");
    }
    out->keys_[key.name] = key;
  }
  return out;
}

absl::StatusOr<std::unique_ptr<ApiKeys>> ApiKeys::Load(const std::string& path) {
  absl::StatusOr<std::string> text = ReadFile(path, 1u << 20);
  if (!text.ok()) return text.status();
  return Parse(*text, path);
}

const ApiKey* ApiKeys::Find(const std::string& token) const {
  const ApiKey* found = nullptr;
  for (const auto& [name, key] : keys_) {
    // Compare every key in full, so timing does not reveal a prefix match.
    unsigned diff = key.key.size() ^ token.size();
    for (size_t i = 0; i < key.key.size(); ++i) {
      diff |= static_cast<unsigned char>(key.key[i]) ^
              static_cast<unsigned char>(i < token.size() ? token[i] : 0);
    }
    if (diff == 0) found = &key;
  }
  return found;
}

bool ApiKeys::Admit(const ApiKey& key, std::chrono::steady_clock::time_point now) {
  if (key.rate_per_s <= 0) return true;
  absl::MutexLock lock(&mu_);
  Bucket& b = buckets_[key.name];
  if (b.fresh) {
    b.fresh = false;
    b.tokens = key.burst;
    b.refilled = now;
  }
  const double dt = std::chrono::duration<double>(now - b.refilled).count();
  b.tokens = std::min(key.burst, b.tokens + std::max(0.0, dt) * key.rate_per_s);
  b.refilled = now;
  if (b.tokens < 1) return false;
  b.tokens -= 1;
  return true;
}

}  // namespace agora::validator
