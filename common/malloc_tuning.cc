#include "common/malloc_tuning.h"

#include <malloc.h>

namespace agora {

void KeepFreedMemoryForReuse() {
  static const bool once = [] {
    // 32 MiB is glibc's largest mmap threshold on 64-bit; setting it also
    // stops glibc's own adjustment of the threshold.
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    mallopt(M_TRIM_THRESHOLD, 512 << 20);
    return true;
  }();
  (void)once;
}

}  // namespace agora
