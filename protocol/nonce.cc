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
  static std::map<PublicKey, std::shared_ptr<NonceGenerator>>* generators =
      new std::map<PublicKey, std::shared_ptr<NonceGenerator>>();  // never destroyed
  std::lock_guard<std::mutex> lock(mu);
  std::shared_ptr<NonceGenerator>& slot = (*generators)[key];
  if (slot == nullptr) slot = std::make_shared<NonceGenerator>();
  std::shared_ptr<NonceGenerator> gen = slot;
  // Drop generators nobody else holds (use_count 1: only this map, and new
  // holders must come through here) once the clock has passed their last
  // nonce, so the map stays small and a successor starts above them.
  const uint64_t now = UnixMicros();
  for (auto it = generators->begin(); it != generators->end();) {
    it = it->second.use_count() == 1 && it->second->last() < now ? generators->erase(it)
                                                                 : std::next(it);
  }
  return gen;
}

}  // namespace agora::protocol
