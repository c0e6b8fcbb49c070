// Replay driver for fuzz targets built without libFuzzer (the gcc build).
//
// Usage: <target>_fuzz DIR_OR_FILE...
// Feeds every file to LLVMFuzzerTestOneInput, then a fixed, seeded set of
// mutations of each (bit flips, truncations, byte insertions, splices), so a
// ctest run exercises the decoders beyond the literal seeds. Exits non-zero
// only if the target crashes or aborts (which is the failure a fuzzer reports).
// The seed is AGORA_TEST_SEED when set, so a run can be replayed.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

void Run(const std::string& bytes) {
  LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
}

std::string ReadFile(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> seeds;
  for (int i = 1; i < argc; ++i) {
    std::filesystem::path p(argv[i]);
    if (std::filesystem::is_directory(p)) {
      for (const auto& entry : std::filesystem::recursive_directory_iterator(p)) {
        if (entry.is_regular_file()) seeds.push_back(ReadFile(entry.path()));
      }
    } else if (std::filesystem::exists(p)) {
      seeds.push_back(ReadFile(p));
    } else {
      std::fprintf(stderr, "replay: no such corpus path: %s\n", argv[i]);
      return 2;
    }
  }
  if (seeds.empty()) {
    std::fprintf(stderr, "replay: empty corpus\n");
    return 2;
  }
  uint64_t seed = 20261121;
  if (const char* env = std::getenv("AGORA_TEST_SEED")) seed = std::strtoull(env, nullptr, 10);
  std::mt19937_64 rng(seed);
  const int kMutationsPerSeed = 300;
  size_t runs = 0;
  Run("");
  for (const std::string& s : seeds) {
    Run(s);
    ++runs;
    for (int m = 0; m < kMutationsPerSeed; ++m) {
      std::string x = s;
      switch (rng() % 5) {
        case 0:  // flip a few bits
          for (int k = 0, n = 1 + rng() % 4; k < n && !x.empty(); ++k)
            x[rng() % x.size()] ^= static_cast<char>(1u << (rng() % 8));
          break;
        case 1:  // truncate
          x.resize(x.empty() ? 0 : rng() % x.size());
          break;
        case 2:  // insert random bytes
          for (int k = 0, n = 1 + rng() % 8; k < n; ++k)
            x.insert(x.begin() + (x.empty() ? 0 : rng() % (x.size() + 1)),
                     static_cast<char>(rng()));
          break;
        case 3:  // overwrite a byte with an interesting value
          if (!x.empty()) {
            static const char kVals[] = {0, 1, 0x7f, char(0x80), char(0xff), char(0xc1),
                                         char(0xdd), char(0xdf)};
            x[rng() % x.size()] = kVals[rng() % sizeof(kVals)];
          }
          break;
        case 4:  // splice with another seed
          {
            const std::string& o = seeds[rng() % seeds.size()];
            x = x.substr(0, x.empty() ? 0 : rng() % x.size()) +
                o.substr(o.empty() ? 0 : rng() % o.size());
          }
          break;
      }
      Run(x);
      ++runs;
    }
  }
  std::printf("replay: %zu inputs (%zu seeds, seed %llu) without a crash\n", runs, seeds.size(),
              static_cast<unsigned long long>(seed));
  return 0;
}
