// Matrix products, convolutions and pooling. Image tensors arrive NHWC (TensorFlow.js layout); they run on a
// permuted NCHW view of the same memory, which ATen sees as channels-last, so no layout copy happens per call.
#include <limits>
#include <stdexcept>

#include "op-helpers.h"

namespace n2n {
namespace {

// ---- matrix products and convolutions ----

// matMul(a, b, transposeA, transposeB, bias|-1, activation, alpha, prelu|-1)
void matMul(const Args& a, Result& r) {
  at::Tensor x = a.flag(2) ? a.tensor(0).transpose(-2, -1) : a.tensor(0);
  at::Tensor y = a.flag(3) ? a.tensor(1).transpose(-2, -1) : a.tensor(1);
  at::Tensor out = at::matmul(x, y);
  if (auto bias = a.optionalTensor(4)) out = out.add_(*bias);
  r.add(activate(out, a.text(5), a.number(6), a.optionalTensor(7)));
}

// HWIO filter (or HWCM depthwise filter) as an OIHW channels-last weight.
at::Tensor convWeight(const at::Tensor& filter, bool depthwise) {
  if (!depthwise) return filter.permute({3, 2, 0, 1}).contiguous(at::MemoryFormat::ChannelsLast);
  auto s = filter.sizes();
  return filter.reshape({s[0], s[1], s[2] * s[3]}).permute({2, 0, 1}).unsqueeze(1).contiguous();
}

// conv2d(x, filter, strides, pads, dilations, depthwise, bias|-1, activation, alpha, prelu|-1)
void conv2d(const Args& a, Result& r) {
  at::Tensor x = toNchw(a.tensor(0));
  bool depthwise = a.flag(5);
  at::Tensor weight = convWeight(a.tensor(1), depthwise);
  Padding padding(a.integers(3));
  if (padding.asymmetric()) x = padding.padExtra(x, 0.0);
  c10::optional<at::Tensor> bias = a.optionalTensor(6);
  bool biasInConv = bias && bias->dim() == 1 && bias->size(0) == weight.size(0);
  at::Tensor y = at::convolution(x, weight, biasInConv ? bias : c10::nullopt, a.integers(2), padding.common(),
                                 a.integers(4), false, {0, 0}, depthwise ? x.size(1) : 1);
  y = toNhwc(y);
  if (bias && !biasInConv) y = y.add_(*bias);
  r.add(activate(y, a.text(7), a.number(8), a.optionalTensor(9)));
}

// conv2dGradInput(dy, filter, inputShape NHWC, strides, pads, dilations, depthwise)
void conv2dGradInput(const Args& a, Result& r) {
  at::Tensor dy = toNchw(a.tensor(0));
  bool depthwise = a.flag(6);
  at::Tensor weight = convWeight(a.tensor(1), depthwise);
  IntList shape = a.integers(2);
  Padding padding(a.integers(4));
  at::Tensor input = emptyLike({shape[0], shape[3], shape[1], shape[2]}, dy);
  input = emptyLike(padding.paddedSizes(input), dy);
  auto grads = at::convolution_backward(dy, input, weight, c10::nullopt, a.integers(3), padding.common(),
                                        a.integers(5), false, {0, 0}, depthwise ? shape[3] : 1, {true, false, false});
  at::Tensor dx = std::get<0>(grads);
  if (padding.asymmetric()) dx = padding.cropExtra(dx, shape[1], shape[2]);
  r.add(toNhwc(dx));
}

// conv2dGradFilter(x, dy, filterShape HWIO/HWCM, strides, pads, dilations, depthwise)
void conv2dGradFilter(const Args& a, Result& r) {
  at::Tensor x = toNchw(a.tensor(0));
  at::Tensor dy = toNchw(a.tensor(1));
  IntList f = a.integers(2);
  bool depthwise = a.flag(6);
  Padding padding(a.integers(4));
  if (padding.asymmetric()) x = padding.padExtra(x, 0.0);
  at::Tensor weight = depthwise ? at::empty({f[2] * f[3], 1, f[0], f[1]}, x.options())
                                : emptyLike({f[3], f[2], f[0], f[1]}, x);
  auto grads = at::convolution_backward(dy, x, weight, c10::nullopt, a.integers(3), padding.common(), a.integers(5),
                                        false, {0, 0}, depthwise ? x.size(1) : 1, {false, true, false});
  at::Tensor dw = std::get<1>(grads);
  dw = depthwise ? dw.squeeze(1).permute({1, 2, 0}).reshape(f) : dw.permute({2, 3, 1, 0});
  r.add(dw.contiguous());
}

// ---- pooling: (x, filterSize [h, w], strides [h, w], pads [t, b, l, r]) ----

const double kNegativeInfinity = -std::numeric_limits<double>::infinity();

void maxPool(const Args& a, Result& r) {
  at::Tensor x = toNchw(a.tensor(0));
  Padding padding(a.integers(3));
  if (padding.asymmetric()) x = padding.padExtra(x, kNegativeInfinity);
  auto pooled = at::max_pool2d_with_indices(x, a.integers(1), a.integers(2), padding.common(), {1, 1}, false);
  r.add(toNhwc(std::get<0>(pooled)));
  r.aux = std::get<1>(pooled);
}

// maxPoolGrad(dy, x, output id, filterSize, strides, pads): uses the forward's indices when the output still has them.
void maxPoolGrad(const Args& a, Result& r) {
  at::Tensor dy = toNchw(a.tensor(0));
  at::Tensor x = toNchw(a.tensor(1));
  IntList kernel = a.integers(3), strides = a.integers(4);
  Padding padding(a.integers(5));
  const at::Tensor* cached = attached(static_cast<int32_t>(a.integer(2)));
  at::Tensor input, indices;
  if (cached != nullptr) {
    indices = *cached;
    input = padding.asymmetric() ? emptyLike(padding.paddedSizes(x), x) : x;
  } else {
    input = padding.asymmetric() ? padding.padExtra(x, kNegativeInfinity) : x;
    indices = std::get<1>(at::max_pool2d_with_indices(input, kernel, strides, padding.common(), {1, 1}, false));
  }
  at::Tensor dx =
      at::max_pool2d_with_indices_backward(dy, input, kernel, strides, padding.common(), {1, 1}, false, indices);
  if (padding.asymmetric()) dx = padding.cropExtra(dx, x.size(2), x.size(3));
  r.add(toNhwc(dx));
}

// Average pooling excludes padding from the count (TensorFlow.js); asymmetric padding divides window sums by counts.
at::Tensor windowCounts(const Padding& padding, const at::Tensor& x, const IntList& kernel, const IntList& strides) {
  at::Tensor ones = at::ones({1, 1, x.size(2), x.size(3)}, x.options());
  ones = padding.padExtra(ones, 0.0);
  return at::avg_pool2d(ones, kernel, strides, padding.common(), false, true, 1);
}

void avgPool(const Args& a, Result& r) {
  at::Tensor x = toNchw(a.tensor(0));
  IntList kernel = a.integers(1), strides = a.integers(2);
  Padding padding(a.integers(3));
  if (!padding.asymmetric()) {
    r.add(toNhwc(at::avg_pool2d(x, kernel, strides, padding.common(), false, false, c10::nullopt)));
    return;
  }
  at::Tensor sums = at::avg_pool2d(padding.padExtra(x, 0.0), kernel, strides, padding.common(), false, true, 1);
  r.add(toNhwc(sums / windowCounts(padding, x, kernel, strides)));
}

// avgPoolGrad(dy, x, filterSize, strides, pads): as TensorFlow.js defines it, every window's gradient is divided by
// the full window size (padding included), unlike the forward pass.
void avgPoolGrad(const Args& a, Result& r) {
  at::Tensor dy = toNchw(a.tensor(0));
  at::Tensor x = toNchw(a.tensor(1));
  IntList kernel = a.integers(2), strides = a.integers(3);
  Padding padding(a.integers(4));
  at::Tensor input = padding.asymmetric() ? emptyLike(padding.paddedSizes(x), x) : x;
  at::Tensor dx = at::avg_pool2d_backward(dy, input, kernel, strides, padding.common(), false, true, c10::nullopt);
  if (padding.asymmetric()) dx = padding.cropExtra(dx, x.size(2), x.size(3));
  r.add(toNhwc(dx));
}

}  // namespace

std::vector<OpEntry> convPoolOps() {
  return {
      {"matMul", matMul},
      {"conv2d", conv2d},
      {"conv2dGradInput", conv2dGradInput},
      {"conv2dGradFilter", conv2dGradFilter},
      {"maxPool", maxPool},
      {"maxPoolGrad", maxPoolGrad},
      {"avgPool", avgPool},
      {"avgPoolGrad", avgPoolGrad},
  };
}

}  // namespace n2n
