// Every TensorFlow.js op returns a new tensor, so a training step allocates and frees hundreds of tensor blocks, and
// a replayed step the very same sizes every time. glibc serves them from its heap (memory-policy.cc keeps them there),
// but finding a block in its bins, and merging the small freed chunks (tensor headers, vectors) that every request
// above its small-bin sizes sets off, stood near the top of a perf profile of a replayed batch-1 step (_int_malloc,
// _int_free, malloc_consolidate, unlink_chunk; measured gain in the README's Backends section). So libtorch's CPU allocator is replaced by one that keeps
// freed blocks per size class, up to a byte limit, and hands them out again: PyTorch's CUDA caching allocator does
// the same for device memory. Blocks above the limit go back to the C library as before.
#include "cpu-block-cache.h"

#include <c10/core/Allocator.h>
#include <c10/core/CPUAllocator.h>

#include <cstdlib>
#include <cstring>
#include <mutex>
#include <new>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <vector>

#include "napi-call.h"

namespace n2n {
namespace {

#ifdef N2N_NO_CPU_BLOCK_CACHE
// Left out by the build (this libtorch's allocator interface did not compile with it): libtorch's allocator stays.
struct CpuBlockCache {
  explicit CpuBlockCache(size_t) {}
  CpuBlockCacheStats stats() { return {0, 0, 0, 0, 0}; }
  void empty() {}
  static CpuBlockCache* instance;
};
#else
// c10's own CPU alignment (gAlignment); the header in front of each block keeps the data at it.
constexpr size_t kAlignment = 64;

struct BlockHeader {
  size_t sizeClass;  // bytes of data the block holds
  size_t requested;  // bytes the allocation asked for (what the memory profiler is told)
};
static_assert(sizeof(BlockHeader) <= kAlignment, "the header fits in front of aligned data");

// Up to 4 KiB, multiples of 64 bytes; above, eight classes per power of two (at most 1/8 of a block unused).
size_t sizeClassOf(size_t bytes) {
  if (bytes <= 4096) return (bytes + kAlignment - 1) / kAlignment * kAlignment;
  size_t step = (size_t{1} << (63 - __builtin_clzll(bytes))) / 8;
  return (bytes + step - 1) / step * step;
}

BlockHeader* headerOf(void* data) { return reinterpret_cast<BlockHeader*>(static_cast<char*>(data) - kAlignment); }

class CpuBlockCache final : public c10::Allocator {
 public:
  explicit CpuBlockCache(size_t limitBytes) : limit_(limitBytes) {}

  // libtorch 1.x declares allocate const, 2.x not: both are defined, the one the base declares overrides it.
  c10::DataPtr allocate(size_t bytes) const { return const_cast<CpuBlockCache*>(this)->take(bytes); }
  c10::DataPtr allocate(size_t bytes) { return take(bytes); }
  c10::DeleterFnPtr raw_deleter() const override { return &giveBack; }
  // Pure virtual in libtorch 2.x; unused by 1.x.
  void copy_data(void* destination, const void* source, size_t count) const {
    std::memcpy(destination, source, count);
  }

  CpuBlockCacheStats stats() {
    std::lock_guard<std::mutex> lock(mutex_);
    return {static_cast<int64_t>(limit_), static_cast<int64_t>(cached_), static_cast<int64_t>(live_), hits_,
            misses_};
  }

  void empty() {
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto& [sizeClass, blocks] : free_) {
      for (char* block : blocks) std::free(block);
      blocks.clear();
    }
    cached_ = 0;
  }

  static CpuBlockCache* instance;

 private:
  c10::DataPtr take(size_t bytes) {
    if (bytes == 0) return {nullptr, nullptr, &giveBack, c10::Device(c10::DeviceType::CPU)};
    size_t sizeClass = sizeClassOf(bytes);
    char* block = nullptr;
    size_t live = 0, reserved = 0;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      auto found = free_.find(sizeClass);
      if (found != free_.end() && !found->second.empty()) {
        block = found->second.back();
        found->second.pop_back();
        cached_ -= sizeClass;
        hits_++;
      } else {
        misses_++;
      }
      live_ += sizeClass;
      reserved = live_ + cached_;
      live = live_;
    }
    if (block == nullptr) {
      void* fresh = nullptr;
      if (posix_memalign(&fresh, kAlignment, kAlignment + sizeClass) != 0) {
        std::lock_guard<std::mutex> lock(mutex_);
        live_ -= sizeClass;
        throw std::bad_alloc();
      }
      block = static_cast<char*>(fresh);
    }
    char* data = block + kAlignment;
    *headerOf(data) = {sizeClass, bytes};
    if (c10::memoryProfilingEnabled()) {
      c10::reportMemoryUsageToProfiler(data, static_cast<int64_t>(bytes), static_cast<int64_t>(live),
                                       static_cast<int64_t>(reserved), c10::Device(c10::DeviceType::CPU));
    }
    return {data, data, &giveBack, c10::Device(c10::DeviceType::CPU)};
  }

