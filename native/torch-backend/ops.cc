// The op table of the bridge: each op reads its arguments (tensor ids, numbers, integer lists) and adds its outputs.
// Image tensors arrive NHWC (TensorFlow.js layout); convolutions and pooling run on a permuted NCHW view of the same
// memory, which ATen sees as channels-last, so no layout copy happens per call.
#include <cmath>
#include <limits>
#include <stdexcept>

#include <ATen/Parallel.h>

#include "tensor-table.h"

namespace n2n {
namespace {

using IntList = std::vector<int64_t>;

at::Tensor toNchw(const at::Tensor& nhwc) { return nhwc.permute({0, 3, 1, 2}); }
at::Tensor toNhwc(const at::Tensor& nchw) { return nchw.permute({0, 2, 3, 1}); }

// TensorFlow.js padding {top, bottom, left, right}: the symmetric part goes to ATen, the rest is padded explicitly.
struct Padding {
  int64_t top, bottom, left, right;
  explicit Padding(const IntList& pads) : top(pads.at(0)), bottom(pads.at(1)), left(pads.at(2)), right(pads.at(3)) {}
  IntList common() const { return {std::min(top, bottom), std::min(left, right)}; }
  int64_t extraTop() const { return top - std::min(top, bottom); }
  int64_t extraBottom() const { return bottom - std::min(top, bottom); }
  int64_t extraLeft() const { return left - std::min(left, right); }
  int64_t extraRight() const { return right - std::min(left, right); }
  bool asymmetric() const { return top != bottom || left != right; }
  bool none() const { return top == 0 && bottom == 0 && left == 0 && right == 0; }
  // Pads an NCHW tensor by the asymmetric part.
  at::Tensor padExtra(const at::Tensor& nchw, double value) const {
    return at::constant_pad_nd(nchw, {extraLeft(), extraRight(), extraTop(), extraBottom()}, value);
  }
  IntList paddedSizes(const at::Tensor& nchw) const {
    return {nchw.size(0), nchw.size(1), nchw.size(2) + extraTop() + extraBottom(),
            nchw.size(3) + extraLeft() + extraRight()};
  }
  // Undoes padExtra on a gradient.
  at::Tensor cropExtra(const at::Tensor& nchw, int64_t height, int64_t width) const {
    return nchw.slice(2, extraTop(), extraTop() + height).slice(3, extraLeft(), extraLeft() + width);
  }
};

at::Tensor emptyLike(const IntList& sizes, const at::Tensor& like) {
  return at::empty(sizes, like.options().memory_format(at::MemoryFormat::ChannelsLast));
}

at::Tensor activate(at::Tensor y, const std::string& activation, double alpha, const c10::optional<at::Tensor>& prelu) {
  if (activation == "linear" || activation.empty()) return y;
  if (activation == "relu") return at::relu_(y);
  if (activation == "relu6") return at::hardtanh_(y, 0, 6);
  if (activation == "sigmoid") return at::sigmoid_(y);
  if (activation == "elu") return at::elu(y);
  if (activation == "leakyrelu") return at::leaky_relu(y, alpha);
  if (activation == "prelu" && prelu) return at::where(y < 0, y * *prelu, y);
  throw std::runtime_error("unsupported fused activation '" + activation + "'");
}

// ---- element-wise ----

#define BINARY(NAME, EXPR)                          \
  void NAME(const Args& a, Result& r) {             \
    const at::Tensor& x = a.tensor(0);              \
    const at::Tensor& y = a.tensor(1);              \
    r.add(EXPR);                                    \
  }
BINARY(add, at::add(x, y))
BINARY(sub, at::sub(x, y))
BINARY(mul, at::mul(x, y))
BINARY(realDiv, at::div(x, y))
BINARY(floorDiv, at::div(x, y, "floor").to(at::kInt))  // TensorFlow.js: always int32
BINARY(mod, at::remainder(x, y))
BINARY(maximum, at::maximum(x, y))
BINARY(minimum, at::minimum(x, y))
BINARY(pow, at::pow(x, y))
BINARY(squaredDifference, at::square(at::sub(x, y)))
BINARY(equal, at::eq(x, y))
BINARY(notEqual, at::ne(x, y))
BINARY(greater, at::gt(x, y))
BINARY(greaterEqual, at::ge(x, y))
BINARY(less, at::lt(x, y))
BINARY(lessEqual, at::le(x, y))
BINARY(logicalAnd, at::logical_and(x, y))
BINARY(logicalOr, at::logical_or(x, y))
BINARY(atan2, at::atan2(x, y))
BINARY(prelu, at::where(x < 0, x * y, x))
BINARY(eluGrad, at::where(y >= 0, x, x * (y + 1)))
#undef BINARY

#define UNARY(NAME, EXPR)              \
  void NAME(const Args& a, Result& r) { \
    const at::Tensor& x = a.tensor(0); \
    r.add(EXPR);                       \
  }
UNARY(neg, at::neg(x))
UNARY(abs, at::abs(x))
UNARY(exp, at::exp(x))
UNARY(expm1, at::expm1(x))
UNARY(log, at::log(x))
UNARY(log1p, at::log1p(x))
UNARY(sqrt, at::sqrt(x))
UNARY(rsqrt, at::rsqrt(x))
UNARY(square, at::square(x))
UNARY(reciprocal, at::reciprocal(x))
UNARY(relu, at::relu(x))
UNARY(relu6, at::hardtanh(x, 0, 6))
UNARY(sigmoid, at::sigmoid(x))
UNARY(tanh, at::tanh(x))
UNARY(softplus, at::softplus(x, 1, 20))
UNARY(elu, at::elu(x))
UNARY(selu, at::selu(x))
UNARY(erf, at::erf(x))
UNARY(sin, at::sin(x))
UNARY(cos, at::cos(x))
UNARY(floor, at::floor(x))
UNARY(ceil, at::ceil(x))
UNARY(round, at::round(x))
UNARY(sign, at::sign(x))
UNARY(isFinite, at::isfinite(x))
UNARY(isNan, at::isnan(x))
UNARY(isInf, at::isinf(x))
UNARY(logicalNot, at::logical_not(x))
UNARY(zerosLike, at::zeros_like(x))
UNARY(onesLike, at::ones_like(x))
UNARY(clone, x.clone())
#undef UNARY

// Step: 1 where x > 0, alpha elsewhere, NaN stays NaN (TensorFlow.js's relu gradient). One pass over contiguous
// float32 values on the CPU (ATen's where/isnan/where takes three passes and two temporaries).
void step(const Args& a, Result& r) {
  const at::Tensor& x = a.tensor(0);
  double alpha = a.number(1);
  if (x.scalar_type() != at::kFloat || !x.device().is_cpu()) {
    at::Tensor out = at::where(x > 0, at::scalar_tensor(1.0, x.options()), at::scalar_tensor(alpha, x.options()));
    return r.add(at::where(at::isnan(x), x, out));
  }
  at::Tensor input = x.contiguous();
  at::Tensor out = at::empty_like(input);
  const float* in = input.data_ptr<float>();
  float* dst = out.data_ptr<float>();
  const float low = static_cast<float>(alpha);
  at::parallel_for(0, input.numel(), 1 << 16, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; i++) {
      float v = in[i];
      float s = v > 0 ? 1.0f : low;
      dst[i] = v != v ? v : s;
    }
  });
  r.add(out);
}

