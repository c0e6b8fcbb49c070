#include "validator/state.h"

#include "absl/strings/str_cat.h"
#include "common/file_util.h"
#include "protocol/codec.h"

namespace agora::validator {

// Generous: 64k uids and their commits are well under this.
constexpr size_t kMaxStateBytes = 64u << 20;

absl::StatusOr<ValidatorState> LoadState(const std::string& path) {
  absl::StatusOr<std::string> bytes = ReadFile(path, kMaxStateBytes);
  if (!bytes.ok()) return bytes.status();
  absl::StatusOr<ValidatorState> s = protocol::Decode<ValidatorState>(*bytes, "validator state");
  if (!s.ok()) return absl::DataLossError(absl::StrCat(path, ": ", s.status().message()));
  return s;
}

absl::Status SaveState(const std::string& path, const ValidatorState& state) {
  return WriteFileAtomic(path, protocol::Encode(state), 0600);
}

}  // namespace agora::validator
