// Training precision of the torch backend: fp32 (strict float32, TF32 off), bf16 (convolutions and matrix products,
// forward and both gradients, compute in bfloat16 where the device has native bf16; everything else, and every
// tensor JavaScript holds, stays float32) or tf32 (CUDA only: cuDNN and cuBLAS may round float32 inputs to TF32).
// JavaScript sets it per session and switches to fp32 for function-preservation checks and evaluations.
//
// The operands of those ops are derived from float32 tensors once per tensor, not once per call: a bfloat16 copy of
// a weight is made by the forward convolution and reused by its input gradient, the copy of an activation by the
// filter gradient, the copy of an output gradient by both gradients. The cache is keyed by the tensor id, checked
// against the tensor's identity and version counter (an in-place update makes a new copy), and an entry goes when
// its tensor is released. Where convolutions run as the addon's own oneDNN primitives, those keep their own
// reordered weights (onednn-conv.cc; forgetDerived drops them too).
#pragma once

#include <functional>

#include "tensor-table.h"

namespace n2n {

enum class Precision { kFp32, kBf16, kTf32 };

// Whether convolutions and matrix products run in bfloat16 now.
bool lowPrecision();

// What a derived tensor is (one cache entry per kind and tensor id).
enum class Derived { kBf16, kConvWeight, kConvWeightBf16, kDepthwiseWeight, kDepthwiseWeightBf16 };

// `make(source)`, made once per tensor id and version of the tensor behind `id`.
at::Tensor derived(int64_t id, Derived kind, const std::function<at::Tensor(const at::Tensor&)>& make);

// The tensor `id` as a conv/matmul operand: itself, or its bfloat16 copy under bf16 precision.
at::Tensor operand(int64_t id);

// Float32 again (the dtype every tensor JavaScript holds has); a no-op on a float32 tensor.
at::Tensor toFloat(const at::Tensor& tensor);

// Runs a bfloat16 filter gradient on the CPU on one thread while it lives (restores the count after). oneDNN's bf16
// weight-gradient kernel in libtorch 1.13 synchronizes its threads often: on 2 threads of the shared 2-core machine,
// one 3x3 filter gradient on [64, 28, 28, 96] -> 32 channels took a median 140-360 ms against fp32's 40 ms; on one
// thread, 15-32 ms (15 calls each, three rounds). PyTorch's own call behaves the same (247 ms on 2 threads, 27 on 1).
class BfloatFilterGradThreads {
 public:
  explicit BfloatFilterGradThreads(const at::Tensor& operand);
  ~BfloatFilterGradThreads();

 private:
  int saved_ = 0;
};

// Drops the derived tensors of a released id (addon.cc calls it from release()).
void forgetDerived(int32_t id);

// Adds setPrecision(name) and precisionSupport() to the addon's exports; turns TF32 off (addon.cc's Init).
void initPrecision(napi_env env, napi_value exports);

}  // namespace n2n
