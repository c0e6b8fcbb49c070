#include "chain/epoch_json.h"

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"
#include "chain/yuma.h"

namespace agora::chain {
namespace {

using Json = nlohmann::json;

constexpr size_t kMaxShownChars = 40;

// A short, single-line rendering of a JSON value for error messages.
std::string Shown(const Json& v) {
  std::string s = v.dump(-1, ' ', /*ensure_ascii=*/true, nlohmann::json::error_handler_t::replace);
  if (s.size() > kMaxShownChars) s = absl::StrCat(s.substr(0, kMaxShownChars), "...");
  return s;
}

absl::Status Invalid(absl::string_view path, absl::string_view message) {
  return absl::InvalidArgumentError(absl::StrCat(path, ": ", message));
}

absl::StatusOr<uint64_t> AsUint(const Json& v, absl::string_view path, uint64_t max) {
  // Parsed text gives non-negative integers as unsigned; values built in code may be signed.
  const bool non_negative_integer =
      v.is_number_unsigned() || (v.is_number_integer() && v.get<int64_t>() >= 0);
  if (!non_negative_integer) {
    return Invalid(path, absl::StrCat("must be a non-negative integer, got ", Shown(v)));
  }
  const uint64_t x =
      v.is_number_unsigned() ? v.get<uint64_t>() : static_cast<uint64_t>(v.get<int64_t>());
  if (x > max) return Invalid(path, absl::StrFormat("%d out of range (max %d)", x, max));
  return x;
}

absl::StatusOr<int16_t> AsInt16(const Json& v, absl::string_view path) {
  if (!v.is_number_integer()) {
    return Invalid(path, absl::StrCat("must be an integer, got ", Shown(v)));
  }
  if (v.is_number_unsigned()) {
    const uint64_t x = v.get<uint64_t>();
    if (x > 32767) return Invalid(path, absl::StrFormat("%d out of range (i16)", x));
    return static_cast<int16_t>(x);
  }
  const int64_t x = v.get<int64_t>();
  if (x < -32768 || x > 32767) return Invalid(path, absl::StrFormat("%d out of range (i16)", x));
  return static_cast<int16_t>(x);
}

absl::StatusOr<bool> AsBool(const Json& v, absl::string_view path) {
  if (!v.is_boolean()) return Invalid(path, absl::StrCat("must be true or false, got ", Shown(v)));
  return v.get<bool>();
}

// Reads the fields of one inputs object; every error names the field.
class InputsReader {
 public:
  InputsReader(const Json& obj, absl::string_view prefix) : obj_(obj), prefix_(prefix) {}

  std::string Path(absl::string_view key) const { return absl::StrCat(prefix_, key); }

