#include "validator/credit.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"

namespace agora::validator {

absl::StatusOr<CreditGrant> DecideCredit(const CreditState& s, uint32_t max_tokens) {
  CreditGrant g;
  g.max_tokens = max_tokens;
  if (s.price == 0 && s.credit_tokens == 0) {
    g.unlimited = true;
    return g;
  }
  const uint64_t free_left = s.credit_tokens - std::min(s.used_tokens, s.credit_tokens);
  const bool can_pay = s.price > 0 && s.has_account;
  if (free_left > 0 && free_left < max_tokens && !can_pay) {
    g.max_tokens = static_cast<uint32_t>(free_left);  // what is left is all it can spend
  }
  g.free_tokens = std::min<uint64_t>(free_left, g.max_tokens);
  if (g.free_tokens == g.max_tokens) return g;
  const uint64_t need = (g.max_tokens - g.free_tokens) * s.price;
  if (can_pay && s.balance >= 0 && static_cast<uint64_t>(s.balance) >= need) {
    g.units = need;
    return g;
  }
  std::string why = absl::StrCat(free_left, " free tokens left");
  if (s.price > 0) {
    absl::StrAppend(&why, s.has_account ? absl::StrCat(", and the account has ", std::max<int64_t>(s.balance, 0),
                                                       " units available; this request may cost ", need)
                                        : " and no paying account");
  }
  return absl::ResourceExhaustedError(why);
}

uint64_t CreditHolds::free_tokens(const std::string& key) const {
  auto it = free_.find(key);
  return it == free_.end() ? 0 : it->second;
}

uint64_t CreditHolds::units(const std::string& account) const {
  auto it = units_.find(account);
  return it == units_.end() ? 0 : it->second;
}

void CreditHolds::Add(const std::string& key, const std::string& account, const CreditGrant& g) {
  if (g.free_tokens > 0) free_[key] += g.free_tokens;
  if (g.units > 0) units_[account] += g.units;
}

void CreditHolds::Release(const std::string& key, const std::string& account, const CreditGrant& g) {
  // Erased at zero, so the maps hold only requests in flight.
  auto drop = [](std::map<std::string, uint64_t>& m, const std::string& k, uint64_t n) {
    auto it = m.find(k);
    if (it == m.end() || n == 0) return;
    it->second -= std::min(it->second, n);
    if (it->second == 0) m.erase(it);
  };
  drop(free_, key, g.free_tokens);
  drop(units_, account, g.units);
}

CreditHold::CreditHold(std::mutex& mu, CreditHolds& holds, std::string key, std::string account,
                       const CreditGrant& grant)
    : mu_(mu), holds_(holds), key_(std::move(key)), account_(std::move(account)), grant_(grant) {
  holds_.Add(key_, account_, grant_);
}

CreditHold::~CreditHold() {
  std::lock_guard<std::mutex> lock(mu_);
  ReleaseLocked();
}

void CreditHold::ReleaseLocked() {
  if (released_) return;
  released_ = true;
  holds_.Release(key_, account_, grant_);
}

}  // namespace agora::validator
