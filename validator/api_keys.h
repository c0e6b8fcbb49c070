// The gateway's API keys, from a TOML file the operator writes:
//
//   [[keys]]
//   name = "alice"              # shown in logs and /v1/account
//   key = "sk-agora-..."        # the bearer token (at least 16 characters)
//   rate_per_s = 2.0            # requests per second (token bucket); 0: no limit
//   burst = 10
//   credit_tokens = 100000      # free completion tokens; with no price, 0 means no limit
//   max_tokens = 256            # largest max_tokens one request may ask
//   account = "ag..."           # chain account whose transfers to the gateway pay for
//                               # tokens beyond credit_tokens (when a price is set)
//
// Unknown keys, duplicate names or tokens and bad values are errors naming
// the entry. Thread-safe: Admit() may be called from any thread.
#ifndef AGORA_VALIDATOR_API_KEYS_H_
#define AGORA_VALIDATOR_API_KEYS_H_

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"

namespace agora::validator {

struct ApiKey {
  std::string name;
  std::string key;
  double rate_per_s = 2.0;
  double burst = 10;
  uint64_t credit_tokens = 0;  // 0: unlimited
  uint32_t max_tokens = 256;
  std::string account;  // address; "" when the key only has free credit
};

class ApiKeys {
 public:
  static absl::StatusOr<std::unique_ptr<ApiKeys>> Parse(const std::string& toml_text,
                                                        const std::string& source);
  static absl::StatusOr<std::unique_ptr<ApiKeys>> Load(const std::string& path);

  // The key for a bearer token, or null. Constant-time in the token bytes.
  const ApiKey* Find(const std::string& token) const;
  // Takes one request from the key's bucket; false when it is empty.
  bool Admit(const ApiKey& key, std::chrono::steady_clock::time_point now);
  size_t size() const { return keys_.size(); }

 private:
  struct Bucket {
    double tokens = 0;
    std::chrono::steady_clock::time_point refilled{};
    bool fresh = true;
  };
  std::map<std::string, ApiKey> keys_;  // by name
  absl::Mutex mu_;
  std::map<std::string, Bucket> buckets_ ABSL_GUARDED_BY(mu_);
};

}  // namespace agora::validator

#endif  // AGORA_VALIDATOR_API_KEYS_H_