  absl::StatusOr<const Json*> Field(absl::string_view key) const {
    auto it = obj_.find(key);
    if (it == obj_.end()) return Invalid(Path(key), "missing field");
    return &*it;
  }
  absl::StatusOr<uint64_t> Uint(absl::string_view key, uint64_t max) const {
    absl::StatusOr<const Json*> v = Field(key);
    if (!v.ok()) return v.status();
    return AsUint(**v, Path(key), max);
  }
  absl::StatusOr<bool> Bool(absl::string_view key) const {
    absl::StatusOr<const Json*> v = Field(key);
    if (!v.ok()) return v.status();
    return AsBool(**v, Path(key));
  }
  // The array `key` with exactly n elements.
  absl::StatusOr<const Json*> Array(absl::string_view key, uint32_t n) const {
    absl::StatusOr<const Json*> v = Field(key);
    if (!v.ok()) return v.status();
    if (!(*v)->is_array()) {
      return Invalid(Path(key), absl::StrCat("must be an array, got ", (*v)->type_name()));
    }
    if ((*v)->size() != n) {
      return Invalid(Path(key), absl::StrFormat("length %d, expected n = %d", (*v)->size(), n));
    }
    return *v;
  }
  absl::StatusOr<std::vector<uint64_t>> UintArray(absl::string_view key, uint32_t n) const {
    absl::StatusOr<const Json*> arr = Array(key, n);
    if (!arr.ok()) return arr.status();
    std::vector<uint64_t> out(n);
    for (uint32_t i = 0; i < n; ++i) {
      absl::StatusOr<uint64_t> x =
          AsUint((**arr)[i], absl::StrFormat("%s[%d]", Path(key), i), UINT64_MAX);
      if (!x.ok()) return x.status();
      out[i] = *x;
    }
    return out;
  }
  absl::StatusOr<std::vector<bool>> BoolArray(absl::string_view key, uint32_t n) const {
    absl::StatusOr<const Json*> arr = Array(key, n);
    if (!arr.ok()) return arr.status();
    std::vector<bool> out(n);
    for (uint32_t i = 0; i < n; ++i) {
      absl::StatusOr<bool> x = AsBool((**arr)[i], absl::StrFormat("%s[%d]", Path(key), i));
      if (!x.ok()) return x.status();
      out[i] = *x;
    }
    return out;
  }
  // Sparse rows [[uid, u16], ...] per uid. Uid range and duplicates are checked later by
  // ValidateEpochInput (against n).
  absl::StatusOr<std::vector<U16Row>> Rows(absl::string_view key, uint32_t n) const {
    absl::StatusOr<const Json*> arr = Array(key, n);
    if (!arr.ok()) return arr.status();
    std::vector<U16Row> out(n);
    for (uint32_t i = 0; i < n; ++i) {
      const Json& row = (**arr)[i];
      const std::string row_path = absl::StrFormat("%s[%d]", Path(key), i);
      if (!row.is_array()) {
        return Invalid(row_path, absl::StrCat("must be an array of [uid, value] pairs, got ",
                                              row.type_name()));
      }
      if (row.size() > n) {
        return Invalid(row_path, absl::StrFormat("%d entries, more than n = %d", row.size(), n));
      }
      out[i].reserve(row.size());
      for (size_t k = 0; k < row.size(); ++k) {
        const Json& pair = row[k];
        const std::string pair_path = absl::StrFormat("%s[%d]", row_path, k);
        if (!pair.is_array() || pair.size() != 2) {
          return Invalid(pair_path, absl::StrCat("must be a [uid, value] pair, got ", Shown(pair)));
        }
        absl::StatusOr<uint64_t> uid = AsUint(pair[0], absl::StrCat(pair_path, "[0]"), 65535);
        if (!uid.ok()) return uid.status();
        absl::StatusOr<uint64_t> value = AsUint(pair[1], absl::StrCat(pair_path, "[1]"), 65535);
        if (!value.ok()) return value.status();
        out[i].emplace_back(static_cast<uint16_t>(*uid), static_cast<uint16_t>(*value));
      }
    }
    return out;
  }

 private:
  const Json& obj_;
  std::string prefix_;
};

// Assigns `*dst` from a StatusOr expression or returns its error.
#define AGORA_EPOCH_JSON_ASSIGN(dst, expr)                          \
  do {                                                              \
    auto agora_json_value_ = (expr);                                \
    if (!agora_json_value_.ok()) return agora_json_value_.status(); \
    dst = std::move(*agora_json_value_);                            \
  } while (0)

// Rejects nesting deeper than kMaxJsonDepth before the parser builds anything.
absl::Status CheckDepth(absl::string_view text) {
  int depth = 0;
  bool in_string = false;
  bool escaped = false;
  for (size_t pos = 0; pos < text.size(); ++pos) {
    const char c = text[pos];
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > kMaxJsonDepth) {
        return absl::InvalidArgumentError(
            absl::StrFormat("JSON: nesting deeper than %d levels at byte %d", kMaxJsonDepth, pos));
      }
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return absl::OkStatus();
}

nlohmann::ordered_json Proportions(const std::vector<I32F32>& v) {
  nlohmann::ordered_json a = nlohmann::ordered_json::array();
  for (I32F32 x : v) a.push_back(x.ToDouble());
  return a;
}

template <typename T>
nlohmann::ordered_json Integers(const std::vector<T>& v) {
  nlohmann::ordered_json a = nlohmann::ordered_json::array();
  for (T x : v) a.push_back(x);
  return a;
}

nlohmann::ordered_json Bools(const std::vector<bool>& v) {
  nlohmann::ordered_json a = nlohmann::ordered_json::array();
  for (bool x : v) a.push_back(x);
  return a;
}

nlohmann::ordered_json FixedRows(const std::vector<FixedRow>& rows) {
  nlohmann::ordered_json a = nlohmann::ordered_json::array();
  for (const FixedRow& row : rows) {
    nlohmann::ordered_json r = nlohmann::ordered_json::array();
    for (const auto& [j, v] : row) r.push_back({j, v.ToDouble()});
    a.push_back(std::move(r));
  }
  return a;
}

nlohmann::ordered_json U16Rows(const std::vector<U16Row>& rows) {
  nlohmann::ordered_json a = nlohmann::ordered_json::array();
  for (const U16Row& row : rows) {
    nlohmann::ordered_json r = nlohmann::ordered_json::array();
    for (const auto& [j, v] : row) r.push_back({j, v});
    a.push_back(std::move(r));
  }
  return a;
}

}  // namespace

absl::StatusOr<nlohmann::json> ParseJson(std::string_view text) {
  if (absl::Status s = CheckDepth(absl::string_view(text.data(), text.size())); !s.ok()) {
    return s;
  }
  try {
    return Json::parse(text.begin(), text.end(), /*cb=*/nullptr, /*allow_exceptions=*/true,
                       /*ignore_comments=*/false);
  } catch (const Json::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("JSON: ", e.what()));
  }
}

