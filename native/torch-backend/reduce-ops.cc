// Reductions over axes (a non-empty list of non-negative axes), arg-max/min, softmax.
#include <algorithm>
#include <stdexcept>

#include "op-helpers.h"

namespace n2n {
namespace {

template <typename F>
at::Tensor reduceEach(at::Tensor x, IntList axes, bool keep, F&& reduceOne) {
  std::sort(axes.rbegin(), axes.rend());
  for (int64_t axis : axes) x = reduceOne(x, axis, keep);
  return x;
}

}  // namespace

N2N_OP(sum) { r.add(at::sum(a.x, a.axes, a.keepDims)); }

N2N_OP(mean) { r.add(at::mean(a.x.is_floating_point() ? a.x : a.x.to(at::kFloat), a.axes, a.keepDims)); }

N2N_OP(max) { r.add(at::amax(a.x, a.axes, a.keepDims)); }

N2N_OP(min) { r.add(at::amin(a.x, a.axes, a.keepDims)); }

N2N_OP(prod) {
  r.add(reduceEach(a.x, a.axes, a.keepDims, [](const at::Tensor& t, int64_t d, bool k) { return at::prod(t, d, k); }));
}

N2N_OP(all) {
  r.add(reduceEach(a.x.to(at::kBool), a.axes, a.keepDims,
                   [](const at::Tensor& t, int64_t d, bool k) { return at::all(t, d, k); }));
}

N2N_OP(any) {
  r.add(reduceEach(a.x.to(at::kBool), a.axes, a.keepDims,
                   [](const at::Tensor& t, int64_t d, bool k) { return at::any(t, d, k); }));
}

N2N_OP(argMax) { r.add(at::argmax(a.x, a.axis)); }

N2N_OP(argMin) { r.add(at::argmin(a.x, a.axis)); }

N2N_OP(softmax) { r.add(at::softmax(a.x, a.axis)); }

N2N_OP(logSoftmax) { r.add(at::log_softmax(a.x, a.axis)); }

}  // namespace n2n
