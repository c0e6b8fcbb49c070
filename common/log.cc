#include "common/log.h"

#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <string>

#include "common/clock.h"

namespace agora::log {
namespace {

Level LevelFromEnv() {
  const char* env = std::getenv("AGORA_LOG_LEVEL");
  if (env == nullptr) return Level::kInfo;
  const std::string v(env);
  if (v == "debug") return Level::kDebug;
  if (v == "warn") return Level::kWarn;
  if (v == "error") return Level::kError;
  return Level::kInfo;
}

std::atomic<int>& MinLevel() {
  static std::atomic<int> level{static_cast<int>(LevelFromEnv())};
  return level;
}

const char* Name(Level level) {
  switch (level) {
    case Level::kDebug: return "DEBUG";
    case Level::kInfo: return "INFO";
    case Level::kWarn: return "WARN";
    case Level::kError: return "ERROR";
  }
  return "?";
}

}  // namespace

void SetLevel(Level level) { MinLevel().store(static_cast<int>(level)); }

bool Enabled(Level level) { return static_cast<int>(level) >= MinLevel().load(); }

void Write(Level level, absl::string_view component, absl::string_view message) {
  const uint64_t ms = UnixMillis();
  const std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char stamp[32];
  std::strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
  std::fprintf(stderr, "%s.%03dZ %-5s [%.*s] %.*s\n", stamp, static_cast<int>(ms % 1000),
               Name(level), static_cast<int>(component.size()), component.data(),
               static_cast<int>(message.size()), message.data());
}

}  // namespace agora::log