void leakyRelu(const Args& a, Result& r) { r.add(at::leaky_relu(a.tensor(0), a.number(1))); }

void clip(const Args& a, Result& r) { r.add(at::clamp(a.tensor(0), a.number(1), a.number(2))); }

void cast(const Args& a, Result& r) {
  const at::Tensor& x = a.tensor(0);
  at::ScalarType type = scalarType(static_cast<int32_t>(a.integer(1)));
  r.add(type == at::kBool ? at::ne(x, 0) : x.to(type));
}

void select(const Args& a, Result& r) {
  at::Tensor condition = a.tensor(0).to(at::kBool);
  const at::Tensor& t = a.tensor(1);
  if (condition.dim() == 1 && t.dim() > 1) {
    IntList sizes(t.dim(), 1);
    sizes[0] = condition.size(0);
    condition = condition.reshape(sizes);
  }
  r.add(at::where(condition, t, a.tensor(2)));
}

void addN(const Args& a, Result& r) {
  std::vector<at::Tensor> inputs = a.tensors(0);
  if (inputs.empty()) throw std::runtime_error("AddN needs at least one tensor");
  if (inputs.size() == 1) return r.add(inputs[0].clone());
  at::Tensor sum = at::add(inputs[0], inputs[1]);
  for (size_t i = 2; i < inputs.size(); i++) sum.add_(inputs[i]);
  r.add(sum);
}

// ---- shapes ----

