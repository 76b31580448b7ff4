// Reading one op call's arguments from their JavaScript values; every error names the argument.
#include <stdexcept>

#include "tensor-table.h"

namespace n2n {

namespace {

std::runtime_error badArgument(const char* name, const char* expected) {
  return std::runtime_error(std::string("argument '") + name + "' must be " + expected);
}

}  // namespace

napi_value Args::at(size_t i, const char* name) const {
  if (i >= count_) throw std::runtime_error(std::string("argument '") + name + "' is missing");
  return values_[i];
}

const ArgValue& Args::storedAt(size_t i, const char* name, ArgValue::Kind kind, const char* expected) const {
  if (i >= count_) throw std::runtime_error(std::string("argument '") + name + "' is missing");
  const ArgValue& value = (*stored_)[i];
  if (value.kind != kind) throw badArgument(name, expected);
  return value;
}

int64_t Args::integer(size_t i, const char* name) const {
  if (stored_) return storedAt(i, name, ArgValue::Kind::kInteger, "an integer").integer;
  int64_t value;
  if (napi_get_value_int64(env_, at(i, name), &value) != napi_ok) throw badArgument(name, "an integer");
  return value;
}

double Args::number(size_t i, const char* name) const {
  if (stored_) return storedAt(i, name, ArgValue::Kind::kNumber, "a number").number;
  double value;
  if (napi_get_value_double(env_, at(i, name), &value) != napi_ok) throw badArgument(name, "a number");
  return value;
}

bool Args::flag(size_t i, const char* name) const {
  if (stored_) return storedAt(i, name, ArgValue::Kind::kFlag, "a boolean").flag;
  bool value;
  if (napi_get_value_bool(env_, at(i, name), &value) != napi_ok) throw badArgument(name, "a boolean");
  return value;
}

int32_t Args::tensorId(size_t i, const char* name) const {
  int64_t id = integer(i, name);
  get(static_cast<int32_t>(id));
  return static_cast<int32_t>(id);
}

at::Tensor Args::tensor(size_t i, const char* name) const { return get(tensorId(i, name)); }

c10::optional<at::Tensor> Args::optionalTensor(size_t i, const char* name) const {
  int64_t id = integer(i, name);
  if (id < 0) return c10::nullopt;
  return get(static_cast<int32_t>(id));
}

std::vector<int64_t> Args::integers(size_t i, const char* name) const {
  if (stored_) return storedAt(i, name, ArgValue::Kind::kIntegers, "an array of integers").integers;
  napi_value array = at(i, name);
  uint32_t length;
  if (napi_get_array_length(env_, array, &length) != napi_ok) throw badArgument(name, "an array of integers");
  std::vector<int64_t> values(length);
  for (uint32_t k = 0; k < length; k++) {
    napi_value element;
    if (napi_get_element(env_, array, k, &element) != napi_ok ||
        napi_get_value_int64(env_, element, &values[k]) != napi_ok) {
      throw badArgument(name, "an array of integers");
    }
  }
  return values;
}

std::vector<at::Tensor> Args::tensors(size_t i, const char* name) const {
  std::vector<at::Tensor> result;
  for (int64_t id : integers(i, name)) result.push_back(get(static_cast<int32_t>(id)));
  return result;
}

std::string Args::text(size_t i, const char* name) const {
  if (stored_) return storedAt(i, name, ArgValue::Kind::kText, "a string").text;
  char buffer[64];
  size_t length;
  if (napi_get_value_string_utf8(env_, at(i, name), buffer, sizeof buffer, &length) != napi_ok) {
    throw badArgument(name, "a string");
  }
  return std::string(buffer, length);
}

at::ScalarType Args::dtype(size_t i, const char* name) const {
  return scalarType(static_cast<int32_t>(integer(i, name)));
}

}  // namespace n2n
