// Monotone nonces for outgoing envelopes.
//
// A nonce must be unique per sender hotkey within the receivers' replay
// windows (docs/PROTOCOL.md "Nonces"), also across restarts. A generator
// starts at the Unix time in microseconds when it first hands one out and
// then counts up by one: strictly increasing, and above anything a previous
// run of the same key used as long as that run averaged under one envelope
// per microsecond (ed25519 alone caps a core at ~60k) and the wall clock did
// not step back. Counting (rather than re-reading the clock) keeps the
// nonces of concurrent requests dense, so requests that overtake each other
// on the way stay inside the receiver's 1024-nonce window.
//
// A Server and a Client that sign with the same hotkey must draw from the same
// generator, or both could stamp the same microsecond: NonceGeneratorFor()
// returns the process-wide generator of a key.
//
// Thread-safety: Next() is lock-free and safe from any thread.
#ifndef AGORA_PROTOCOL_NONCE_H_
#define AGORA_PROTOCOL_NONCE_H_

#include <atomic>
#include <cstdint>
#include <memory>

#include "common/crypto.h"

namespace agora::protocol {

class NonceGenerator {
 public:
  NonceGenerator() = default;
  NonceGenerator(const NonceGenerator&) = delete;
  NonceGenerator& operator=(const NonceGenerator&) = delete;

  // A nonce greater than every nonce this generator returned before; the
  // first one is the current Unix time in microseconds.
  uint64_t Next();
  // The last nonce handed out (0 if none).
  uint64_t last() const { return last_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> last_{0};
};

// The generator shared by everything in this process that signs as `key`.
// A key's generator is kept while someone holds it and, after that, until the
// clock has passed its last nonce (a burst of more than one envelope per
// microsecond runs ahead of the clock), so a later call never starts a new
// generator below nonces already used.
std::shared_ptr<NonceGenerator> NonceGeneratorFor(const PublicKey& key);

}  // namespace agora::protocol

#endif  // AGORA_PROTOCOL_NONCE_H_
