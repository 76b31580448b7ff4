// Step capture: the op calls, uploads and releases of one training (or evaluation) step recorded as a program that
// later steps replay natively in one call (see step-capture.cc). addon.cc's entry points report to the recorder
// while a capture is open.
#pragma once

#include <node_api.h>

#include <cstdint>
#include <vector>

#include "tensor-table.h"

namespace n2n {

bool capturing();

// An op call's arguments as stored values, read from JavaScript by the op's declared kinds.
std::vector<ArgValue> storedArgs(size_t opIndex, napi_env env, napi_value* values, size_t count);

// What the recorder sees while a capture is open (tensor ids are the table's).
void recordOp(size_t opIndex, const std::vector<ArgValue>& args, const std::vector<int32_t>& outputIds);
void recordUpload(int32_t id);
void recordRelease(int32_t id);
void recordRead(int32_t id);

void initStepCapture(napi_env env, napi_value exports);

}  // namespace n2n
