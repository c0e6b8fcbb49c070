#include "protocol/nonce.h"

#include <map>
#include <mutex>

#include "common/clock.h"

namespace agora::protocol {

uint64_t NonceGenerator::Next() {
  uint64_t last = last_.load(std::memory_order_relaxed);
  uint64_t next = 0;
  do {
    next = last == 0 ? UnixMicros() : last + 1;
  } while (!last_.compare_exchange_weak(last, next, std::memory_order_relaxed));
  return next;
}

std::shared_ptr<NonceGenerator> NonceGeneratorFor(const PublicKey& key) {
  static std::mutex mu;
  static std::map<PublicKey, std::weak_ptr<NonceGenerator>>* generators =
      new std::map<PublicKey, std::weak_ptr<NonceGenerator>>();  // never destroyed
  std::lock_guard<std::mutex> lock(mu);
  std::weak_ptr<NonceGenerator>& slot = (*generators)[key];
  std::shared_ptr<NonceGenerator> gen = slot.lock();
  if (gen == nullptr) {
    gen = std::make_shared<NonceGenerator>();
    slot = gen;
  }
  // Drop entries of keys nobody signs with any more, so the map stays small.
  for (auto it = generators->begin(); it != generators->end();) {
    it = it->second.expired() ? generators->erase(it) : std::next(it);
  }
  return gen;
}

}  // namespace agora::protocol