void reshape(const Args& a, Result& r) { r.add(a.tensor(0).reshape(a.integers(1))); }

void transpose(const Args& a, Result& r) { r.add(a.tensor(0).permute(a.integers(1))); }

void slice(const Args& a, Result& r) {
  at::Tensor x = a.tensor(0);
  IntList begin = a.integers(1), size = a.integers(2);
  for (size_t d = 0; d < begin.size(); d++) x = x.narrow(static_cast<int64_t>(d), begin[d], size[d]);
  r.add(x);
}

// Positive strides only; begin/end already clamped by the caller.
void stridedSlice(const Args& a, Result& r) {
  at::Tensor x = a.tensor(0);
  IntList begin = a.integers(1), end = a.integers(2), strides = a.integers(3);
  for (size_t d = 0; d < begin.size(); d++) {
    if (strides[d] <= 0) throw std::runtime_error("StridedSlice with a non-positive stride");
    x = x.slice(static_cast<int64_t>(d), begin[d], std::max(begin[d], end[d]), strides[d]);
  }
  r.add(x.reshape(a.integers(4)));
}

void concat(const Args& a, Result& r) { r.add(at::cat(a.tensors(0), a.integer(1))); }

void stack(const Args& a, Result& r) { r.add(at::stack(a.tensors(0), a.integer(1))); }

void unstack(const Args& a, Result& r) {
  for (auto& part : at::unbind(a.tensor(0), a.integer(1))) r.add(part);
}

void split(const Args& a, Result& r) {
  for (auto& part : at::split_with_sizes(a.tensor(0), a.integers(1), a.integer(2))) r.add(part);
}

void tile(const Args& a, Result& r) { r.add(a.tensor(0).repeat(a.integers(1))); }

// pads: [before0, after0, before1, after1, ...] (TensorFlow.js order).
void pad(const Args& a, Result& r) {
  IntList pads = a.integers(1), reversed;
  for (size_t d = pads.size() / 2; d-- > 0;) {
    reversed.push_back(pads[2 * d]);
    reversed.push_back(pads[2 * d + 1]);
  }
  r.add(at::constant_pad_nd(a.tensor(0), reversed, a.number(2)));
}

// Mirror padding by gathering rows along each padded axis; symmetric repeats the edge, reflect does not.
void mirrorPad(const Args& a, Result& r) {
  at::Tensor x = a.tensor(0);
  IntList pads = a.integers(1);
  bool symmetric = a.flag(2);
  for (int64_t d = 0; d < x.dim(); d++) {
    int64_t before = pads[2 * d], after = pads[2 * d + 1], n = x.size(d);
    if (before == 0 && after == 0) continue;
    IntList index;
    for (int64_t i = -before; i < n + after; i++) {
      int64_t j = i;
      if (i < 0) j = symmetric ? -i - 1 : -i;
      if (i >= n) j = symmetric ? 2 * n - 1 - i : 2 * (n - 1) - i;
      index.push_back(j);
    }
    x = at::index_select(x, d, at::tensor(index, at::TensorOptions().dtype(at::kLong)).to(x.device()));
  }
  r.add(x);
}

void gather(const Args& a, Result& r) {
  const at::Tensor& x = a.tensor(0);
  const at::Tensor& indices = a.tensor(1);
  int64_t axis = a.integer(2);
  at::Tensor picked = at::index_select(x, axis, indices.reshape({-1}).to(at::kLong));
  IntList shape(x.sizes().begin(), x.sizes().begin() + axis);
  for (int64_t size : indices.sizes()) shape.push_back(size);
  for (int64_t d = axis + 1; d < x.dim(); d++) shape.push_back(x.size(d));
  r.add(picked.reshape(shape));
}

void reverse(const Args& a, Result& r) { r.add(at::flip(a.tensor(0), a.integers(1))); }

void fill(const Args& a, Result& r) {
  r.add(at::full(a.integers(0), a.number(1),
                 at::TensorOptions().dtype(scalarType(static_cast<int32_t>(a.integer(2)))).device(currentDevice())));
}

// range(count, start, step, dtype): start + i * step, computed in double as TensorFlow.js does.
void range(const Args& a, Result& r) {
  at::Tensor i = at::arange(a.integer(0), at::TensorOptions().dtype(at::kDouble).device(currentDevice()));
  r.add((i * a.number(2) + a.number(1)).to(scalarType(static_cast<int32_t>(a.integer(3)))));
}