absl::StatusOr<EpochSteps> FindEpochSteps(const nlohmann::json& doc) {
  if (!doc.is_object()) {
    return absl::InvalidArgumentError(
        absl::StrCat("input: must be a JSON object, got ", doc.type_name()));
  }
  EpochSteps steps;
  auto it = doc.find("steps");
  if (it == doc.end()) {
    steps.inputs.push_back(&doc);
    return steps;
  }
  steps.has_steps = true;
  if (!it->is_array()) {
    return Invalid("steps", absl::StrCat("must be an array, got ", it->type_name()));
  }
  for (size_t k = 0; k < it->size(); ++k) {
    const Json& step = (*it)[k];
    const std::string path = absl::StrFormat("steps[%d]", k);
    if (!step.is_object()) {
      return Invalid(path, absl::StrCat("must be an object, got ", step.type_name()));
    }
    auto inputs = step.find("inputs");
    if (inputs == step.end()) return Invalid(absl::StrCat(path, ".inputs"), "missing field");
    if (!inputs->is_object()) {
      return Invalid(absl::StrCat(path, ".inputs"),
                     absl::StrCat("must be an object, got ", inputs->type_name()));
    }
    steps.inputs.push_back(&*inputs);
  }
  return steps;
}

absl::StatusOr<EpochInput> EpochInputFromJson(const nlohmann::json& inputs,
                                              std::string_view std_path) {
  const absl::string_view path(std_path.data(), std_path.size());
  if (!inputs.is_object()) {
    return Invalid(path.empty() ? "inputs" : path.substr(0, path.size() - 1),
                   absl::StrCat("must be an object, got ", inputs.type_name()));
  }
  const InputsReader r(inputs, path);
  EpochInput in;
  uint64_t n = 0;
  AGORA_EPOCH_JSON_ASSIGN(n, r.Uint("n", kMaxJsonUids));
  in.n = static_cast<uint32_t>(n);
  AGORA_EPOCH_JSON_ASSIGN(in.current_block, r.Uint("current_block", UINT64_MAX));
  AGORA_EPOCH_JSON_ASSIGN(in.tempo, r.Uint("tempo", UINT64_MAX));
  AGORA_EPOCH_JSON_ASSIGN(in.activity_cutoff, r.Uint("activity_cutoff", UINT64_MAX));
  AGORA_EPOCH_JSON_ASSIGN(in.last_mechanism_step_block,
                          r.Uint("last_mechanism_step_block", UINT64_MAX));
  uint64_t u16 = 0;
  AGORA_EPOCH_JSON_ASSIGN(u16, r.Uint("kappa", 65535));
  in.kappa = static_cast<uint16_t>(u16);
  AGORA_EPOCH_JSON_ASSIGN(u16, r.Uint("bonds_penalty", 65535));
  in.bonds_penalty = static_cast<uint16_t>(u16);
  AGORA_EPOCH_JSON_ASSIGN(in.bonds_moving_average, r.Uint("bonds_moving_average", UINT64_MAX));
  AGORA_EPOCH_JSON_ASSIGN(in.yuma3, r.Bool("yuma3"));
  AGORA_EPOCH_JSON_ASSIGN(in.liquid_alpha, r.Bool("liquid_alpha"));
  AGORA_EPOCH_JSON_ASSIGN(u16, r.Uint("alpha_low", 65535));
  in.alpha_low = static_cast<uint16_t>(u16);
  AGORA_EPOCH_JSON_ASSIGN(u16, r.Uint("alpha_high", 65535));
  in.alpha_high = static_cast<uint16_t>(u16);
  {
    const Json* v = nullptr;
    AGORA_EPOCH_JSON_ASSIGN(v, r.Field("alpha_sigmoid_steepness"));
    AGORA_EPOCH_JSON_ASSIGN(in.alpha_sigmoid_steepness,
                            AsInt16(*v, r.Path("alpha_sigmoid_steepness")));
  }
  AGORA_EPOCH_JSON_ASSIGN(u16, r.Uint("max_allowed_validators", 65535));
  in.max_allowed_validators = static_cast<uint16_t>(u16);
  AGORA_EPOCH_JSON_ASSIGN(in.stake_threshold, r.Uint("stake_threshold", UINT64_MAX));
  {
    const Json* v = nullptr;
    AGORA_EPOCH_JSON_ASSIGN(v, r.Field("owner_uid"));
    if (!v->is_null()) {
      AGORA_EPOCH_JSON_ASSIGN(u16, AsUint(*v, r.Path("owner_uid"), 65535));
      in.owner_uid = static_cast<uint16_t>(u16);
    }
  }
  AGORA_EPOCH_JSON_ASSIGN(in.rao_emission, r.Uint("rao_emission", UINT64_MAX));
  AGORA_EPOCH_JSON_ASSIGN(in.stake, r.UintArray("stake", in.n));
  AGORA_EPOCH_JSON_ASSIGN(in.last_update, r.UintArray("last_update", in.n));
  AGORA_EPOCH_JSON_ASSIGN(in.block_at_registration, r.UintArray("block_at_registration", in.n));
  AGORA_EPOCH_JSON_ASSIGN(in.validator_permit, r.BoolArray("validator_permit", in.n));
  AGORA_EPOCH_JSON_ASSIGN(in.weights, r.Rows("weights", in.n));
  AGORA_EPOCH_JSON_ASSIGN(in.bonds, r.Rows("bonds", in.n));
  if (absl::Status s = ValidateEpochInput(in); !s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(path, s.message()));
  }
  return in;
}

