// Ops that move values: reshape, transpose, slicing, concatenation, padding, gathering, one-hot, resize.
#include <cmath>
#include <stdexcept>

#include "op-helpers.h"

namespace n2n {
namespace {

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
      double rounded = alignCorners ? std::round(source) : std::floor(source);
      int64_t nearest = std::min(oldSize - 1, static_cast<int64_t>(rounded));
      if (halfPixel) nearest = std::max<int64_t>(0, nearest);
      index.push_back(nearest);
    }
    return at::tensor(index, at::TensorOptions().dtype(at::kLong)).to(x.device());
  };
  at::Tensor rows = at::index_select(x, 1, indices(x.size(1), newHeight));
  r.add(at::index_select(rows, 2, indices(x.size(2), newWidth)));
}

}  // namespace

std::vector<OpEntry> shapeOps() {
  return {
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
  };
}

}  // namespace n2n