void oneHot(const Args& a, Result& r) {
  at::Tensor indices = a.tensor(0).to(at::kLong);
  at::Tensor classes = at::arange(a.integer(1), indices.options());
  at::Tensor hit = indices.unsqueeze(-1).eq(classes);
  at::ScalarType type = scalarType(static_cast<int32_t>(a.integer(4)));
  at::TensorOptions options = at::TensorOptions().dtype(at::kFloat).device(indices.device());
  r.add(at::where(hit, at::scalar_tensor(a.number(2), options), at::scalar_tensor(a.number(3), options)).to(type));
}

// Nearest-neighbour resize of NHWC images with TensorFlow.js's index rule.
void resizeNearest(const Args& a, Result& r) {
  const at::Tensor& x = a.tensor(0);
  int64_t newHeight = a.integer(1), newWidth = a.integer(2);
  bool alignCorners = a.flag(3), halfPixel = a.flag(4);
  auto indices = [&](int64_t oldSize, int64_t newSize) {
    double ratio = static_cast<double>(alignCorners && newSize > 1 ? oldSize - 1 : oldSize) /
                   static_cast<double>(alignCorners && newSize > 1 ? newSize - 1 : newSize);
    IntList index;
    for (int64_t i = 0; i < newSize; i++) {
      double source = halfPixel ? ratio * (static_cast<double>(i) + 0.5) : ratio * static_cast<double>(i);
      int64_t nearest = std::min(oldSize - 1, static_cast<int64_t>(alignCorners ? std::round(source) : std::floor(source)));
      if (halfPixel) nearest = std::max<int64_t>(0, nearest);
      index.push_back(nearest);
    }
    return at::tensor(index, at::TensorOptions().dtype(at::kLong)).to(x.device());
  };
  at::Tensor rows = at::index_select(x, 1, indices(x.size(1), newHeight));
  r.add(at::index_select(rows, 2, indices(x.size(2), newWidth)));
}

// ---- reductions (axes: a non-empty list of non-negative axes) ----

template <typename F>
at::Tensor reduceEach(at::Tensor x, IntList axes, bool keep, F&& reduceOne) {
  std::sort(axes.rbegin(), axes.rend());
  for (int64_t axis : axes) x = reduceOne(x, axis, keep);
  return x;
}

void sum(const Args& a, Result& r) { r.add(at::sum(a.tensor(0), a.integers(1), a.flag(2))); }

void mean(const Args& a, Result& r) {
  const at::Tensor& x = a.tensor(0);
  r.add(at::mean(x.is_floating_point() ? x : x.to(at::kFloat), a.integers(1), a.flag(2)));
}

void max(const Args& a, Result& r) { r.add(at::amax(a.tensor(0), a.integers(1), a.flag(2))); }

void min(const Args& a, Result& r) { r.add(at::amin(a.tensor(0), a.integers(1), a.flag(2))); }

void prod(const Args& a, Result& r) {
  r.add(reduceEach(a.tensor(0), a.integers(1), a.flag(2),
                   [](const at::Tensor& t, int64_t d, bool k) { return at::prod(t, d, k); }));
}

void all(const Args& a, Result& r) {
  r.add(reduceEach(a.tensor(0).to(at::kBool), a.integers(1), a.flag(2),
                   [](const at::Tensor& t, int64_t d, bool k) { return at::all(t, d, k); }));
}

void any(const Args& a, Result& r) {
  r.add(reduceEach(a.tensor(0).to(at::kBool), a.integers(1), a.flag(2),
                   [](const at::Tensor& t, int64_t d, bool k) { return at::any(t, d, k); }));
}

void argMax(const Args& a, Result& r) { r.add(at::argmax(a.tensor(0), a.integer(1))); }

void argMin(const Args& a, Result& r) { r.add(at::argmin(a.tensor(0), a.integer(1))); }

void softmax(const Args& a, Result& r) { r.add(at::softmax(a.tensor(0), a.integer(1))); }

void logSoftmax(const Args& a, Result& r) { r.add(at::log_softmax(a.tensor(0), a.integer(1))); }

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

// ---- normalization and the optimizer ----

// batchNorm(x, mean, variance, offset|-1, scale|-1, epsilon): (x - mean) * scale / sqrt(variance + epsilon) + offset
void batchNorm(const Args& a, Result& r) {
  at::Tensor inverse = at::rsqrt(a.tensor(2) + a.number(5));
  if (auto scale = a.optionalTensor(4)) inverse = inverse * *scale;
  at::Tensor y = at::sub(a.tensor(0), a.tensor(1)).mul_(inverse);
  if (auto offset = a.optionalTensor(3)) y = y.add_(*offset);
  r.add(y);
}

