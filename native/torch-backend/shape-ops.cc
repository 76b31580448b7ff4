// Ops that move values: reshape, transpose, slicing, concatenation, padding, gathering, one-hot, resize.
#include <cmath>
#include <stdexcept>

#include "op-helpers.h"

namespace n2n {

N2N_OP(reshape) { r.add(a.x.reshape(a.shape)); }

N2N_OP(transpose) { r.add(a.x.permute(a.perm)); }

N2N_OP(slice) {
  at::Tensor x = a.x;
  const IntList &begin = a.begin, &size = a.size;
  for (size_t d = 0; d < begin.size(); d++) x = x.narrow(static_cast<int64_t>(d), begin[d], size[d]);
  r.add(x);
}

// Positive strides only; begin/end already clamped by the caller.
N2N_OP(stridedSlice) {
  at::Tensor x = a.x;
  const IntList &begin = a.begin, &end = a.end, &strides = a.strides;
  for (size_t d = 0; d < begin.size(); d++) {
    if (strides[d] <= 0) throw std::runtime_error("StridedSlice with a non-positive stride");
    x = x.slice(static_cast<int64_t>(d), begin[d], std::max(begin[d], end[d]), strides[d]);
  }
  r.add(x.reshape(a.shape));
}

N2N_OP(concat) { r.add(at::cat(a.inputs, a.axis)); }

N2N_OP(stack) { r.add(at::stack(a.inputs, a.axis)); }

N2N_OP(unstack) {
  for (auto& part : at::unbind(a.x, a.axis)) r.add(part);
}

N2N_OP(split) {
  for (auto& part : at::split_with_sizes(a.x, a.sizes, a.axis)) r.add(part);
}

N2N_OP(tile) { r.add(a.x.repeat(a.reps)); }

// pads: [before0, after0, before1, after1, ...] (TensorFlow.js order).
N2N_OP(pad) {
  const IntList& pads = a.pads;
  IntList reversed;
  for (size_t d = pads.size() / 2; d-- > 0;) {
    reversed.push_back(pads[2 * d]);
    reversed.push_back(pads[2 * d + 1]);
  }
  r.add(at::constant_pad_nd(a.x, reversed, a.value));
}

// Mirror padding by gathering rows along each padded axis; symmetric repeats the edge, reflect does not.
N2N_OP(mirrorPad) {
  at::Tensor x = a.x;
  const IntList& pads = a.pads;
  bool symmetric = a.symmetric;
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

// Throws when an index is outside [0, size): checked here, before index_select, because on CUDA an out-of-range
// index is a device-side assert that leaves the process's CUDA context unusable. One read-back of (min, max).
static void checkIndexRange(const at::Tensor& flat, int64_t size) {
  if (flat.numel() == 0) return;
  auto extremes = at::aminmax(flat);
  at::Tensor both = at::stack({std::get<0>(extremes), std::get<1>(extremes)}).to(at::kCPU);
  int64_t low = both[0].item<int64_t>(), high = both[1].item<int64_t>();
  if (low >= 0 && high < size) return;
  int64_t bad = low < 0 ? low : high;
  throw std::runtime_error("the index value " + std::to_string(bad) + " is not in [0, " + std::to_string(size - 1) +
                           "] (the gathered axis has size " + std::to_string(size) + ")");
}

N2N_OP(gather) {
  const at::Tensor& x = a.x;
  const at::Tensor& indices = a.indices;
  int64_t axis = a.axis;
  at::Tensor flat = indices.reshape({-1}).to(at::kLong);
  checkIndexRange(flat, x.size(axis));
  at::Tensor picked = at::index_select(x, axis, flat);
  IntList shape(x.sizes().begin(), x.sizes().begin() + axis);
  for (int64_t size : indices.sizes()) shape.push_back(size);
  for (int64_t d = axis + 1; d < x.dim(); d++) shape.push_back(x.size(d));
  r.add(picked.reshape(shape));
}

N2N_OP(reverse) { r.add(at::flip(a.x, a.axes)); }

N2N_OP(fill) { r.add(at::full(a.shape, a.value, at::TensorOptions().dtype(a.dtype).device(currentDevice()))); }

// start + i * step, computed in double as TensorFlow.js does.
N2N_OP(range) {
  at::Tensor i = at::arange(a.count, at::TensorOptions().dtype(at::kDouble).device(currentDevice()));
  r.add((i * a.step + a.start).to(a.dtype));
}

// An index outside [0, depth) gives a row of offValue (TensorFlow.js's semantics); eq never indexes memory by it, so
// no index reaches a kernel as an address.
N2N_OP(oneHot) {
  at::Tensor indices = a.indices.to(at::kLong);
  at::Tensor classes = at::arange(a.depth, indices.options());
  at::Tensor hit = indices.unsqueeze(-1).eq(classes);
  at::TensorOptions options = at::TensorOptions().dtype(at::kFloat).device(indices.device());
  r.add(at::where(hit, at::scalar_tensor(a.onValue, options), at::scalar_tensor(a.offValue, options)).to(a.dtype));
}

// Nearest-neighbour resize of NHWC images with TensorFlow.js's index rule.
N2N_OP(resizeNearest) {
  const at::Tensor& x = a.images;
  int64_t newHeight = a.height, newWidth = a.width;
  bool alignCorners = a.alignCorners, halfPixel = a.halfPixelCenters;
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

}  // namespace n2n
