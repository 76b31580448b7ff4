// Convolutions and their two gradients as oneDNN primitives made once per shape and reused (see onednn-conv.cc).
// Built where the compiler finds oneDNN's headers and libtorch links the same shared oneDNN (N2N_ONEDNN); the
// functions then compute exactly what ATen's oneDNN branch computes for the same operands.
#pragma once

#include <node_api.h>

#include "op-helpers.h"

namespace n2n {

// Whether a convolution of `x` (NCHW view, float32 or bfloat16) runs here: CPU, not depthwise, the primitives built
// in and switched on, the generic-kernel switch off.
bool oneDnnPrimitivesApply(const at::Tensor& x, bool depthwise);

// The convolution of `x` (NCHW, channels-last memory, already padded by the asymmetric part) with the HWIO float32
// filter `filterId`, `padding` on both sides; float32 NCHW (channels-last memory). `bias` only in float32.
at::Tensor oneDnnConvolution(const at::Tensor& x, int32_t filterId, const c10::optional<at::Tensor>& bias,
                             const IntList& strides, const IntList& padding, const IntList& dilations);

// The gradient of that convolution for its (padded) input of NCHW sizes `inputSizes`; float32 NCHW.
at::Tensor oneDnnConvolutionGradInput(const at::Tensor& dy, int32_t filterId, const IntList& inputSizes,
                                      const IntList& strides, const IntList& padding, const IntList& dilations);

// The gradient for its filter, float32 HWIO of `filterShape`.
at::Tensor oneDnnConvolutionGradFilter(const at::Tensor& x, const at::Tensor& dy, const IntList& filterShape,
                                       const IntList& strides, const IntList& padding, const IntList& dilations);

// Drops the filter's reordered copies (precision.cc's forgetDerived calls it).
void forgetOneDnnWeights(int32_t filterId);

// Adds oneDnnPrimitives() -> { built, on } and setOneDnnPrimitives(on) -> on to the addon's exports.
void initOneDnnConv(napi_env env, napi_value exports);

}  // namespace n2n
