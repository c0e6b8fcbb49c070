#include "chain/genesis.h"

#include <functional>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include <toml++/toml.h>

#include "absl/strings/str_cat.h"
#include "common/address.h"
#include "common/file_util.h"

namespace agora::chain {
namespace {

constexpr size_t kMaxGenesisBytes = 4u << 20;
constexpr size_t kMaxAccounts = 100'000;
constexpr size_t kMaxSubnets = 1024;

absl::Status Bad(absl::string_view key, absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat("genesis: ", key, ": ", why));
}

template <typename T>
absl::StatusOr<T> GetInt(const toml::node& node, absl::string_view key, T lo, T hi) {
  std::optional<int64_t> v = node.value_exact<int64_t>();
  if (!v) return Bad(key, "must be an integer");
  if (*v < static_cast<int64_t>(lo) || static_cast<uint64_t>(*v) > static_cast<uint64_t>(hi) ||
      (*v < 0 && lo >= 0)) {
    return Bad(key, absl::StrCat(*v, " out of range [", lo, ", ", hi, "]"));
  }
  return static_cast<T>(*v);
}

absl::StatusOr<bool> GetBool(const toml::node& node, absl::string_view key) {
  std::optional<bool> v = node.value_exact<bool>();
  if (!v) return Bad(key, "must be true or false");
  return *v;
}

absl::StatusOr<std::string> GetString(const toml::node& node, absl::string_view key) {
  std::optional<std::string> v = node.value_exact<std::string>();
  if (!v) return Bad(key, "must be a string");
  return *v;
}

absl::StatusOr<PublicKey> GetAddress(const toml::node& node, absl::string_view key) {
  absl::StatusOr<std::string> s = GetString(node, key);
  if (!s.ok()) return s.status();
  absl::StatusOr<PublicKey> pk = ParseAddress(*s);
  if (!pk.ok()) return Bad(key, pk.status().message());
  return pk;
}

// One setter per SubnetParams field, so unknown keys are detected.
using ParamSetter = std::function<absl::Status(SubnetParams&, const toml::node&, const std::string&)>;

template <typename T>
std::pair<std::string, ParamSetter> IntParam(const char* name, T SubnetParams::*field, T lo, T hi) {
  return {name, [=](SubnetParams& p, const toml::node& n, const std::string& key) {
            absl::StatusOr<T> v = GetInt<T>(n, key, lo, hi);
            if (!v.ok()) return v.status();
            p.*field = *v;
            return absl::OkStatus();
          }};
}
std::pair<std::string, ParamSetter> BoolParam(const char* name, bool SubnetParams::*field) {
  return {name, [=](SubnetParams& p, const toml::node& n, const std::string& key) {
            absl::StatusOr<bool> v = GetBool(n, key);
            if (!v.ok()) return v.status();
            p.*field = *v;
            return absl::OkStatus();
          }};
}

const std::vector<std::pair<std::string, ParamSetter>>& ParamTable() {
  using P = SubnetParams;
  constexpr uint64_t kU64 = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
  static const auto* table = new std::vector<std::pair<std::string, ParamSetter>>{
      IntParam<uint64_t>("tempo", &P::tempo, 1, 1'000'000),
      IntParam<uint64_t>("activity_cutoff", &P::activity_cutoff, 1, kU64),
      IntParam<uint16_t>("kappa", &P::kappa, 0, 65535),
      IntParam<uint16_t>("bonds_penalty", &P::bonds_penalty, 0, 65535),
      IntParam<uint64_t>("bonds_moving_average", &P::bonds_moving_average, 0, 1'000'000),
      BoolParam("yuma3", &P::yuma3),
      BoolParam("liquid_alpha", &P::liquid_alpha),
      IntParam<uint16_t>("alpha_low", &P::alpha_low, 0, 65535),
      IntParam<uint16_t>("alpha_high", &P::alpha_high, 0, 65535),
      IntParam<int16_t>("alpha_sigmoid_steepness", &P::alpha_sigmoid_steepness, -32768, 32767),
      IntParam<uint16_t>("max_allowed_validators", &P::max_allowed_validators, 1, 65535),
      IntParam<uint16_t>("max_allowed_uids", &P::max_allowed_uids, 1, 4096),
      IntParam<uint64_t>("immunity_period", &P::immunity_period, 0, kU64),
      IntParam<uint16_t>("min_non_immune_uids", &P::min_non_immune_uids, 0, 65535),
      IntParam<uint64_t>("stake_threshold", &P::stake_threshold, 0, kMaxAmount),
      IntParam<uint16_t>("min_allowed_weights", &P::min_allowed_weights, 0, 65535),
      IntParam<uint16_t>("max_weight_limit", &P::max_weight_limit, 1, 65535),
      IntParam<uint64_t>("weights_set_rate_limit", &P::weights_set_rate_limit, 0, kU64),
      IntParam<uint64_t>("weights_version", &P::weights_version, 0, kU64),
      BoolParam("commit_reveal", &P::commit_reveal),
      IntParam<uint64_t>("reveal_period_epochs", &P::reveal_period_epochs, 1, 1000),
      IntParam<uint64_t>("serving_rate_limit", &P::serving_rate_limit, 0, kU64),
      IntParam<uint16_t>("owner_cut", &P::owner_cut, 0, 65535),
      IntParam<uint64_t>("emission_per_block", &P::emission_per_block, 0, kMaxAmount),
      IntParam<uint64_t>("burn", &P::burn, 0, kMaxAmount),
      IntParam<uint64_t>("min_burn", &P::min_burn, 0, kMaxAmount),
      IntParam<uint64_t>("max_burn", &P::max_burn, 0, kMaxAmount),
      IntParam<uint32_t>("pow_difficulty", &P::pow_difficulty, 0, 256),
      IntParam<uint32_t>("min_pow_difficulty", &P::min_pow_difficulty, 0, 256),
      IntParam<uint32_t>("max_pow_difficulty", &P::max_pow_difficulty, 0, 256),
      IntParam<uint32_t>("target_regs_per_interval", &P::target_regs_per_interval, 1, 1'000'000),
      IntParam<uint64_t>("adjustment_interval", &P::adjustment_interval, 0, kU64),
      IntParam<uint32_t>("max_regs_per_block", &P::max_regs_per_block, 1, 1'000'000),
  };
  return *table;
}

absl::Status ParseParams(const toml::table& t, const std::string& prefix, SubnetParams& p) {
  for (auto&& [k, v] : t) {
    const std::string key = absl::StrCat(prefix, ".", std::string(k.str()));
    bool known = false;
    for (const auto& [name, set] : ParamTable()) {
      if (name == k.str()) {
        absl::Status s = set(p, v, key);
        if (!s.ok()) return s;
        known = true;
        break;
      }
    }
    if (!known) return Bad(key, "unknown parameter");
  }
  if (p.alpha_low > p.alpha_high) return Bad(prefix + ".alpha_low", "must be <= alpha_high");
  if (p.min_burn > p.max_burn) return Bad(prefix + ".min_burn", "must be <= max_burn");
  if (p.min_pow_difficulty > p.max_pow_difficulty) {
    return Bad(prefix + ".min_pow_difficulty", "must be <= max_pow_difficulty");
  }
  p.burn = std::clamp(p.burn, p.min_burn, p.max_burn);
  p.pow_difficulty = std::clamp(p.pow_difficulty, p.min_pow_difficulty, p.max_pow_difficulty);
  return absl::OkStatus();
}

absl::Status ParseSubnet(const toml::table& t, size_t index, ChainState& state) {
  const std::string prefix = absl::StrCat("subnets[", index, "]");
  SubnetState subnet;
  bool have_netuid = false, have_owner = false;
  for (auto&& [k, v] : t) {
    const std::string key = absl::StrCat(prefix, ".", std::string(k.str()));
    if (k == "netuid") {
      absl::StatusOr<NetUid> n = GetInt<NetUid>(v, key, 0, 65535);
      if (!n.ok()) return n.status();
      subnet.netuid = *n;
      have_netuid = true;
    } else if (k == "name") {
      absl::StatusOr<std::string> s = GetString(v, key);
      if (!s.ok()) return s.status();
      if (s->size() > 64) return Bad(key, "longer than 64 bytes");
      subnet.name = *s;
    } else if (k == "owner") {
      absl::StatusOr<PublicKey> pk = GetAddress(v, key);
      if (!pk.ok()) return pk.status();
      subnet.owner_coldkey = *pk;
      have_owner = true;
    } else if (k == "owner_hotkey") {
      absl::StatusOr<PublicKey> pk = GetAddress(v, key);
      if (!pk.ok()) return pk.status();
      subnet.owner_hotkey = *pk;
    } else if (k == "params") {
      if (!v.is_table()) return Bad(key, "must be a table");
      absl::Status s = ParseParams(*v.as_table(), key, subnet.params);
      if (!s.ok()) return s;
    } else {
      return Bad(key, "unknown key");
    }
  }
  if (!have_netuid) return Bad(prefix + ".netuid", "missing");
  if (!have_owner) return Bad(prefix + ".owner", "missing");
  if (state.subnets.count(subnet.netuid)) {
    return Bad(prefix + ".netuid", absl::StrCat(subnet.netuid, " defined twice"));
  }
  if (subnet.owner_hotkey) {
    // The owner hotkey belongs to the owner coldkey from genesis on. Otherwise
    // the first coldkey to register it would own the immortal owner uid and
    // collect its emission.
    auto [it, inserted] = state.hotkey_owner.emplace(*subnet.owner_hotkey, subnet.owner_coldkey);
    if (!inserted && it->second != subnet.owner_coldkey) {
      return Bad(prefix + ".owner_hotkey", "already the owner hotkey of another owner");
    }
  }
  state.subnets[subnet.netuid] = std::move(subnet);
  return absl::OkStatus();
}

absl::StatusOr<Genesis> ParseTable(const toml::table& root) {
  Genesis g;
  ChainState& state = g.state;
  bool have_chain_id = false;
  for (auto&& [k, v] : root) {
    const std::string key(k.str());
    if (key == "chain_id") {
      absl::StatusOr<std::string> s = GetString(v, key);
      if (!s.ok()) return s.status();
      if (s->empty() || s->size() > 64) return Bad(key, "must be 1..64 bytes");
      state.chain_id = *s;
      have_chain_id = true;
    } else if (key == "block_interval_ms") {
      absl::StatusOr<uint64_t> ms = GetInt<uint64_t>(v, key, 10, 600'000);
      if (!ms.ok()) return ms.status();
      g.block_interval_ms = *ms;
    } else if (key == "accounts") {
      const toml::array* arr = v.as_array();
      if (arr == nullptr) return Bad(key, "must be an array of tables ([[accounts]])");
      if (arr->size() > kMaxAccounts) return Bad(key, "too many accounts");
      for (size_t i = 0; i < arr->size(); ++i) {
        const std::string prefix = absl::StrCat("accounts[", i, "]");
        const toml::table* t = (*arr)[i].as_table();
        if (t == nullptr) return Bad(prefix, "must be a table");
        PublicKey address{};
        Amount balance = 0;
        bool have_address = false, have_balance = false;
        for (auto&& [ak, av] : *t) {
          const std::string akey = absl::StrCat(prefix, ".", std::string(ak.str()));
          if (ak == "address") {
            absl::StatusOr<PublicKey> pk = GetAddress(av, akey);
            if (!pk.ok()) return pk.status();
            address = *pk;
            have_address = true;
          } else if (ak == "balance") {
            absl::StatusOr<Amount> b = GetInt<Amount>(av, akey, 0, kMaxAmount);
            if (!b.ok()) return b.status();
            balance = *b;
            have_balance = true;
          } else {
            return Bad(akey, "unknown key");
          }
        }
        if (!have_address) return Bad(prefix + ".address", "missing");
        if (!have_balance) return Bad(prefix + ".balance", "missing");
        if (state.accounts.count(address)) return Bad(prefix + ".address", "listed twice");
        if (state.total_issuance + balance > kMaxAmount) return Bad(prefix + ".balance", "total supply over the limit");
        if (balance > 0) state.accounts[address].balance = balance;
        state.total_issuance += balance;
      }
    } else if (key == "subnets") {
      const toml::array* arr = v.as_array();
      if (arr == nullptr) return Bad(key, "must be an array of tables ([[subnets]])");
      if (arr->size() > kMaxSubnets) return Bad(key, "too many subnets");
      for (size_t i = 0; i < arr->size(); ++i) {
        const toml::table* t = (*arr)[i].as_table();
        if (t == nullptr) return Bad(absl::StrCat("subnets[", i, "]"), "must be a table");
        absl::Status s = ParseSubnet(*t, i, state);
        if (!s.ok()) return s;
      }
    } else {
      return Bad(key, "unknown key");
    }
  }
  if (!have_chain_id) return Bad("chain_id", "missing");
  return g;
}

}  // namespace

absl::StatusOr<Genesis> ParseGenesis(absl::string_view toml_text, absl::string_view source) {
  if (toml_text.size() > kMaxGenesisBytes) {
    return absl::InvalidArgumentError(absl::StrCat("genesis: ", source, " is larger than ",
                                                   kMaxGenesisBytes, " bytes"));
  }
  toml::table root;
  try {
    root = toml::parse(std::string_view(toml_text.data(), toml_text.size()),
                       std::string_view(source.data(), source.size()));
  } catch (const toml::parse_error& e) {
    const auto& where = e.source().begin;
    return absl::InvalidArgumentError(absl::StrCat("genesis: ", source, ":", where.line, ":",
                                                   where.column, ": ", std::string(e.description())));
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("genesis: ", source, ": ", e.what()));
  }
  absl::StatusOr<Genesis> g = ParseTable(root);
  if (!g.ok()) return g.status();
  g->hash = Blake2b256(toml_text);
  return g;
}

absl::StatusOr<Genesis> LoadGenesis(const std::string& path) {
  absl::StatusOr<std::string> text = ReadFile(path, kMaxGenesisBytes);
  if (!text.ok()) return text.status();
  return ParseGenesis(*text, path);
}

}  // namespace agora::chain
