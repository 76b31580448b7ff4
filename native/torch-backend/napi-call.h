// What every Node-API entry point of the addon needs: its arguments, a number result, and a body whose C++ or ATen
// error becomes a JavaScript error (without ATen's backtrace).
#pragma once

#include <c10/util/Exception.h>
#include <node_api.h>

#include <stdexcept>
#include <string>
#include <vector>

#define N2N_CHECK(call)                                                 \
  do {                                                                  \
    if ((call) != napi_ok) throw std::runtime_error("N-API: " #call); \
  } while (0)

namespace n2n {

inline std::string describe(const std::exception& error) {
  if (auto* c10error = dynamic_cast<const c10::Error*>(&error)) return c10error->what_without_backtrace();
  return error.what();
}

// Runs `body`; an exception it throws is thrown in JavaScript instead (the entry point then returns nullptr).
template <typename F>
napi_value guarded(napi_env env, F&& body) {
  try {
    return body();
  } catch (const std::exception& error) {
    napi_throw_error(env, nullptr, describe(error).c_str());
    return nullptr;
  }
}

inline napi_value numberValue(napi_env env, double value) {
  napi_value result;
  N2N_CHECK(napi_create_double(env, value, &result));
  return result;
}

inline napi_value booleanValue(napi_env env, bool value) {
  napi_value result;
  N2N_CHECK(napi_get_boolean(env, value, &result));
  return result;
}

// The single boolean argument of a setter; an error names the function.
inline bool flagArgument(napi_env env, napi_callback_info info, const char* function) {
  size_t count = 1;
  napi_value value;
  N2N_CHECK(napi_get_cb_info(env, info, &count, &value, nullptr, nullptr));
  bool flag = false;
  if (count < 1 || napi_get_value_bool(env, value, &flag) != napi_ok) {
    throw std::runtime_error(std::string(function) + " needs one boolean argument");
  }
  return flag;
}

// Adds `callback` to the addon's exports as `name`.
inline void exportFunction(napi_env env, napi_value exports, const char* name, napi_callback callback) {
  napi_value fn;
  napi_create_function(env, name, NAPI_AUTO_LENGTH, callback, nullptr, &fn);
  napi_set_named_property(env, exports, name, fn);
}

// Up to `max` arguments of the call, as many as were passed.
inline std::vector<napi_value> callArgs(napi_env env, napi_callback_info info, size_t max = 32) {
  std::vector<napi_value> values(max);
  size_t count = max;
  N2N_CHECK(napi_get_cb_info(env, info, &count, values.data(), nullptr, nullptr));
  values.resize(count);
  return values;
}

}  // namespace n2n
