// Every TensorFlow.js op returns a new tensor, so a training step allocates and frees hundreds of activation-sized
// blocks. glibc serves blocks above its mmap threshold (128 KiB at first) with a fresh mmap and unmaps them on free;
// each new block then page-faults and is zeroed by the kernel again. Measured on the small Inception-BN (28x28x1,
// batch 64, 2 threads): a third of the step's CPU time was system time, and the step took 1.7x the CPU time it takes
// with freed blocks kept for reuse (`npm run bench -- train`, step_cpu_ms 1,444 -> 831). So: blocks up to 32 MiB (the
// largest threshold glibc accepts) come from the heap, and the heap is not trimmed back to the system.
#include "memory-policy.h"

#include <cstdlib>  // defines __GLIBC__ where it is glibc

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace n2n {

void keepFreedMemory() {
#if defined(__GLIBC__)
  mallopt(M_MMAP_THRESHOLD, 32 * 1024 * 1024);
  mallopt(M_TRIM_THRESHOLD, 1024 * 1024 * 1024);
  mallopt(M_TOP_PAD, 256 * 1024 * 1024);
#endif
}

}  // namespace n2n
