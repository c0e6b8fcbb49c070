// Minimal leveled logging to stderr (Debian 12's Abseil has no absl/log).
// Thread-safe: each line is written with one fprintf call.
//
// Lines that a remote peer can trigger must use AGORA_LOG(DEBUG, ...) so a
// hostile peer cannot fill a disk through warnings.
#ifndef AGORA_COMMON_LOG_H_
#define AGORA_COMMON_LOG_H_

#include <atomic>

#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"

namespace agora::log {

enum class Level { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

// Sets the minimum level printed (default kInfo; AGORA_LOG_LEVEL=debug|info|warn|error
// in the environment overrides the default at first use).
void SetLevel(Level level);
bool Enabled(Level level);
void Write(Level level, absl::string_view component, absl::string_view message);

}  // namespace agora::log

#define AGORA_LOG_LEVEL_DEBUG ::agora::log::Level::kDebug
#define AGORA_LOG_LEVEL_INFO ::agora::log::Level::kInfo
#define AGORA_LOG_LEVEL_WARN ::agora::log::Level::kWarn
#define AGORA_LOG_LEVEL_ERROR ::agora::log::Level::kError

// AGORA_LOG(INFO, "chain", "height %d", h);
#define AGORA_LOG(level, component, ...)                                    \
  do {                                                                      \
    if (::agora::log::Enabled(AGORA_LOG_LEVEL_##level))                     \
      ::agora::log::Write(AGORA_LOG_LEVEL_##level, component,               \
                          ::absl::StrFormat(__VA_ARGS__));                  \
  } while (0)

#endif  // AGORA_COMMON_LOG_H_
