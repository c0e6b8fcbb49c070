// Fuzz target: loading a replay-window file (stored state read at start-up).
// Any bytes must either load or give DataLoss; nothing may crash.
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <string>

#include "protocol/replay_window.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using agora::protocol::NonceWindow;
  static const std::string path =
      "/tmp/agora_replay_window_fuzz_" + std::to_string(::getpid()) + ".log";
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  auto window = NonceWindow::Open(path, NonceWindow::Options{});
  if (window.ok()) {
    agora::PublicKey k{};
    (void)(*window)->CheckAndRecord(k, 1, 1, 1);
  } else if (window.status().code() != absl::StatusCode::kDataLoss &&
             window.status().code() != absl::StatusCode::kInternal) {
    std::abort();
  }
  ::unlink(path.c_str());
  return 0;
}