// Per-channel sums over the rows of a [rows, C] float32 array, in double, one partial per thread.
template <typename F>
std::vector<double> channelSums(const float* x, int64_t rows, int64_t channels, F&& term) {
  std::vector<double> partial(static_cast<size_t>(at::get_num_threads() * channels), 0.0);
  at::parallel_for(0, rows, std::max<int64_t>(1, 16384 / channels), [&](int64_t begin, int64_t end) {
    double* acc = partial.data() + at::get_thread_num() * channels;
    for (int64_t i = begin; i < end; i++) {
      const float* row = x + i * channels;
      for (int64_t c = 0; c < channels; c++) acc[c] += term(row[c], c);
    }
  });
  std::vector<double> total(static_cast<size_t>(channels), 0.0);
  for (size_t k = 0; k < partial.size(); k++) total[k % channels] += partial[k];
  return total;
}

// bnTraining(x, scale, offset, epsilon) -> y, mean, variance (biased), statistics over all axes but the last, as
// tf.moments + tf.batchNorm: two passes for the statistics (in double), then y = (x - mean) * scale / sqrt(variance +
// epsilon) + offset in one pass. (ATen's batch norm writes y as x * a + b, which loses digits when |mean| >> std.)
void bnTraining(const Args& a, Result& r) {
  const at::Tensor& x = a.tensor(0);
  double epsilon = a.number(3);
  int64_t channels = x.size(-1);
  at::Tensor rows = x.reshape({-1, channels}).contiguous();
  if (rows.scalar_type() != at::kFloat || !rows.device().is_cpu() || rows.size(0) == 0) {
    auto stats = at::var_mean(rows, IntList{0}, false);
    at::Tensor alpha = a.tensor(1) * at::rsqrt(std::get<0>(stats) + epsilon);
    r.add(at::addcmul(a.tensor(2), rows - std::get<1>(stats), alpha).reshape(x.sizes()));
    r.add(std::get<1>(stats));
    r.add(std::get<0>(stats));
    return;
  }
  int64_t count = rows.size(0);
  const float* px = rows.data_ptr<float>();
  std::vector<double> mean = channelSums(px, count, channels, [](float v, int64_t) { return static_cast<double>(v); });
  for (double& m : mean) m /= static_cast<double>(count);
  std::vector<double> variance = channelSums(px, count, channels, [&](float v, int64_t c) {
    double d = static_cast<double>(v) - mean[c];
    return d * d;
  });
  at::Tensor meanOut = at::empty({channels}, rows.options());
  at::Tensor varianceOut = at::empty({channels}, rows.options());
  at::Tensor scale = a.tensor(1).contiguous(), offset = a.tensor(2).contiguous();
  std::vector<float> meanF(channels), alpha(channels), beta(channels);
  for (int64_t c = 0; c < channels; c++) {
    variance[c] /= static_cast<double>(count);
    meanOut.data_ptr<float>()[c] = meanF[c] = static_cast<float>(mean[c]);
    varianceOut.data_ptr<float>()[c] = static_cast<float>(variance[c]);
    alpha[c] = static_cast<float>(scale.data_ptr<float>()[c] / std::sqrt(variance[c] + epsilon));
    beta[c] = offset.data_ptr<float>()[c];
  }
  at::Tensor y = at::empty_like(rows);
  float* py = y.data_ptr<float>();
  at::parallel_for(0, count, std::max<int64_t>(1, 16384 / channels), [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; i++) {
      const float* in = px + i * channels;
      float* out = py + i * channels;
      for (int64_t c = 0; c < channels; c++) out[c] = (in[c] - meanF[c]) * alpha[c] + beta[c];
    }
  });
  r.add(y.reshape(x.sizes()));
  r.add(meanOut);
  r.add(varianceOut);
}

