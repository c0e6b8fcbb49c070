// What a gateway request may spend, decided before any miner is asked: free
// tokens of the API key first, then (with a price per token) the deposits of
// the key's chain account. Pure; the gateway calls it with the ledger's
// totals net of the credit other requests in flight already hold, and holds
// the grant until the request is charged or fails, so concurrent requests
// cannot spend the same credit twice.
#ifndef AGORA_VALIDATOR_CREDIT_H_
#define AGORA_VALIDATOR_CREDIT_H_

#include <cstdint>
#include <map>
#include <mutex>
#include <string>

#include "absl/status/statusor.h"

namespace agora::validator {

struct CreditState {
  uint64_t credit_tokens = 0;  // the key's free tokens (config)
  uint64_t used_tokens = 0;    // charged so far plus held by requests in flight
  uint64_t price = 0;          // base units per completion token; 0: free
  bool has_account = false;    // the key is bound to a paying chain account
  int64_t balance = 0;         // deposits minus charges and holds, base units
};

struct CreditGrant {
  uint32_t max_tokens = 0;   // the request's max_tokens, lowered to what free credit covers
  uint64_t free_tokens = 0;  // free tokens held for it
  uint64_t units = 0;        // account units held for it (its worst case)
  bool unlimited = false;    // no price and no credit limit: nothing to hold
};

// The grant for a request of `max_tokens`, or ResourceExhausted whose
// message says why (the gateway's 402).
absl::StatusOr<CreditGrant> DecideCredit(const CreditState& s, uint32_t max_tokens);

// Credit held by requests in flight, by key name and by account. Not
// thread-safe: the gateway guards it with the lock under which it reads the
// ledger and records charges.
class CreditHolds {
 public:
  uint64_t free_tokens(const std::string& key) const;
  uint64_t units(const std::string& account) const;
  void Add(const std::string& key, const std::string& account, const CreditGrant& g);
  void Release(const std::string& key, const std::string& account, const CreditGrant& g);

 private:
  std::map<std::string, uint64_t> free_;   // by key name
  std::map<std::string, uint64_t> units_;  // by account
};

// One request's grant, held in `holds` from construction until released:
// by ReleaseLocked() on the charge path (under the lock that records the
// charge, so no reader sees the charge and the hold both, or neither), or
// on destruction on every other way out (an error, a client gone, a stream
// that outlives the HTTP handler).
class CreditHold {
 public:
  // Requires: the caller holds `mu`. `mu` and `holds` outlive the hold.
  CreditHold(std::mutex& mu, CreditHolds& holds, std::string key, std::string account,
             const CreditGrant& grant);
  ~CreditHold();  // locks `mu` and releases, unless already released
  CreditHold(const CreditHold&) = delete;
  CreditHold& operator=(const CreditHold&) = delete;

  // Requires: the caller holds `mu`. Idempotent.
  void ReleaseLocked();
  const CreditGrant& grant() const { return grant_; }

 private:
  std::mutex& mu_;
  CreditHolds& holds_;
  const std::string key_;
  const std::string account_;
  const CreditGrant grant_;
  bool released_ = false;
};

}  // namespace agora::validator

#endif  // AGORA_VALIDATOR_CREDIT_H_
