// Test randomness: every randomized test seeds from TestSeed(), which prints
// the seed and honours AGORA_TEST_SEED so a failing run can be replayed.
#ifndef AGORA_TESTS_TEST_SEED_H_
#define AGORA_TESTS_TEST_SEED_H_

#include <cstdint>
#include <cstdio>
#include <cstdlib>

namespace agora::testing {

inline uint64_t TestSeed() {
  static const uint64_t seed = [] {
    uint64_t s = 20261121;
    if (const char* env = std::getenv("AGORA_TEST_SEED")) s = std::strtoull(env, nullptr, 10);
    std::fprintf(stderr, "test seed: %llu (set AGORA_TEST_SEED to replay)\n",
                 static_cast<unsigned long long>(s));
    return s;
  }();
  return seed;
}

}  // namespace agora::testing

#endif  // AGORA_TESTS_TEST_SEED_H_
