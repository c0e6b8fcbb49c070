#include "chain/node_key.h"

#include <filesystem>

#include "absl/strings/str_cat.h"
#include "common/file_util.h"

namespace agora::chain {

absl::StatusOr<SigningKey> LoadOrCreateNodeKey(const std::string& path) {
  if (std::filesystem::exists(path)) {
    absl::StatusOr<std::string> seed = ReadFile(path, kSeedBytes);
    if (!seed.ok()) return seed.status();
    if (seed->size() != kSeedBytes) {
      return absl::DataLossError(absl::StrCat(path, ": node key must be ", kSeedBytes,
                                              " bytes, found ", seed->size()));
    }
    absl::StatusOr<SigningKey> key = SigningKey::FromSeed(AsBytes(*seed));
    std::fill(seed->begin(), seed->end(), '\0');
    return key;
  }
  SigningKey key = SigningKey::Generate();
  const auto seed = key.seed();
  absl::Status s = WriteFileAtomic(
      path, absl::string_view(reinterpret_cast<const char*>(seed.data()), seed.size()), 0600,
      IfExists::kFail);
  if (!s.ok()) return s;
  return key;
}

}  // namespace agora::chain
