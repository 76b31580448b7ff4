// Reductions over axes, arg-max/min, softmax.
#include <algorithm>
#include <stdexcept>

#include "op-helpers.h"

namespace n2n {
namespace {

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

}  // namespace

std::vector<OpEntry> reduceOps() {
  return {
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
  };
}

}  // namespace n2n
