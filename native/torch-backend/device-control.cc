// Process-wide device settings (device-control.h). cuDNN's flags live in ATen's global context, so they are set and
// read without CUDA headers; on a libtorch without CUDA they are recorded and have no effect.
#include "device-control.h"

#include <ATen/Context.h>
#include <ATen/detail/CUDAHooksInterface.h>
#include <c10/util/Exception.h>

#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>

#include "napi-call.h"
#include "tensor-table.h"

namespace n2n {
namespace {

bool forceGeneric = false;



// cudnnFlags() -> { deterministic, benchmark }: ATen's global cuDNN settings as they are now.
napi_value CudnnFlags(napi_env env, napi_callback_info) {
  return guarded(env, [&]() -> napi_value {
    napi_value flags;
    napi_create_object(env, &flags);
    napi_set_named_property(env, flags, "deterministic", booleanValue(env, at::globalContext().deterministicCuDNN()));
    napi_set_named_property(env, flags, "benchmark", booleanValue(env, at::globalContext().benchmarkCuDNN()));
    return flags;
  });
}

// setCudnnBenchmark(on): cuDNN's algorithm search before each new convolution shape (faster, and its choice may vary
// from run to run); deterministic stays on.
napi_value SetCudnnBenchmark(napi_env env, napi_callback_info info) {
  return guarded(env, [&]() -> napi_value {
    at::globalContext().setBenchmarkCuDNN(flagArgument(env, info, "setCudnnBenchmark"));
    return CudnnFlags(env, info);
  });
}

// synchronize(): waits for the current CUDA device's queued kernels; nothing to wait for on the CPU.
napi_value Synchronize(napi_env env, napi_callback_info) {
  return guarded(env, [&]() -> napi_value { return booleanValue(env, synchronizeDevice()); });
}

}  // namespace

bool synchronizeDevice() {
  const at::Device& device = currentDevice();
  if (device.is_cuda()) at::detail::getCUDAHooks().deviceSynchronize(device.index() < 0 ? 0 : device.index());
  return device.is_cuda();
}

namespace {

napi_value GenericKernels(napi_env env, napi_callback_info) {
  return guarded(env, [&]() -> napi_value { return booleanValue(env, forceGeneric); });
}

// setGenericKernels(on): returns the setting in effect.
napi_value SetGenericKernels(napi_env env, napi_callback_info info) {
  return guarded(env, [&]() -> napi_value {
    forceGeneric = flagArgument(env, info, "setGenericKernels");
    return booleanValue(env, forceGeneric);
  });
}

bool genericFromEnvironment() {
  const char* value = std::getenv("NET2NET_TORCH_GENERIC_KERNELS");
  if (value == nullptr || value[0] == '\0' || std::strcmp(value, "0") == 0) return false;
  if (std::strcmp(value, "1") == 0) return true;
  throw std::runtime_error(std::string("NET2NET_TORCH_GENERIC_KERNELS must be 0 or 1, got '") + value + "'");
}

}  // namespace

bool genericKernels() { return forceGeneric; }

void initDeviceControl(napi_env env, napi_value exports) {
  at::globalContext().setDeterministicCuDNN(true);
  at::globalContext().setBenchmarkCuDNN(false);
  try {
    forceGeneric = genericFromEnvironment();
  } catch (const std::exception& error) {
    napi_throw_error(env, nullptr, error.what());
    return;
  }
  struct Entry {
    const char* name;
    napi_callback callback;
  };
  const Entry entries[] = {
      {"cudnnFlags", CudnnFlags},
      {"setCudnnBenchmark", SetCudnnBenchmark},
      {"synchronize", Synchronize},
      {"genericKernels", GenericKernels},
      {"setGenericKernels", SetGenericKernels},
  };
  for (const auto& entry : entries) exportFunction(env, exports, entry.name, entry.callback);
}

}  // namespace n2n
