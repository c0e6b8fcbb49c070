#include "miner/admission.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace agora::miner {
namespace {

constexpr size_t kMaxOpenBuckets = 100'000;

// Refills `e` for `now` and takes one token; false if the bucket is empty.
bool TakeToken(double rate, double burst, std::chrono::steady_clock::time_point now,
               double* tokens, std::chrono::steady_clock::time_point* refilled, bool* fresh) {
  if (rate <= 0) return true;
  if (*fresh) {
    *tokens = burst;
    *refilled = now;
    *fresh = false;
  } else if (now > *refilled) {
    *tokens = std::min(burst, *tokens + rate * std::chrono::duration<double>(now - *refilled).count());
    *refilled = now;
  }
  if (*tokens < 1.0) return false;
  *tokens -= 1.0;
  return true;
}

}  // namespace

void Admission::Update(const std::vector<Member>& members) {
  absl::MutexLock lock(&mu_);
  absl::flat_hash_map<PublicKey, Entry> next;
  next.reserve(members.size());
  for (const Member& m : members) {
    Entry e;
    auto it = members_.find(m.hotkey);
    if (it != members_.end()) e = it->second;
    e.member = m;
    next[m.hotkey] = e;
  }
  members_ = std::move(next);
}

bool Admission::Prescreen(const PublicKey& claimed_sender) {
  if (options_.open) return true;
  absl::MutexLock lock(&mu_);
  auto it = members_.find(claimed_sender);
  const bool may = it != members_.end() && it->second.member.stake >= options_.min_stake &&
                   (!options_.require_permit || it->second.member.validator_permit);
  if (!may) ++stats_.unregistered;
  return may;
}

bool Admission::HasPermit(const PublicKey& sender) {
  if (options_.open) return true;
  absl::MutexLock lock(&mu_);
  auto it = members_.find(sender);
  const bool permit = it != members_.end() && it->second.member.validator_permit;
  // Counted as a miss, so the miner re-reads the metagraph soon (a permit
  // the last read did not show yet, miner/miner.cc).
  if (!permit) ++stats_.unregistered;
  return permit;
}

absl::Status Admission::Admit(const PublicKey& sender, std::chrono::steady_clock::time_point now) {
  absl::MutexLock lock(&mu_);
  auto it = members_.find(sender);
  Entry* e = nullptr;
  if (it != members_.end()) {
    e = &it->second;
    if (!options_.open) {
      if (e->member.stake < options_.min_stake) {
        ++stats_.unregistered;
        return protocol::Refuse(protocol::Reason::kUnregistered,
                                absl::StrCat("stake ", e->member.stake, " below min_stake ",
                                             options_.min_stake));
      }
      if (options_.require_permit && !e->member.validator_permit) {
        ++stats_.unregistered;
        return protocol::Refuse(protocol::Reason::kUnregistered, "no validator permit");
      }
    }
  } else if (options_.open) {
    if (open_buckets_.size() >= kMaxOpenBuckets && !open_buckets_.contains(sender)) {
      open_buckets_.clear();  // bounded memory; a flood of fresh keys resets everyone
    }
    e = &open_buckets_[sender];
  } else {
    ++stats_.unregistered;
    return protocol::Refuse(protocol::Reason::kUnregistered,
                            "hotkey is not registered on this subnet");
  }
  if (!TakeToken(options_.rate_per_s, std::max(1.0, options_.burst), now, &e->tokens,
                 &e->refilled, &e->fresh)) {
    ++stats_.rate_limited;
    return protocol::Refuse(protocol::Reason::kRateLimited,
                            absl::StrCat("over ", options_.rate_per_s, " requests/s"));
  }
  ++stats_.admitted;
  return absl::OkStatus();
}

uint64_t Admission::Priority(const PublicKey& sender) const {
  absl::MutexLock lock(&mu_);
  auto it = members_.find(sender);
  return it == members_.end() ? 0 : it->second.member.stake;
}

AdmissionStats Admission::Stats() const {
  absl::MutexLock lock(&mu_);
  AdmissionStats s = stats_;
  s.members = members_.size();
  return s;
}

}  // namespace agora::miner
