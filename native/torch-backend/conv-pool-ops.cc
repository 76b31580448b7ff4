// Matrix products, convolutions and pooling. Image tensors arrive NHWC (TensorFlow.js layout); they run on a
// permuted NCHW view of the same memory, which ATen sees as channels-last, so no layout copy happens per call.
#include <limits>
#include <stdexcept>

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
  at::Tensor weight = convWeight(a.filter, a.depthwise);
  Padding padding(a.pads);
  if (padding.hasExtra()) x = padding.padExtra(x, 0.0);
  const c10::optional<at::Tensor>& bias = a.bias;
  bool biasInConv = bias && bias->dim() == 1 && bias->size(0) == weight.size(0) && !lowPrecision();
  at::Tensor y = at::convolution(x, weight, biasInConv ? bias : c10::nullopt, a.strides, padding.common(),
                                 a.dilations, false, {0, 0}, a.depthwise ? x.size(1) : 1);
  y = toNhwc(toFloat(y));
  if (bias && !biasInConv) y = y.add_(*bias);
  r.add(activate(y, a.activation, a.alpha, a.prelu));
}

// inputShape is NHWC; the placeholder input only gives convolution_backward its sizes and memory format.
N2N_OP(conv2dGradInput) {
  at::Tensor dy = toNchw(operand(a.dy));
  at::Tensor weight = convWeight(a.filter, a.depthwise);
  const IntList& shape = a.inputShape;
  Padding padding(a.pads);
  at::Tensor input = emptyLike(padding.paddedSizes({shape[0], shape[3], shape[1], shape[2]}), dy);
  auto grads = at::convolution_backward(dy, input, weight, c10::nullopt, a.strides, padding.common(), a.dilations,
                                        false, {0, 0}, a.depthwise ? shape[3] : 1, {true, false, false});
  at::Tensor dx = std::get<0>(grads);
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
  at::Tensor weight = a.depthwise ? at::empty({f[2] * f[3], 1, f[0], f[1]}, x.options())
                                  : emptyLike({f[3], f[2], f[0], f[1]}, x);
  BfloatFilterGradThreads threads(x);
  auto grads = at::convolution_backward(dy, x, weight, c10::nullopt, a.strides, padding.common(), a.dilations, false,
                                        {0, 0}, a.depthwise ? x.size(1) : 1, {false, true, false});
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