#undef AGORA_EPOCH_JSON_ASSIGN

nlohmann::ordered_json EpochOutputToJson(const EpochOutput& o) {
  nlohmann::ordered_json j = nlohmann::ordered_json::object();
  j["active"] = Bools(o.active);
  j["stake_normalized"] = Proportions(o.stake_normalized);
  j["active_stake"] = Proportions(o.active_stake);
  j["new_validator_permit"] = Bools(o.new_validator_permit);
  j["weights_normalized"] = FixedRows(o.weights_normalized);
  j["consensus"] = Proportions(o.consensus);
  j["validator_trust"] = Proportions(o.validator_trust);
  j["incentive"] = Proportions(o.incentive);
  j["dividends"] = Proportions(o.dividends);
  j["ema_bonds"] = FixedRows(o.ema_bonds);
  j["stake_weight_u16"] = Integers(o.stake_weight_u16);
  j["consensus_u16"] = Integers(o.consensus_u16);
  j["validator_trust_u16"] = Integers(o.validator_trust_u16);
  j["incentive_u16"] = Integers(o.incentive_u16);
  j["dividends_u16"] = Integers(o.dividends_u16);
  j["server_emission"] = Integers(o.server_emission);
  j["validator_emission"] = Integers(o.validator_emission);
  j["emission"] = Integers(o.emission);
  j["bonds_u16"] = U16Rows(o.bonds_u16);
  return j;
}

}  // namespace agora::chain
