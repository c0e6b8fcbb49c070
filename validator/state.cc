#include "validator/state.h"

#include <filesystem>

#include "absl/strings/str_cat.h"
#include "common/file_util.h"
#include "protocol/codec.h"
#include "validator/score_record.h"

namespace agora::validator {

// Generous: 64k uids and their commits are well under this.
constexpr size_t kMaxStateBytes = 64u << 20;

double PayableScore(double ema, uint64_t zeroed_until_epoch, bool completion_verified,
                    uint64_t epoch, bool require_verified) {
  if (epoch < zeroed_until_epoch) return 0.0;
  if (require_verified && !completion_verified) return 0.0;
  return ema;
}

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

absl::Status WritePendingRecord(const ValidatorState& state, const std::string& records_dir) {
  if (state.record.empty() || state.record_step == 0 || state.record_step != state.step) {
    return absl::OkStatus();
  }
  std::error_code ec;
  if (std::filesystem::exists(RecordPath(records_dir, state.record_step), ec)) {
    return absl::OkStatus();
  }
  return WriteRecord(records_dir, state.record_step, state.record);
}

}  // namespace agora::validator
