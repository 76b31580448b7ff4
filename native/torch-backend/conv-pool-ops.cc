// Matrix products, convolutions and pooling. Image tensors arrive NHWC (TensorFlow.js layout); they run on a
// permuted NCHW view of the same memory, which ATen sees as channels-last, so no layout copy happens per call.
#include <array>
#include <limits>
#include <stdexcept>
#include <tuple>

#include <ATen/Config.h>
#if AT_MKLDNN_ENABLED()
#include <ATen/ops/mkldnn_convolution.h>
#include <dlfcn.h>
#define N2N_DIRECT_ONEDNN 1
#endif

#include "device-control.h"
#include "onednn-conv.h"
#include "op-helpers.h"
#include "precision.h"

namespace n2n {
namespace {

// HWIO filter (or HWCM depthwise filter) as an OIHW channels-last weight, in the precision convolutions compute in;
// made once per filter tensor (precision.h), not once per call.
at::Tensor convWeight(int32_t filterId, bool depthwise) {
  bool low = lowPrecision();
  at::ScalarType dtype = low ? at::kBFloat16 : at::kFloat;
  if (!depthwise) {
    return derived(filterId, low ? Derived::kConvWeightBf16 : Derived::kConvWeight, [dtype](const at::Tensor& f) {
      return f.permute({3, 2, 0, 1}).to(dtype, false, false, at::MemoryFormat::ChannelsLast);
    });
  }
  return derived(filterId, low ? Derived::kDepthwiseWeightBf16 : Derived::kDepthwiseWeight,
                 [dtype](const at::Tensor& f) {
                   auto s = f.sizes();
                   return f.reshape({s[0], s[1], s[2] * s[3]}).permute({2, 0, 1}).unsqueeze(1).contiguous().to(dtype);
                 });
}

// ATen sends a float32 CPU convolution to oneDNN only where its heuristic expects oneDNN to win (roughly: batch >= 2,
// a large input, or a kernel wider than 3); otherwise it takes im2col + BLAS (slow_conv2d). With Debian's reference
// BLAS that path measured 46x slower than oneDNN on a 3x3 64 -> 192 convolution of a 16x16 batch-1 input (14.6 ms
// against 0.32, one thread), and 80% of a batch-1 training step of the full network. So every float32 CPU
// convolution but a depthwise one goes to oneDNN here, through the very calls ATen makes when it chooses oneDNN:
// shapes that took oneDNN before (any batch >= 16) compute bit for bit what they did. The generic-kernel switch keeps
// ATen's own choice (the branch CUDA takes).
#ifdef N2N_DIRECT_ONEDNN
using OneDnnBackward = std::tuple<at::Tensor, at::Tensor, at::Tensor> (*)(const at::Tensor&, const at::Tensor&,
                                                                          const at::Tensor&, at::IntArrayRef,
                                                                          at::IntArrayRef, at::IntArrayRef, int64_t,
                                                                          std::array<bool, 3>);

// The gradients' oneDNN function is reachable only through a dispatch stub whose call operator's ABI depends on
// libtorch's build flags (which CPU variants it declares), so the function the stub registered for every CPU variant
// is read from the stub's exported DEFAULT slot, looked up in the library that defines mkldnn_convolution. A libtorch
// without that symbol leaves the gradients to at::convolution_backward.
OneDnnBackward oneDnnBackward() {
  static const OneDnnBackward function = []() -> OneDnnBackward {
    Dl_info library;
    if (dladdr(reinterpret_cast<void*>(&at::_ops::mkldnn_convolution::call), &library) == 0) return nullptr;
    void* handle = dlopen(library.dli_fname, RTLD_LAZY | RTLD_NOLOAD);
    if (handle == nullptr) return nullptr;
    void* slot = dlsym(handle,
                       "_ZN2at6native12DispatchStubIPFSt5tupleIJNS_6TensorES3_S3_EERKS3_S6_S6_N3c108ArrayRefIlEES9_"
                       "S9_lSt5arrayIbLm3EEENS0_32mkldnn_convolution_backward_stubEE7DEFAULTE");
    dlclose(handle);
    return slot == nullptr ? nullptr : *static_cast<OneDnnBackward*>(slot);
  }();
  return function;
}

bool directOneDnn(const at::Tensor& x, bool depthwise) {
  return !depthwise && !genericKernels() && x.device().is_cpu() && x.scalar_type() == at::kFloat &&
         at::globalContext().userEnabledMkldnn();
}

// The memory format ATen's oneDNN branch makes float32 operands contiguous in (mkldnn_conv_use_channels_last in
// ATen/native/ConvUtils.h, an internal header this build does without).
at::MemoryFormat oneDnnFormat(const at::Tensor& input, const at::Tensor& weight) {
  bool channelsLast = input.suggest_memory_format() == at::MemoryFormat::ChannelsLast ||
                      weight.suggest_memory_format() == at::MemoryFormat::ChannelsLast;
  return channelsLast ? at::MemoryFormat::ChannelsLast : at::MemoryFormat::Contiguous;
}
#endif

at::Tensor convolve(const at::Tensor& x, const at::Tensor& weight, const c10::optional<at::Tensor>& bias,
                    const IntList& strides, const IntList& padding, const IntList& dilations, bool depthwise) {
#ifdef N2N_DIRECT_ONEDNN
  if (directOneDnn(x, depthwise)) {
    at::MemoryFormat format = oneDnnFormat(x, weight);
    return at::mkldnn_convolution(x.contiguous(format), weight.contiguous(format), bias, padding, strides, dilations,
                                  1);
  }
#endif
  return at::convolution(x, weight, bias, strides, padding, dilations, false, {0, 0}, depthwise ? x.size(1) : 1);
}

// One or both gradients of a convolution (mask: {input, weight, bias}); `input` only gives the input gradient its
// sizes and memory format.
std::tuple<at::Tensor, at::Tensor, at::Tensor> convolveBackward(const at::Tensor& dy, const at::Tensor& input,
                                                                const at::Tensor& weight, const IntList& strides,
                                                                const IntList& padding, const IntList& dilations,
                                                                bool depthwise, std::array<bool, 3> mask) {
#ifdef N2N_DIRECT_ONEDNN
  if (directOneDnn(input, depthwise) && oneDnnBackward() != nullptr) {
    at::MemoryFormat format = oneDnnFormat(input, weight);
    // Below autograd, as ATen's dispatcher would have put the call (oneDNN's tensor views assert it).
    at::AutoDispatchBelowADInplaceOrView belowAutograd;
    return oneDnnBackward()(input.contiguous(format), dy, weight.contiguous(format), padding, strides, dilations, 1,
                            mask);
  }
#endif
  return at::convolution_backward(dy, input, weight, c10::nullopt, strides, padding, dilations, false, {0, 0},
                                  depthwise ? input.size(1) : 1, mask);
}

const double kNegativeInfinity = -std::numeric_limits<double>::infinity();

// Average pooling excludes padding from the count (TensorFlow.js); explicit padding divides window sums by counts.
at::Tensor windowCounts(const Padding& padding, const at::Tensor& x, const IntList& kernel, const IntList& strides) {
  at::Tensor ones = at::ones({1, 1, x.size(2), x.size(3)}, x.options());
  ones = padding.padExtra(ones, 0.0);
  return at::avg_pool2d(ones, kernel, strides, padding.common(), false, true, 1);
}

}  // namespace

// ---- matrix products and convolutions ----

N2N_OP(matMul) {
  at::Tensor x = operand(a.a), y = operand(a.b);
  if (a.transposeA) x = x.transpose(-2, -1);
  if (a.transposeB) y = y.transpose(-2, -1);
  at::Tensor out = toFloat(at::matmul(x, y));
  if (a.bias) out = out.add_(*a.bias);
  r.add(activate(out, a.activation, a.alpha, a.prelu));
}

N2N_OP(conv2d) {
  at::Tensor x = toNchw(operand(a.x));
  Padding padding(a.pads);
  if (padding.hasExtra()) x = padding.padExtra(x, 0.0);
  const c10::optional<at::Tensor>& bias = a.bias;
  const at::Tensor& filter = get(a.filter);
  int64_t outChannels = a.depthwise ? filter.size(2) * filter.size(3) : filter.size(3);
  bool biasInConv = bias && bias->dim() == 1 && bias->size(0) == outChannels && !lowPrecision();
  at::Tensor y;
  if (oneDnnPrimitivesApply(x, a.depthwise)) {
    y = oneDnnConvolution(x, a.filter, biasInConv ? bias : c10::nullopt, a.strides, padding.common(), a.dilations);
  } else {
    at::Tensor weight = convWeight(a.filter, a.depthwise);
    y = convolve(x, weight, biasInConv ? bias : c10::nullopt, a.strides, padding.common(), a.dilations,
                 a.depthwise);
  }
  y = toNhwc(toFloat(y));
  if (bias && !biasInConv) y = y.add_(*bias);
  r.add(activate(y, a.activation, a.alpha, a.prelu));
}

// inputShape is NHWC; the placeholder input only gives convolution_backward its sizes and memory format.
N2N_OP(conv2dGradInput) {
  at::Tensor dy = toNchw(operand(a.dy));
  const IntList& shape = a.inputShape;
  Padding padding(a.pads);
  IntList inputSizes = padding.paddedSizes({shape[0], shape[3], shape[1], shape[2]});
  at::Tensor dx;
  if (oneDnnPrimitivesApply(dy, a.depthwise)) {
    dx = oneDnnConvolutionGradInput(dy, a.filter, inputSizes, a.strides, padding.common(), a.dilations);
  } else {
    at::Tensor weight = convWeight(a.filter, a.depthwise);
    at::Tensor input = emptyLike(inputSizes, dy);
    auto grads = convolveBackward(dy, input, weight, a.strides, padding.common(), a.dilations, a.depthwise,
                                  {true, false, false});
    dx = std::get<0>(grads);
  }
  if (padding.hasExtra()) dx = padding.cropExtra(dx, shape[1], shape[2]);
  r.add(toNhwc(toFloat(dx)));
}

// filterShape is HWIO, or HWCM for a depthwise filter.
N2N_OP(conv2dGradFilter) {
  at::Tensor x = toNchw(operand(a.x));
  at::Tensor dy = toNchw(operand(a.dy));
  const IntList& f = a.filterShape;
  Padding padding(a.pads);
  if (padding.hasExtra()) x = padding.padExtra(x, 0.0);
  BfloatFilterGradThreads threads(x);
  if (oneDnnPrimitivesApply(x, a.depthwise)) {
    r.add(oneDnnConvolutionGradFilter(x, dy, f, a.strides, padding.common(), a.dilations));
    return;
  }
  at::Tensor weight = a.depthwise ? at::empty({f[2] * f[3], 1, f[0], f[1]}, x.options())
                                  : emptyLike({f[3], f[2], f[0], f[1]}, x);
  auto grads =
      convolveBackward(dy, x, weight, a.strides, padding.common(), a.dilations, a.depthwise, {false, true, false});
  at::Tensor dw = std::get<1>(grads);
  dw = a.depthwise ? dw.squeeze(1).permute({1, 2, 0}).reshape(f) : dw.permute({2, 3, 1, 0});
  r.add(toFloat(dw.contiguous()));
}

// ---- pooling: filterSize [h, w], strides [h, w], pads [top, bottom, left, right] ----

N2N_OP(maxPool) {
  at::Tensor x = toNchw(a.x);
  Padding padding(a.pads, halfWindow(a.filterSize));
  if (padding.hasExtra()) x = padding.padExtra(x, kNegativeInfinity);
  auto pooled = at::max_pool2d_with_indices(x, a.filterSize, a.strides, padding.common(), {1, 1}, false);
  r.add(toNhwc(std::get<0>(pooled)));
  r.aux = std::get<1>(pooled);
}

// Uses the forward's indices when its output still has them.
N2N_OP(maxPoolGrad) {
  at::Tensor dy = toNchw(a.dy);
  at::Tensor x = toNchw(a.x);
  const IntList &kernel = a.filterSize, &strides = a.strides;
  Padding padding(a.pads, halfWindow(kernel));
  const at::Tensor* cached = attached(a.output);
  at::Tensor input, indices;
  if (cached != nullptr) {
    indices = *cached;
    input = padding.hasExtra() ? emptyLike(padding.paddedSizes(x.sizes().vec()), x) : x;
  } else {
    input = padding.hasExtra() ? padding.padExtra(x, kNegativeInfinity) : x;
    indices = std::get<1>(at::max_pool2d_with_indices(input, kernel, strides, padding.common(), {1, 1}, false));
  }
  at::Tensor dx =
      at::max_pool2d_with_indices_backward(dy, input, kernel, strides, padding.common(), {1, 1}, false, indices);
  if (padding.hasExtra()) dx = padding.cropExtra(dx, x.size(2), x.size(3));
  r.add(toNhwc(dx));
}

N2N_OP(avgPool) {
  at::Tensor x = toNchw(a.x);
  const IntList &kernel = a.filterSize, &strides = a.strides;
  Padding padding(a.pads, halfWindow(kernel));
  if (!padding.hasExtra()) {
    r.add(toNhwc(at::avg_pool2d(x, kernel, strides, padding.common(), false, false, c10::nullopt)));
    return;
  }
  at::Tensor sums = at::avg_pool2d(padding.padExtra(x, 0.0), kernel, strides, padding.common(), false, true, 1);
  r.add(toNhwc(sums / windowCounts(padding, x, kernel, strides)));
}

// As TensorFlow.js defines it, every window's gradient is divided by the full window size (padding included), unlike
// the forward pass.
N2N_OP(avgPoolGrad) {
  at::Tensor dy = toNchw(a.dy);
  at::Tensor x = toNchw(a.x);
  const IntList &kernel = a.filterSize, &strides = a.strides;
  Padding padding(a.pads, halfWindow(kernel));
  at::Tensor input = padding.hasExtra() ? emptyLike(padding.paddedSizes(x.sizes().vec()), x) : x;
  at::Tensor dx = at::avg_pool2d_backward(dy, input, kernel, strides, padding.common(), false, true, c10::nullopt);
  if (padding.hasExtra()) dx = padding.cropExtra(dx, x.size(2), x.size(3));
  r.add(toNhwc(dx));
}

}  // namespace n2n
