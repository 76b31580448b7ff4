// Helpers shared by the op files: NHWC <-> NCHW views, TensorFlow.js padding, fused activations, and the per-file
// op lists that op-table.cc joins.
#pragma once

#include <algorithm>
#include <string>
#include <vector>

#include "tensor-table.h"

namespace n2n {

using IntList = std::vector<int64_t>;

inline at::Tensor toNchw(const at::Tensor& nhwc) { return nhwc.permute({0, 3, 1, 2}); }
inline at::Tensor toNhwc(const at::Tensor& nchw) { return nchw.permute({0, 2, 3, 1}); }

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

inline at::Tensor emptyLike(const IntList& sizes, const at::Tensor& like) {
  return at::empty(sizes, like.options().memory_format(at::MemoryFormat::ChannelsLast));
}

inline at::Tensor activate(at::Tensor y, const std::string& activation, double alpha,
                           const c10::optional<at::Tensor>& prelu) {
  if (activation == "linear" || activation.empty()) return y;
  if (activation == "relu") return at::relu_(y);
  if (activation == "relu6") return at::hardtanh_(y, 0, 6);
  if (activation == "sigmoid") return at::sigmoid_(y);
  if (activation == "elu") return at::elu(y);
  if (activation == "leakyrelu") return at::leaky_relu(y, alpha);
  if (activation == "prelu" && prelu) return at::where(y < 0, y * *prelu, y);
  throw std::runtime_error("unsupported fused activation '" + activation + "'");
}

std::vector<OpEntry> elementwiseOps();
std::vector<OpEntry> shapeOps();
std::vector<OpEntry> reduceOps();
std::vector<OpEntry> convPoolOps();
std::vector<OpEntry> normalizationOps();

}  // namespace n2n
