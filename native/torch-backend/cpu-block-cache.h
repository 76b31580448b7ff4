// A caching allocator for CPU tensor memory (see cpu-block-cache.cc).
#pragma once

#include <cstddef>
#include <cstdint>

#include <node_api.h>

namespace n2n {

struct CpuBlockCacheStats {
  int64_t limitBytes;   // most bytes of freed blocks kept for reuse (0: the cache is off)
  int64_t cachedBytes;  // bytes of freed blocks kept now
  int64_t liveBytes;    // bytes of blocks handed out and not yet freed
  int64_t hits;         // allocations served from a kept block
  int64_t misses;       // allocations that went to the C library
};

CpuBlockCacheStats cpuBlockCacheStats();

// Installs the cache as libtorch's CPU allocator, keeping up to NET2NET_TORCH_CPU_CACHE_MB (default 1024; 0 leaves
// libtorch's allocator in place), and adds cpuBlockCache() / emptyCpuBlockCache() to the addon's exports.
void initCpuBlockCache(napi_env env, napi_value exports);

}  // namespace n2n