// bnTrainingGrad(dy, x, scale, mean, variance, epsilon) -> dx, dScale, dOffset (the batch's statistics).
void bnTrainingGrad(const Args& a, Result& r) {
  const at::Tensor& x = a.tensor(1);
  int64_t channels = x.size(-1);
  at::Tensor rows = x.reshape({-1, channels});
  at::Tensor dRows = a.tensor(0).reshape({-1, channels});
  double epsilon = a.number(5);
  at::Tensor invStd = at::rsqrt(a.tensor(4) + epsilon);
  auto grads = at::native_batch_norm_backward(dRows, rows, a.tensor(2), c10::nullopt, c10::nullopt, a.tensor(3), invStd,
                                              true, epsilon, {true, true, true});
  r.add(std::get<0>(grads).reshape(x.sizes()));
  r.add(std::get<1>(grads));
  r.add(std::get<2>(grads));
}

// rmsProp(value, ms, mom, gradient, learningRate, decay, momentum, epsilon) -> value', ms', mom'
void rmsProp(const Args& a, Result& r) {
  const at::Tensor& g = a.tensor(3);
  double learningRate = a.number(4), decay = a.number(5), momentum = a.number(6), epsilon = a.number(7);
  at::Tensor ms = at::addcmul(a.tensor(1) * decay, g, g, 1 - decay);
  at::Tensor mom = at::addcdiv(a.tensor(2) * momentum, g * learningRate, at::sqrt(ms + epsilon));
  r.add(a.tensor(0) - mom);
  r.add(ms);
  r.add(mom);
}

}  // namespace

const std::vector<OpEntry>& opTable() {
  static const std::vector<OpEntry> table = {
      {"add", add},
      {"sub", sub},
      {"mul", mul},
      {"realDiv", realDiv},
      {"floorDiv", floorDiv},
      {"mod", mod},
      {"maximum", maximum},
      {"minimum", minimum},
      {"pow", pow},
      {"squaredDifference", squaredDifference},
      {"equal", equal},
      {"notEqual", notEqual},
      {"greater", greater},
      {"greaterEqual", greaterEqual},
      {"less", less},
      {"lessEqual", lessEqual},
      {"logicalAnd", logicalAnd},
      {"logicalOr", logicalOr},
      {"atan2", atan2},
      {"prelu", prelu},
      {"eluGrad", eluGrad},
      {"neg", neg},
      {"abs", abs},
      {"exp", exp},
      {"expm1", expm1},
      {"log", log},
      {"log1p", log1p},
      {"sqrt", sqrt},
      {"rsqrt", rsqrt},
      {"square", square},
      {"reciprocal", reciprocal},
      {"relu", relu},
      {"relu6", relu6},
      {"sigmoid", sigmoid},
      {"tanh", tanh},
      {"softplus", softplus},
      {"elu", elu},
      {"selu", selu},
      {"erf", erf},
      {"sin", sin},
      {"cos", cos},
      {"floor", floor},
      {"ceil", ceil},
      {"round", round},
      {"sign", sign},
      {"isFinite", isFinite},
      {"isNan", isNan},
      {"isInf", isInf},
      {"logicalNot", logicalNot},
      {"zerosLike", zerosLike},
      {"onesLike", onesLike},
      {"clone", clone},
      {"step", step},
      {"leakyRelu", leakyRelu},
      {"clip", clip},
      {"cast", cast},
      {"select", select},
      {"addN", addN},
      {"reshape", reshape},
      {"transpose", transpose},
      {"slice", slice},
      {"stridedSlice", stridedSlice},
      {"concat", concat},
      {"stack", stack},
      {"unstack", unstack},
      {"split", split},
      {"tile", tile},
      {"pad", pad},
      {"mirrorPad", mirrorPad},
      {"gather", gather},
      {"reverse", reverse},
      {"fill", fill},
      {"range", range},
      {"oneHot", oneHot},
      {"resizeNearest", resizeNearest},
      {"sum", sum},
      {"mean", mean},
      {"max", max},
      {"min", min},
      {"prod", prod},
      {"all", all},
      {"any", any},
      {"argMax", argMax},
      {"argMin", argMin},
      {"softmax", softmax},
      {"logSoftmax", logSoftmax},
      {"matMul", matMul},
      {"conv2d", conv2d},
      {"conv2dGradInput", conv2dGradInput},
      {"conv2dGradFilter", conv2dGradFilter},
      {"maxPool", maxPool},
      {"maxPoolGrad", maxPoolGrad},
      {"avgPool", avgPool},
      {"avgPoolGrad", avgPoolGrad},
      {"batchNorm", batchNorm},
      {"bnTraining", bnTraining},
      {"bnTrainingGrad", bnTrainingGrad},
      {"rmsProp", rmsProp},
  };
  return table;
}

}  // namespace n2n
