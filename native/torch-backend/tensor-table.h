// The tensors that JavaScript holds: a table of ATen tensors addressed by small integer ids, and the argument and
// result conventions of the op bridge.
#pragma once

#include <ATen/ATen.h>
#include <node_api.h>

#include <cstdint>
#include <string>
#include <vector>

namespace n2n {

// TensorFlow.js dtypes as the bridge encodes them.
enum DtypeCode : int32_t { kFloat32 = 0, kInt32 = 1, kBool = 2 };

at::ScalarType scalarType(int32_t code);
int32_t dtypeCode(at::ScalarType type);

// The device new tensors are made on (CPU, or a CUDA device when one was selected).
at::Device& currentDevice();
at::TensorOptions floatOptions();

// Stores a tensor (converted to one of the three TensorFlow.js dtypes) and returns its id.
int32_t put(at::Tensor tensor);
at::Tensor& get(int32_t id);
void release(int32_t id);
int32_t liveCount();

// Side data kept with a tensor id until it is released (max-pool indices of a pooling output).
void attach(int32_t id, at::Tensor aux);
const at::Tensor* attached(int32_t id);

// One argument of an op call held natively (a captured step keeps its calls as these): integers (tensor ids, ints,
// dtype codes), numbers, flags, integer lists (tensor id lists) and texts.
struct ArgValue {
  enum class Kind { kInteger, kNumber, kFlag, kIntegers, kText };
  Kind kind = Kind::kInteger;
  int64_t integer = 0;
  double number = 0;
  bool flag = false;
  std::vector<int64_t> integers;
  std::string text;
};

// Arguments of one op call, read on demand from the JavaScript values or from stored ArgValues; `name` is the
// declared name that an error about the argument gives.
class Args {
 public:
  Args(napi_env env, napi_value* values, size_t count) : env_(env), values_(values), count_(count) {}
  explicit Args(const std::vector<ArgValue>* stored) : stored_(stored), count_(stored->size()) {}
  size_t size() const { return count_; }
  at::Tensor tensor(size_t i, const char* name) const;
  // A tensor id or -1 (absent).
  c10::optional<at::Tensor> optionalTensor(size_t i, const char* name) const;
  std::vector<at::Tensor> tensors(size_t i, const char* name) const;
  // The id of a live tensor (for side data attached to it).
  int32_t tensorId(size_t i, const char* name) const;
  int64_t integer(size_t i, const char* name) const;
  double number(size_t i, const char* name) const;
  bool flag(size_t i, const char* name) const;
  std::vector<int64_t> integers(size_t i, const char* name) const;
  std::string text(size_t i, const char* name) const;
  at::ScalarType dtype(size_t i, const char* name) const;

 private:
  napi_value at(size_t i, const char* name) const;
  const ArgValue& storedAt(size_t i, const char* name, ArgValue::Kind kind, const char* expected) const;
  napi_env env_ = nullptr;
  napi_value* values_ = nullptr;
  const std::vector<ArgValue>* stored_ = nullptr;
  size_t count_;
};

// What an op returns: its outputs, and optionally side data to attach to the first output's id.
struct Result {
  std::vector<at::Tensor> outputs;
  at::Tensor aux;
  void add(at::Tensor tensor) { outputs.push_back(std::move(tensor)); }
};
using OpFunction = void (*)(const Args&, Result&);

struct OpEntry {
  const char* name;
  // `name(argument: kind, ...)` as declared in op-declarations.json; JavaScript checks it against its own copy.
  const char* signature;
  size_t arity;
  OpFunction run;
};

// Every op of the bridge, in declaration order (JavaScript looks up the index by name once).
const std::vector<OpEntry>& opTable();

}  // namespace n2n
