// Monotone nonces for outgoing envelopes.
//
// A nonce must be unique per sender hotkey within the receivers' replay
// windows (docs/PROTOCOL.md "Nonces"), also across restarts. NonceGenerator
// hands out max(last + 1, UnixMicros()): strictly increasing within a process
// and, as long as the wall clock does not step back, above anything a
// previous run of the same key used.
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

  // A nonce greater than every nonce this generator returned before and not
  // below the current Unix time in microseconds.
  uint64_t Next();

 private:
  std::atomic<uint64_t> last_{0};
};

// The generator shared by everything in this process that signs as `key`.
// Generators live as long as someone holds them; a later call for the same key
// after all holders let go starts a new one, still above the wall clock.
std::shared_ptr<NonceGenerator> NonceGeneratorFor(const PublicKey& key);

}  // namespace agora::protocol

#endif  // AGORA_PROTOCOL_NONCE_H_
