// Fuzz target: the labels file of `agora summary` (cli/summary_command.h) on
// arbitrary bytes. It must return InvalidArgument or names whose keys are
// non-empty and free of whitespace.
#include <cstdint>
#include <cstdlib>
#include <map>
#include <string>

#include "cli/summary_command.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 64 * 1024) return 0;
  const std::string text(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<std::map<std::string, std::string>> labels = agora::cli::ParseLabels(text);
  if (!labels.ok()) {
    if (labels.status().code() != absl::StatusCode::kInvalidArgument) std::abort();
    return 0;
  }
  for (const auto& [key, label] : *labels) {
    if (key.empty() || key.find_first_of(" \t\n") != std::string::npos || key[0] == '#') std::abort();
    if (label.find('\n') != std::string::npos) std::abort();
  }
  return 0;
}
