// Helpers shared by the op files: NHWC <-> NCHW views, TensorFlow.js padding, fused activations; and the ops'
// declared argument structs.
#pragma once

#include <algorithm>
#include <string>
#include <vector>

#include <limits>

#include "op-declarations.h"
#include "tensor-table.h"

namespace n2n {

using IntList = std::vector<int64_t>;

inline at::Tensor toNchw(const at::Tensor& nhwc) { return nhwc.permute({0, 3, 1, 2}); }
inline at::Tensor toNhwc(const at::Tensor& nchw) { return nchw.permute({0, 2, 3, 1}); }

// TensorFlow.js padding {top, bottom, left, right}: the symmetric part, up to `limit` per axis, goes to ATen (its
// pooling takes at most half the window), the rest is padded explicitly.
struct Padding {
  int64_t top, bottom, left, right, commonHeight, commonWidth;
  explicit Padding(const IntList& pads, IntList limit = {kNoLimit, kNoLimit})
      : top(pads.at(0)),
        bottom(pads.at(1)),
        left(pads.at(2)),
        right(pads.at(3)),
        commonHeight(std::min({top, bottom, limit.at(0)})),
        commonWidth(std::min({left, right, limit.at(1)})) {}
  IntList common() const { return {commonHeight, commonWidth}; }
  int64_t extraTop() const { return top - commonHeight; }
  int64_t extraBottom() const { return bottom - commonHeight; }
  int64_t extraLeft() const { return left - commonWidth; }
  int64_t extraRight() const { return right - commonWidth; }
  bool hasExtra() const { return extraTop() || extraBottom() || extraLeft() || extraRight(); }
  // Pads an NCHW tensor by the explicit part.
  at::Tensor padExtra(const at::Tensor& nchw, double value) const {
    return at::constant_pad_nd(nchw, {extraLeft(), extraRight(), extraTop(), extraBottom()}, value);
  }
  IntList paddedSizes(const IntList& nchwSizes) const {
    return {nchwSizes.at(0), nchwSizes.at(1), nchwSizes.at(2) + extraTop() + extraBottom(),
            nchwSizes.at(3) + extraLeft() + extraRight()};
  }
  // Undoes padExtra on a gradient.
  at::Tensor cropExtra(const at::Tensor& nchw, int64_t height, int64_t width) const {
    return nchw.slice(2, extraTop(), extraTop() + height).slice(3, extraLeft(), extraLeft() + width);
  }
  static constexpr int64_t kNoLimit = std::numeric_limits<int64_t>::max();
};

// Pooling's limit: ATen pads a window by at most half its size.
inline IntList halfWindow(const IntList& window) { return {window.at(0) / 2, window.at(1) / 2}; }

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

}  // namespace n2n
