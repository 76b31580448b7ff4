// Node-API entry points of the torch backend: tensor creation and read-back, release, the op bridge, threads and
// device selection. Everything runs on the JavaScript thread; ATen parallelizes inside each op.
#include <ATen/Parallel.h>
#include <ATen/detail/CUDAHooksInterface.h>
#include <c10/core/Allocator.h>
#include <c10/util/Exception.h>
#include <c10/util/ThreadLocalDebugInfo.h>

#include <cstring>
#include <stdexcept>
#include <unordered_map>

#include "cpu-block-cache.h"
#include "memory-policy.h"
#include "onednn-conv.h"
#include "napi-call.h"
#include "precision.h"
#include "device-control.h"
#include "step-capture.h"
#include "tensor-table.h"

namespace n2n {

// ---- the tensor table ----

namespace {
std::vector<at::Tensor> slots;
std::vector<int32_t> freeSlots;
std::unordered_map<int32_t, at::Tensor> auxiliary;
int32_t live = 0;
at::Device device(at::kCPU);
int32_t* meta = nullptr;
size_t metaLength = 0;
}  // namespace

at::Device& currentDevice() { return device; }
at::TensorOptions floatOptions() { return at::TensorOptions().dtype(at::kFloat).device(device); }

at::ScalarType scalarType(int32_t code) {
  switch (code) {
    case kFloat32:
      return at::kFloat;
    case kInt32:
      return at::kInt;
    case kBool:
      return at::kBool;
  }
  throw std::runtime_error("unknown dtype code " + std::to_string(code));
}

int32_t dtypeCode(at::ScalarType type) {
  switch (type) {
    case at::kFloat:
      return kFloat32;
    case at::kInt:
      return kInt32;
    case at::kBool:
      return kBool;
    default:
      throw std::runtime_error(std::string("no TensorFlow.js dtype for ") + c10::toString(type));
  }
}

static at::Tensor normalizeDtype(at::Tensor tensor) {
  switch (tensor.scalar_type()) {
    case at::kFloat:
    case at::kInt:
    case at::kBool:
      return tensor;
    case at::kLong:
    case at::kShort:
    case at::kByte:
    case at::kChar:
      return tensor.to(at::kInt);
    default:
      return tensor.to(at::kFloat);
  }
}

int32_t put(at::Tensor tensor) {
  tensor = normalizeDtype(std::move(tensor));
  int32_t id;
  if (!freeSlots.empty()) {
    id = freeSlots.back();
    freeSlots.pop_back();
    slots[id] = std::move(tensor);
  } else {
    id = static_cast<int32_t>(slots.size());
    slots.push_back(std::move(tensor));
  }
  live++;
  return id;
}

at::Tensor& get(int32_t id) {
  if (id < 0 || static_cast<size_t>(id) >= slots.size() || !slots[id].defined()) {
    throw std::runtime_error("no live tensor with id " + std::to_string(id));
  }
  return slots[id];
}

void release(int32_t id) {
  get(id) = at::Tensor();
  auxiliary.erase(id);
  forgetDerived(id);
  freeSlots.push_back(id);
  live--;
}

int32_t liveCount() { return live; }

void attach(int32_t id, at::Tensor aux) { auxiliary[id] = std::move(aux); }

const at::Tensor* attached(int32_t id) {
  auto found = auxiliary.find(id);
  return found == auxiliary.end() ? nullptr : &found->second;
}

// ---- entry points ----

namespace {

napi_value number(napi_env env, double value) { return numberValue(env, value); }

// Writes [count, (id, dtype, rank, dims...)...] into the shared meta buffer.
void describeOutputs(const std::vector<int32_t>& ids) {
  if (meta == nullptr) throw std::runtime_error("setMeta was not called");
  size_t needed = 1;
  for (int32_t id : ids) needed += 3 + static_cast<size_t>(slots[id].dim());
  if (needed > metaLength) {
    throw std::runtime_error(std::to_string(ids.size()) + " outputs need " + std::to_string(needed) +
                             " values of the meta buffer, which holds " + std::to_string(metaLength));
  }
  size_t pos = 0;
  meta[pos++] = static_cast<int32_t>(ids.size());
  for (int32_t id : ids) {
    const at::Tensor& tensor = slots[id];
    meta[pos++] = id;
    meta[pos++] = dtypeCode(tensor.scalar_type());
    meta[pos++] = static_cast<int32_t>(tensor.dim());
    for (int64_t size : tensor.sizes()) meta[pos++] = static_cast<int32_t>(size);
  }
}

// Stores an op's outputs and describes them; on failure none of them stays in the table.
std::vector<int32_t> storeOutputs(Result& result) {
  std::vector<int32_t> ids;
  try {
    for (auto& output : result.outputs) ids.push_back(put(std::move(output)));
    if (result.aux.defined() && !ids.empty()) attach(ids[0], std::move(result.aux));
    describeOutputs(ids);
  } catch (...) {
    for (int32_t id : ids) release(id);
    throw;
  }
  return ids;
}

napi_value SetMeta(napi_env env, napi_callback_info info) {
  return guarded(env, [&]() -> napi_value {
    auto args = callArgs(env, info, 1);
    napi_typedarray_type type;
    size_t length;
    void* data;
    N2N_CHECK(napi_get_typedarray_info(env, args.at(0), &type, &length, &data, nullptr, nullptr));
    if (type != napi_int32_array) throw std::runtime_error("setMeta needs an Int32Array");
    meta = static_cast<int32_t*>(data);
    metaLength = length;
    return nullptr;
  });
}

// opSignatures(): every op's declaration, `name(argument: kind, ...)`, in op index order.
napi_value OpSignatures(napi_env env, napi_callback_info) {
  return guarded(env, [&]() -> napi_value {
    napi_value array;
    const auto& table = opTable();
    N2N_CHECK(napi_create_array_with_length(env, table.size(), &array));
    for (size_t i = 0; i < table.size(); i++) {
      napi_value signature;
      N2N_CHECK(napi_create_string_utf8(env, table[i].signature, NAPI_AUTO_LENGTH, &signature));
      N2N_CHECK(napi_set_element(env, array, static_cast<uint32_t>(i), signature));
    }
    return array;
  });
}

// run(opIndex, ...args): runs one op, stores its outputs, describes them in the meta buffer; returns their count.
// An error names the op.
napi_value Run(napi_env env, napi_callback_info info) {
  return guarded(env, [&]() -> napi_value {
    auto args = callArgs(env, info);
    int64_t index;
    N2N_CHECK(napi_get_value_int64(env, args.at(0), &index));
    const auto& table = opTable();
    if (index < 0 || static_cast<size_t>(index) >= table.size()) throw std::runtime_error("unknown op index");
    const OpEntry& op = table[index];
    try {
      if (args.size() - 1 != op.arity) {
        throw std::runtime_error("takes " + std::to_string(op.arity) + " arguments, got " +
                                 std::to_string(args.size() - 1));
      }
      Result result;
      if (capturing()) {
        // A captured step's calls run from their stored arguments, exactly as its replays will.
        std::vector<ArgValue> stored = storedArgs(static_cast<size_t>(index), env, args.data() + 1, args.size() - 1);
        Args opArgs(&stored);
        op.run(opArgs, result);
        std::vector<int32_t> ids = storeOutputs(result);
        recordOp(static_cast<size_t>(index), stored, ids);
        return number(env, static_cast<double>(ids.size()));
      }
      Args opArgs(env, args.data() + 1, args.size() - 1);
      op.run(opArgs, result);
      return number(env, static_cast<double>(storeOutputs(result).size()));
    } catch (const std::exception& error) {
      throw std::runtime_error(std::string("op '") + op.name + "': " + describe(error));
    }
  });
}

// fromArray(typedArray, shape, dtypeCode): copies the values once into a new tensor on the current device.
napi_value FromArray(napi_env env, napi_callback_info info) {
  return guarded(env, [&]() -> napi_value {
    auto args = callArgs(env, info, 3);
    Args opArgs(env, args.data(), args.size());
    napi_typedarray_type type;
    size_t length;
    void* data;
    N2N_CHECK(napi_get_typedarray_info(env, args.at(0), &type, &length, &data, nullptr, nullptr));
    std::vector<int64_t> shape = opArgs.integers(1, "shape");
    at::ScalarType dtype = opArgs.dtype(2, "dtype");
    size_t elementBytes = type == napi_float32_array || type == napi_int32_array ? 4
                          : type == napi_uint8_array                            ? 1
                                                                                : 0;
    size_t wantBytes = dtype == at::kBool ? 1 : 4;
    if (elementBytes != wantBytes) throw std::runtime_error("typed array type does not match the dtype");
    int64_t numel = 1;
    for (int64_t size : shape) numel *= size;
    if (static_cast<int64_t>(length) != numel) {
      throw std::runtime_error("array has " + std::to_string(length) + " values, shape needs " + std::to_string(numel));
    }
    // Bool values arrive as bytes, which may be any non-zero value for true: read as bytes, then compared with 0.
    at::Tensor tensor = at::empty(shape, at::TensorOptions().dtype(dtype == at::kBool ? at::kByte : dtype));
    if (numel > 0) std::memcpy(tensor.data_ptr(), data, length * elementBytes);
    if (dtype == at::kBool) tensor = tensor.ne(0);
    if (!device.is_cpu()) tensor = tensor.to(device);
    int32_t id = put(std::move(tensor));
    if (capturing()) recordUpload(id);
    return number(env, id);
  });
}

// toArray(id): a new Float32Array / Int32Array / Uint8Array (bool) with the values, row-major.
napi_value ToArray(napi_env env, napi_callback_info info) {
  return guarded(env, [&]() -> napi_value {
    auto args = callArgs(env, info, 1);
    Args opArgs(env, args.data(), args.size());
    if (capturing()) recordRead(opArgs.tensorId(0, "id"));
    at::Tensor tensor = opArgs.tensor(0, "id").to(at::kCPU).contiguous();
    size_t numel = static_cast<size_t>(tensor.numel());
    size_t elementBytes = tensor.scalar_type() == at::kBool ? 1 : 4;
    napi_typedarray_type type = tensor.scalar_type() == at::kFloat ? napi_float32_array
                                : tensor.scalar_type() == at::kInt ? napi_int32_array
                                                                   : napi_uint8_array;
    void* data;
    napi_value buffer, array;
    N2N_CHECK(napi_create_arraybuffer(env, numel * elementBytes, &data, &buffer));
    if (numel > 0) std::memcpy(data, tensor.data_ptr(), numel * elementBytes);
    N2N_CHECK(napi_create_typedarray(env, type, numel, buffer, 0, &array));
    return array;
  });
}

napi_value Release(napi_env env, napi_callback_info info) {
  return guarded(env, [&]() -> napi_value {
    auto args = callArgs(env, info, 1);
    Args opArgs(env, args.data(), args.size());
    int32_t id = opArgs.tensorId(0, "id");
    if (capturing()) recordRelease(id);
    release(id);
    return nullptr;
  });
}

napi_value LiveTensors(napi_env env, napi_callback_info) {
  return guarded(env, [&]() -> napi_value { return number(env, liveCount()); });
}

// setThreads(n): ATen's intra-op threads; returns the count in effect.
napi_value SetThreads(napi_env env, napi_callback_info info) {
  return guarded(env, [&]() -> napi_value {
    auto args = callArgs(env, info, 1);
    Args opArgs(env, args.data(), args.size());
    int64_t threads = opArgs.integer(0, "threads");
    if (threads > 0) at::set_num_threads(static_cast<int>(threads));
    return number(env, at::get_num_threads());
  });
}

// Records the size of every CPU allocation made on this thread while installed: c10's CPU allocator reports each one
// to the thread's PROFILER_STATE debug info when that says memory profiling is on.
struct AllocationRecorder : c10::MemoryReportingInfoBase {
  std::vector<int64_t> sizes;
  void reportMemoryUsage(void*, int64_t size, int64_t, int64_t, c10::Device) override {
    if (size > 0) sizes.push_back(size);
  }
  bool memoryProfilingEnabled() const override { return true; }
};
std::shared_ptr<AllocationRecorder> recorder;

// traceAllocations(on): true starts recording the bytes of each allocation; false stops and returns them, in order.
napi_value TraceAllocations(napi_env env, napi_callback_info info) {
  return guarded(env, [&]() -> napi_value {
    auto args = callArgs(env, info, 1);
    Args opArgs(env, args.data(), args.size());
    napi_value array;
    if (opArgs.flag(0, "on")) {
      if (!recorder) {
        recorder = std::make_shared<AllocationRecorder>();
        c10::ThreadLocalDebugInfo::_push(c10::DebugInfoKind::PROFILER_STATE, recorder);
      }
      N2N_CHECK(napi_create_array_with_length(env, 0, &array));
      return array;
    }
    std::vector<int64_t> sizes;
    if (recorder) {
      c10::ThreadLocalDebugInfo::_pop(c10::DebugInfoKind::PROFILER_STATE);
      sizes.swap(recorder->sizes);
      recorder.reset();
    }
    N2N_CHECK(napi_create_array_with_length(env, sizes.size(), &array));
    for (size_t i = 0; i < sizes.size(); i++) {
      N2N_CHECK(napi_set_element(env, array, static_cast<uint32_t>(i), number(env, static_cast<double>(sizes[i]))));
    }
    return array;
  });
}

napi_value CudaDevices(napi_env env, napi_callback_info) {
  return guarded(env, [&]() -> napi_value {
    if (!at::hasCUDA()) return number(env, 0);
    return number(env, at::detail::getCUDAHooks().getNumGPUs());
  });
}

// useDevice(kind, index): 'cpu' or 'cuda'; tensors made afterwards live there.
napi_value UseDevice(napi_env env, napi_callback_info info) {
  return guarded(env, [&]() -> napi_value {
    auto args = callArgs(env, info, 2);
    Args opArgs(env, args.data(), args.size());
    std::string kind = opArgs.text(0, "kind");
    if (kind == "cpu") {
      device = at::Device(at::kCPU);
    } else if (kind == "cuda") {
      if (!at::hasCUDA()) throw std::runtime_error("this libtorch has no CUDA or no GPU is visible");
      device = at::Device(at::kCUDA, static_cast<c10::DeviceIndex>(opArgs.integer(1, "index")));
    } else {
      throw std::runtime_error("unknown device kind " + kind);
    }
    napi_value name;
    N2N_CHECK(napi_create_string_utf8(env, device.str().c_str(), NAPI_AUTO_LENGTH, &name));
    return name;
  });
}

napi_value Init(napi_env env, napi_value exports) {
  struct Entry {
    const char* name;
    napi_callback callback;
  };
  const Entry entries[] = {
      {"setMeta", SetMeta},         {"opSignatures", OpSignatures}, {"run", Run},
      {"fromArray", FromArray},     {"toArray", ToArray},         {"release", Release},
      {"liveTensors", LiveTensors}, {"setThreads", SetThreads},   {"cudaDevices", CudaDevices},
      {"useDevice", UseDevice},     {"traceAllocations", TraceAllocations},
  };
  for (const auto& entry : entries) exportFunction(env, exports, entry.name, entry.callback);
  initPrecision(env, exports);
  keepFreedMemory();
  initCpuBlockCache(env, exports);
  initOneDnnConv(env, exports);
  initDeviceControl(env, exports);
  initStepCapture(env, exports);
  return exports;
}

}  // namespace
}  // namespace n2n

NAPI_MODULE(NODE_GYP_MODULE_NAME, n2n::Init)
