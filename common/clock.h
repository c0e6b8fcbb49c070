// Clocks. Library code takes `now` as a parameter; only process edges call these.
#ifndef AGORA_COMMON_CLOCK_H_
#define AGORA_COMMON_CLOCK_H_

#include <chrono>
#include <cstdint>

namespace agora {

// Milliseconds since the Unix epoch (wall clock; used in envelope timestamps).
inline uint64_t UnixMillis() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
}
// Microseconds since the Unix epoch (wall clock; used to seed monotone nonces).
inline uint64_t UnixMicros() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
}

}  // namespace agora

#endif  // AGORA_COMMON_CLOCK_H_
