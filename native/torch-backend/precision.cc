// The precision state, the derived-operand cache and the two Node-API entry points (see precision.h).
#include "precision.h"

#include <ATen/Context.h>
#include <ATen/Parallel.h>
#include <ATen/detail/CUDAHooksInterface.h>
#include <c10/util/Exception.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

#include <stdexcept>
#include <unordered_map>

#include "napi-call.h"
#include "onednn-conv.h"

namespace n2n {
namespace {

Precision current = Precision::kFp32;

struct Entry {
  Derived kind;
  const c10::TensorImpl* source;
  uint32_t version;
  at::Tensor value;
};
std::unordered_map<int32_t, std::vector<Entry>> cache;

// AVX512-BF16 (CPUID leaf 7 subleaf 1, EAX bit 5) or AMX-BF16 (leaf 7 subleaf 0, EDX bit 22): bfloat16 dot
// products in hardware, which oneDNN's bf16 convolutions use. Without them oneDNN emulates bf16 (slower than fp32).
bool cpuHasNativeBf16() {
#if defined(__x86_64__) || defined(__i386__)
  unsigned eax, ebx, ecx, edx;
  if (__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx) == 0) return false;
  bool amx = (edx >> 22) & 1u;
  if (eax < 1) return amx;
  unsigned eax1, ebx1, ecx1, edx1;
  __get_cpuid_count(7, 1, &eax1, &ebx1, &ecx1, &edx1);
  return amx || ((eax1 >> 5) & 1u);
#else
  return false;
#endif
}

bool deviceHasNativeBf16() {
  if (currentDevice().is_cpu()) return cpuHasNativeBf16() && at::hasMKLDNN();
  return at::detail::getCUDAHooks().supportsBFloat16ConvolutionWithCuDNNv8();
}

// TF32 on for cuDNN and cuBLAS only under tf32; strict float32 otherwise (libtorch's default lets cuDNN use TF32).
void applyTf32(bool allowed) {
  at::globalContext().setAllowTF32CuDNN(allowed);
  at::globalContext().setAllowTF32CuBLAS(allowed);
}

Precision parse(const std::string& name) {
  if (name == "fp32") return Precision::kFp32;
  if (name == "bf16") return Precision::kBf16;
  if (name == "tf32") return Precision::kTf32;
  throw std::runtime_error("unknown precision '" + name + "' (expected fp32, bf16 or tf32)");
}

// setPrecision(name): 'fp32' | 'bf16' | 'tf32'; refuses a precision the current device cannot run natively.
napi_value SetPrecision(napi_env env, napi_callback_info info) {
  try {
    size_t count = 1;
    napi_value arg;
    napi_get_cb_info(env, info, &count, &arg, nullptr, nullptr);
    char buffer[16];
    size_t length = 0;
    if (count < 1 || napi_get_value_string_utf8(env, arg, buffer, sizeof buffer, &length) != napi_ok) {
      throw std::runtime_error("setPrecision needs a precision name");
    }
    Precision wanted = parse(std::string(buffer, length));
    if (wanted == Precision::kTf32 && !currentDevice().is_cuda()) {
      throw std::runtime_error("precision tf32 needs a CUDA device (this backend runs on " + currentDevice().str() +
                               ")");
    }
    if (wanted == Precision::kBf16 && !deviceHasNativeBf16()) {
      throw std::runtime_error("precision bf16 needs native bfloat16 on " + currentDevice().str() +
                               " (a CPU with AVX512-BF16 or AMX, or a CUDA GPU of compute capability 8.0 or newer)");
    }
    current = wanted;
    applyTf32(wanted == Precision::kTf32);
    if (wanted != Precision::kBf16) cache.clear();
    return nullptr;
  } catch (const std::exception& error) {
    napi_throw_error(env, nullptr, error.what());
    return nullptr;
  }
}

// precisionSupport(): { bf16: native bf16 on the current device, tf32: the current device is a CUDA GPU }.
napi_value PrecisionSupport(napi_env env, napi_callback_info) {
  try {
    napi_value result;
    napi_create_object(env, &result);
    napi_set_named_property(env, result, "bf16", booleanValue(env, deviceHasNativeBf16()));
    napi_set_named_property(env, result, "tf32", booleanValue(env, currentDevice().is_cuda()));
    return result;
  } catch (const std::exception& error) {
    napi_throw_error(env, nullptr, error.what());
    return nullptr;
  }
}

}  // namespace

bool lowPrecision() { return current == Precision::kBf16; }

at::Tensor derived(int64_t id, Derived kind, const std::function<at::Tensor(const at::Tensor&)>& make) {
  const at::Tensor& source = get(static_cast<int32_t>(id));
  auto version = static_cast<uint32_t>(source._version());
  auto& entries = cache[static_cast<int32_t>(id)];
  for (auto& entry : entries) {
    if (entry.kind != kind) continue;
    if (entry.source == source.unsafeGetTensorImpl() && entry.version == version) return entry.value;
    entry.value = make(source);
    entry.source = source.unsafeGetTensorImpl();
    entry.version = version;
    return entry.value;
  }
  entries.push_back({kind, source.unsafeGetTensorImpl(), version, make(source)});
  return entries.back().value;
}

at::Tensor operand(int64_t id) {
  if (!lowPrecision()) return get(static_cast<int32_t>(id));
  return derived(id, Derived::kBf16, [](const at::Tensor& t) { return t.to(at::kBFloat16); });
}

at::Tensor toFloat(const at::Tensor& tensor) {
  return tensor.scalar_type() == at::kFloat ? tensor : tensor.to(at::kFloat);
}

BfloatFilterGradThreads::BfloatFilterGradThreads(const at::Tensor& operand) {
  if (operand.scalar_type() != at::kBFloat16 || !operand.device().is_cpu() || at::get_num_threads() == 1) return;
  saved_ = at::get_num_threads();
  at::set_num_threads(1);
}

BfloatFilterGradThreads::~BfloatFilterGradThreads() {
  if (saved_ > 0) at::set_num_threads(saved_);
}

void forgetDerived(int32_t id) {
  if (!cache.empty()) cache.erase(id);
  forgetOneDnnWeights(id);
}

void initPrecision(napi_env env, napi_value exports) {
  applyTf32(false);
  exportFunction(env, exports, "setPrecision", SetPrecision);
  exportFunction(env, exports, "precisionSupport", PrecisionSupport);
}

}  // namespace n2n
