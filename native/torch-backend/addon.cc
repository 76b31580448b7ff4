// Node-API entry points of the torch backend: tensor creation and read-back, release, the op bridge, threads and
// device selection. Everything runs on the JavaScript thread; ATen parallelizes inside each op.
#include <ATen/Parallel.h>
#include <ATen/detail/CUDAHooksInterface.h>
#include <c10/util/Exception.h>

#include <cstring>
#include <stdexcept>
#include <unordered_map>

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
  freeSlots.push_back(id);
  live--;
}

int32_t liveCount() { return live; }

void attach(int32_t id, at::Tensor aux) { auxiliary[id] = std::move(aux); }

const at::Tensor* attached(int32_t id) {
  auto found = auxiliary.find(id);
  return found == auxiliary.end() ? nullptr : &found->second;
}

// ---- argument reading ----

#define N2N_CHECK(call)                                                 \
  do {                                                                  \
    if ((call) != napi_ok) throw std::runtime_error("N-API: " #call); \
  } while (0)

napi_value Args::at(size_t i) const {
  if (i >= count_) throw std::runtime_error("op argument " + std::to_string(i) + " is missing");
  return values_[i];
}

int64_t Args::integer(size_t i) const {
  int64_t value;
  N2N_CHECK(napi_get_value_int64(env_, at(i), &value));
  return value;
}

double Args::number(size_t i) const {
  double value;
  N2N_CHECK(napi_get_value_double(env_, at(i), &value));
  return value;
}

bool Args::flag(size_t i) const {
  napi_valuetype type;
  N2N_CHECK(napi_typeof(env_, at(i), &type));
  if (type == napi_boolean) {
    bool value;
    N2N_CHECK(napi_get_value_bool(env_, at(i), &value));
    return value;
  }
  return number(i) != 0;
}

at::Tensor& Args::tensor(size_t i) const { return get(static_cast<int32_t>(integer(i))); }

c10::optional<at::Tensor> Args::optionalTensor(size_t i) const {
  int64_t id = integer(i);
  if (id < 0) return c10::nullopt;
  return get(static_cast<int32_t>(id));
}

std::vector<int64_t> Args::integers(size_t i) const {
  napi_value array = at(i);
  uint32_t length;
  N2N_CHECK(napi_get_array_length(env_, array, &length));
  std::vector<int64_t> values(length);
  for (uint32_t k = 0; k < length; k++) {
    napi_value element;
    N2N_CHECK(napi_get_element(env_, array, k, &element));
    N2N_CHECK(napi_get_value_int64(env_, element, &values[k]));
  }
  return values;
}

std::vector<at::Tensor> Args::tensors(size_t i) const {
  std::vector<at::Tensor> result;
  for (int64_t id : integers(i)) result.push_back(get(static_cast<int32_t>(id)));
  return result;
}

std::string Args::text(size_t i) const {
  char buffer[64];
  size_t length;
  N2N_CHECK(napi_get_value_string_utf8(env_, at(i), buffer, sizeof buffer, &length));
  return std::string(buffer, length);
}

// ---- entry points ----

namespace {

std::string describe(const std::exception& error) {
  if (auto* c10error = dynamic_cast<const c10::Error*>(&error)) return c10error->what_without_backtrace();
  return error.what();
}

template <typename F>
napi_value guarded(napi_env env, F&& body) {
  try {
    return body();
  } catch (const std::exception& error) {
    napi_throw_error(env, nullptr, describe(error).c_str());
    return nullptr;
  }
}

napi_value number(napi_env env, double value) {
  napi_value result;
  N2N_CHECK(napi_create_double(env, value, &result));
  return result;
}

std::vector<napi_value> callArgs(napi_env env, napi_callback_info info, size_t max = 24) {
  std::vector<napi_value> values(max);
  size_t count = max;
  N2N_CHECK(napi_get_cb_info(env, info, &count, values.data(), nullptr, nullptr));
  values.resize(count);
  return values;
}

// Writes [count, (id, dtype, rank, dims...)...] into the shared meta buffer.
void describeOutputs(const std::vector<int32_t>& ids) {
  if (meta == nullptr) throw std::runtime_error("setMeta was not called");
  size_t pos = 0;
  auto write = [&](int64_t value) {
    if (pos >= metaLength) throw std::runtime_error("op outputs do not fit the meta buffer");
    meta[pos++] = static_cast<int32_t>(value);
  };
  write(static_cast<int64_t>(ids.size()));
  for (int32_t id : ids) {
    const at::Tensor& tensor = slots[id];
    write(id);
    write(dtypeCode(tensor.scalar_type()));
    write(tensor.dim());
    for (int64_t size : tensor.sizes()) write(size);
  }
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

napi_value OpNames(napi_env env, napi_callback_info) {
  return guarded(env, [&]() -> napi_value {
    napi_value array;
    const auto& table = opTable();
    N2N_CHECK(napi_create_array_with_length(env, table.size(), &array));
    for (size_t i = 0; i < table.size(); i++) {
      napi_value name;
      N2N_CHECK(napi_create_string_utf8(env, table[i].name, NAPI_AUTO_LENGTH, &name));
      N2N_CHECK(napi_set_element(env, array, static_cast<uint32_t>(i), name));
    }
    return array;
  });
}

// run(opIndex, ...args): runs one op, stores its outputs, describes them in the meta buffer; returns their count.
napi_value Run(napi_env env, napi_callback_info info) {
  return guarded(env, [&]() -> napi_value {
    auto args = callArgs(env, info);
    int64_t index;
    N2N_CHECK(napi_get_value_int64(env, args.at(0), &index));
    const auto& table = opTable();
    if (index < 0 || static_cast<size_t>(index) >= table.size()) throw std::runtime_error("unknown op index");
    Args opArgs(env, args.data() + 1, args.size() - 1);
    Result result;
    table[index].run(opArgs, result);
    std::vector<int32_t> ids;
    for (auto& output : result.outputs) ids.push_back(put(std::move(output)));
    if (result.aux.defined() && !ids.empty()) attach(ids[0], std::move(result.aux));
    describeOutputs(ids);
    return number(env, static_cast<double>(ids.size()));
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
    std::vector<int64_t> shape = opArgs.integers(1);
    at::ScalarType dtype = scalarType(static_cast<int32_t>(opArgs.integer(2)));
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
    at::Tensor tensor = at::empty(shape, at::TensorOptions().dtype(dtype));
    if (numel > 0) std::memcpy(tensor.data_ptr(), data, length * elementBytes);
    if (!device.is_cpu()) tensor = tensor.to(device);
    return number(env, put(std::move(tensor)));
  });
}

// toArray(id): a new Float32Array / Int32Array / Uint8Array (bool) with the values, row-major.
napi_value ToArray(napi_env env, napi_callback_info info) {
  return guarded(env, [&]() -> napi_value {
    auto args = callArgs(env, info, 1);
    Args opArgs(env, args.data(), args.size());
    at::Tensor tensor = opArgs.tensor(0).to(at::kCPU).contiguous();
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
    release(static_cast<int32_t>(opArgs.integer(0)));
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
    int64_t threads = opArgs.integer(0);
    if (threads > 0) at::set_num_threads(static_cast<int>(threads));
    return number(env, at::get_num_threads());
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
    std::string kind = opArgs.text(0);
    if (kind == "cpu") {
      device = at::Device(at::kCPU);
    } else if (kind == "cuda") {
      if (!at::hasCUDA()) throw std::runtime_error("this libtorch has no CUDA or no GPU is visible");
      device = at::Device(at::kCUDA, static_cast<c10::DeviceIndex>(opArgs.integer(1)));
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
      {"setMeta", SetMeta},         {"opNames", OpNames},         {"run", Run},
      {"fromArray", FromArray},     {"toArray", ToArray},         {"release", Release},
      {"liveTensors", LiveTensors}, {"setThreads", SetThreads},   {"cudaDevices", CudaDevices},
      {"useDevice", UseDevice},
  };
  for (const auto& entry : entries) {
    napi_value fn;
    napi_create_function(env, entry.name, NAPI_AUTO_LENGTH, entry.callback, nullptr, &fn);
    napi_set_named_property(env, exports, entry.name, fn);
  }
  return exports;
}

}  // namespace
}  // namespace n2n

NAPI_MODULE(NODE_GYP_MODULE_NAME, n2n::Init)