  static void giveBack(void* data) {
    if (data == nullptr) return;
    instance->keepOrFree(data);
  }

  void keepOrFree(void* data) {
    BlockHeader header = *headerOf(data);
    char* block = static_cast<char*>(data) - kAlignment;
    bool keep;
    size_t live = 0, reserved = 0;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      live_ -= header.sizeClass;
      keep = cached_ + header.sizeClass <= limit_;
      if (keep) {
        free_[header.sizeClass].push_back(block);
        cached_ += header.sizeClass;
      }
      live = live_;
      reserved = live_ + cached_;
    }
    if (c10::memoryProfilingEnabled()) {
      c10::reportMemoryUsageToProfiler(data, -static_cast<int64_t>(header.requested), static_cast<int64_t>(live),
                                       static_cast<int64_t>(reserved), c10::Device(c10::DeviceType::CPU));
    }
    if (!keep) std::free(block);
  }

  const size_t limit_;
  std::mutex mutex_;
  std::unordered_map<size_t, std::vector<char*>> free_;
  size_t cached_ = 0;
  size_t live_ = 0;
  int64_t hits_ = 0;
  int64_t misses_ = 0;
};

#endif

// Never destroyed: tensors freed while the process exits still return their blocks here.
CpuBlockCache* CpuBlockCache::instance = nullptr;

size_t limitFromEnvironment() {
  const char* value = std::getenv("NET2NET_TORCH_CPU_CACHE_MB");
  if (value == nullptr || *value == '\0') return size_t{1024} << 20;
  char* end = nullptr;
  double megabytes = std::strtod(value, &end);
  if (*end != '\0' || !(megabytes >= 0)) {
    throw std::runtime_error(std::string("NET2NET_TORCH_CPU_CACHE_MB must be a number of MiB >= 0, not '") + value +
                             "'");
  }
  return static_cast<size_t>(megabytes * 1024 * 1024);
}

napi_value statsObject(napi_env env, const CpuBlockCacheStats& stats) {
  napi_value result;
  N2N_CHECK(napi_create_object(env, &result));
  N2N_CHECK(napi_set_named_property(env, result, "limitBytes", numberValue(env, stats.limitBytes)));
  N2N_CHECK(napi_set_named_property(env, result, "cachedBytes", numberValue(env, stats.cachedBytes)));
  N2N_CHECK(napi_set_named_property(env, result, "liveBytes", numberValue(env, stats.liveBytes)));
  N2N_CHECK(napi_set_named_property(env, result, "hits", numberValue(env, stats.hits)));
  N2N_CHECK(napi_set_named_property(env, result, "misses", numberValue(env, stats.misses)));
  return result;
}

// cpuBlockCache(): the cache's counters (all zero where it is off).
napi_value CpuBlockCacheInfo(napi_env env, napi_callback_info) {
  return guarded(env, [&]() { return statsObject(env, cpuBlockCacheStats()); });
}

// emptyCpuBlockCache(): frees the kept blocks.
napi_value EmptyCpuBlockCache(napi_env env, napi_callback_info) {
  return guarded(env, [&]() -> napi_value {
    if (CpuBlockCache::instance != nullptr) CpuBlockCache::instance->empty();
    return nullptr;
  });
}

}  // namespace

CpuBlockCacheStats cpuBlockCacheStats() {
  if (CpuBlockCache::instance == nullptr) return {0, 0, 0, 0, 0};
  return CpuBlockCache::instance->stats();
}

void initCpuBlockCache(napi_env env, napi_value exports) {
  try {
    size_t limit = limitFromEnvironment();
#ifndef N2N_NO_CPU_BLOCK_CACHE
    if (limit > 0 && CpuBlockCache::instance == nullptr) {
      CpuBlockCache::instance = new CpuBlockCache(limit);
      c10::SetCPUAllocator(CpuBlockCache::instance, /*priority=*/1);
    }
#endif
  } catch (const std::exception& error) {
    napi_throw_error(env, nullptr, error.what());
    return;
  }
  exportFunction(env, exports, "cpuBlockCache", CpuBlockCacheInfo);
  exportFunction(env, exports, "emptyCpuBlockCache", EmptyCpuBlockCache);
}

}  // namespace n2n
