// Element-wise ops: broadcasting binary and unary ops, activations, casts, select, AddN.
#include <ATen/Parallel.h>
#include <cmath>
#include <stdexcept>

#include "device-control.h"
#include "op-helpers.h"

namespace n2n {

#define BINARY(NAME, EXPR)         \
  N2N_OP(NAME) {                   \
    const at::Tensor& x = a.x;     \
    const at::Tensor& y = a.y;     \
    r.add(EXPR);                   \
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

#define UNARY(NAME, EXPR)      \
  N2N_OP(NAME) {               \
    const at::Tensor& x = a.x; \
    r.add(EXPR);               \
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
// float32 values on the CPU (ATen's where/isnan/where takes three passes and two temporaries); the generic branch
// elsewhere, or everywhere under NET2NET_TORCH_GENERIC_KERNELS=1.
N2N_OP(step) {
  const at::Tensor& x = a.x;
  double alpha = a.alpha;
  if (x.scalar_type() != at::kFloat || !x.device().is_cpu() || genericKernels()) {
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

// ReLU's gradient, dy * step(x) (TensorFlow.js's: mul(dy, cast(step(x), 'float32'))) in one call instead of three,
// with the same float products.
N2N_OP(reluGrad) {
  const at::Tensor& dy = a.dy;
  const at::Tensor& x = a.x;
  bool fast = dy.scalar_type() == at::kFloat && x.scalar_type() == at::kFloat && dy.device().is_cpu() &&
              x.device().is_cpu() && dy.sizes() == x.sizes() && !genericKernels();
  if (!fast) {
    at::Tensor out = at::where(x > 0, at::scalar_tensor(1.0, x.options()), at::scalar_tensor(0.0, x.options()));
    return r.add(at::mul(dy, at::where(at::isnan(x), x, out)));
  }
  at::Tensor gradient = dy.contiguous();
  at::Tensor input = x.contiguous();
  at::Tensor result = at::empty_like(input);
  const float* g = gradient.data_ptr<float>();
  const float* in = input.data_ptr<float>();
  float* dst = result.data_ptr<float>();
  at::parallel_for(0, input.numel(), 1 << 16, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; i++) {
      float v = in[i];
      float s = v > 0 ? 1.0f : 0.0f;
      dst[i] = g[i] * (v != v ? v : s);
    }
  });
  r.add(result);
}

// A moving average's update, average - (average - value) * (1 - momentum), with the factor in float32 as TensorFlow.js
// uploads it, so the result is the composite's bit for bit: three ATen ops, or on float32 CPU tensors of one shape a
// single pass rounding after each of the same three operations (the ATen calls cost ~3 us for a BatchNorm's
// statistics, 138 of them in a step of the full network).
N2N_OP(movingAverage) {
  const at::Tensor &average = a.average, &value = a.value;
  const float factor = static_cast<float>(1 - a.momentum);
  auto fastPath = [&](const at::Tensor& t) {
    return t.device().is_cpu() && t.scalar_type() == at::kFloat && t.is_contiguous() && t.sizes() == average.sizes();
  };
  if (genericKernels() || !fastPath(average) || !fastPath(value)) {
    at::Tensor factorTensor = at::scalar_tensor(static_cast<double>(factor), average.options());
    r.add(at::sub(average, at::mul(at::sub(average, value), factorTensor)));
    return;
  }
  at::Tensor out = at::empty_like(average);
  const float *pa = average.data_ptr<float>(), *pv = value.data_ptr<float>();
  float* po = out.data_ptr<float>();
  at::parallel_for(0, average.numel(), 32768, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; i++) {
      float step = (pa[i] - pv[i]) * factor;
      po[i] = pa[i] - step;
    }
  });
  r.add(out);
}

N2N_OP(leakyRelu) { r.add(at::leaky_relu(a.x, a.alpha)); }

N2N_OP(clip) { r.add(at::clamp(a.x, a.min, a.max)); }

N2N_OP(cast) { r.add(a.dtype == at::kBool ? at::ne(a.x, 0) : a.x.to(a.dtype)); }

N2N_OP(select) {
  at::Tensor condition = a.condition.to(at::kBool);
  const at::Tensor& t = a.t;
  if (condition.dim() == 1 && t.dim() > 1) {
    IntList sizes(t.dim(), 1);
    sizes[0] = condition.size(0);
    condition = condition.reshape(sizes);
  }
  r.add(at::where(condition, t, a.e));
}

N2N_OP(addN) {
  const std::vector<at::Tensor>& inputs = a.inputs;
  if (inputs.empty()) throw std::runtime_error("AddN needs at least one tensor");
  if (inputs.size() == 1) return r.add(inputs[0].clone());
  at::Tensor sum = at::add(inputs[0], inputs[1]);
  for (size_t i = 2; i < inputs.size(); i++) sum.add_(inputs[i]);
  r.add(sum);
}

}  // namespace n2n
