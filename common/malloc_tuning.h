// Keeps memory that LibTorch frees in the process for its next tensors.
//
// LibTorch on the CPU allocates and frees tensors of a few megabytes every
// forward pass (attention keys gathered from the KV cache, a step's [M, N, V]
// scoring tensor). With glibc's defaults such blocks are either fresh mmap()s
// or, once freed, the top of the heap given back to the kernel, so the next
// step page-faults them in again: steps of a batch of 64 generations ran 3-5x
// slower and scoring 32 miners 4x slower for it (bench_miner, bench_scoring;
// docs/BENCHMARKS.md). After this call, blocks up to 32 MiB come from the heap
// and the heap is trimmed only past 512 MiB of free space at its top. The
// price: a process's resident memory stays near its peak instead of shrinking.
//
// Thread-safety: call early, before threads allocate; later calls do nothing.
#ifndef AGORA_COMMON_MALLOC_TUNING_H_
#define AGORA_COMMON_MALLOC_TUNING_H_

namespace agora {

void KeepFreedMemoryForReuse();

}  // namespace agora

#endif  // AGORA_COMMON_MALLOC_TUNING_H_
