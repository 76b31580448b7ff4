// At the small shapes of a batch-1 step a convolution costs oneDNN a few microseconds, and ATen's call around it
// (ideep building descriptors, looking its primitive up, reordering the weights, wrapping tensors) several times
// that: in a replayed bf16 step of the full Inception-BN, which makes 207 such calls, a forward convolution took
// 33 us through ATen and 15 here (README, Backends). So the convolution and both gradients run here as primitives made once per shape, with the
// same descriptors ideep gives oneDNN (activations nhwc, weights in the primitive's own format, user scratchpad,
// prop_kind forward, the forward primitive as the gradients' hint): oneDNN then picks the same implementation and
// the results are bit for bit ATen's. The weights are reordered into the primitive's format straight from the
// HWIO float32 filter, once per filter version (forward and input gradient share the copy when they want one format).
#include "onednn-conv.h"

#include <ATen/Parallel.h>

#include <cstring>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <vector>

#include "device-control.h"
#include "napi-call.h"
#include "precision.h"

#ifdef N2N_ONEDNN
#include <oneapi/dnnl/dnnl.hpp>
#endif

namespace n2n {
namespace {

bool switchedOn = true;

#ifdef N2N_ONEDNN
using dnnl::memory;
using Tag = memory::format_tag;
using Type = memory::data_type;

// The shared oneDNN libtorch loaded must be the one these headers describe.
bool versionMatches() {
  static const bool matches = [] {
    const dnnl_version_t* v = dnnl_version();
    return v->major == DNNL_VERSION_MAJOR && v->minor == DNNL_VERSION_MINOR;
  }();
  return matches;
}

dnnl::engine& cpuEngine() {
  static dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

dnnl::stream& cpuStream() {
  static dnnl::stream stream(cpuEngine());
  return stream;
}

Type typeOf(const at::Tensor& t) { return t.scalar_type() == at::kBFloat16 ? Type::bf16 : Type::f32; }

memory::dims dimsOf(const IntList& sizes) { return memory::dims(sizes.begin(), sizes.end()); }

// A HWIO filter [kh, kw, in, out] as the OIHW weights oneDNN describes, over the same memory.
memory::desc hwioAsOihw(const IntList& hwio, Type type) {
  int64_t kh = hwio[0], kw = hwio[1], in = hwio[2], out = hwio[3];
  return memory::desc({out, in, kh, kw}, type, {1, out, kw * in * out, in * out});
}

memory bind(const memory::desc& desc, const at::Tensor& tensor) {
  return memory(desc, cpuEngine(), tensor.data_ptr());
}

at::Tensor scratchpadFor(const memory::desc& desc) {
  return at::empty({static_cast<int64_t>(desc.get_size())}, at::TensorOptions().dtype(at::kByte));
}

// A primitive's argument tensor in channels-last memory (a no-op on the activations TensorFlow.js hands over).
at::Tensor channelsLast(const at::Tensor& t) { return t.contiguous(at::MemoryFormat::ChannelsLast); }

// What identifies a primitive: its kind and every number its descriptors hold, and the thread count (ideep's key
// too: oneDNN's implementations plan their work per thread count).
struct Geometry {
  std::string key;
  memory::dims src, weights, dst, strides, dilations, padding;
  Type type;
};

std::string listed(const IntList& values) {
  std::string text = "[";
  for (size_t i = 0; i < values.size(); i++) text += (i ? ", " : "") + std::to_string(values[i]);
  return text + "]";
}

// The checks ATen's call would make, with the operands named: channels, and a window that fits the padded input.
void checkOperands(const IntList& src, const IntList& weights, const IntList& dst) {
  if (src[1] != weights[1]) {
    throw std::runtime_error("convolution: the input " + listed(src) + " (NCHW) has " + std::to_string(src[1]) +
                             " channels, the filter " + listed(weights) + " (OIHW) expects " +
                             std::to_string(weights[1]) + " channels");
  }
  if (dst[2] <= 0 || dst[3] <= 0) {
    throw std::runtime_error("convolution: the input " + listed(src) + " (NCHW, padded) is smaller than the filter " +
                             listed(weights) + " (OIHW, with its dilation)");
  }
}

Geometry geometryOf(char kind, const IntList& src, const IntList& weights, const IntList& strides,
                    const IntList& padding, const IntList& dilations, Type type, bool bias) {
  Geometry g;
  g.src = dimsOf(src);
  g.weights = dimsOf(weights);
  g.strides = dimsOf(strides);
  g.padding = dimsOf(padding);
  g.dilations = {dilations[0] - 1, dilations[1] - 1};
  g.dst = {src[0], weights[0], 0, 0};
  for (int axis = 0; axis < 2; axis++) {
    int64_t extent = (weights[2 + axis] - 1) * dilations[axis] + 1;
    g.dst[2 + axis] = (src[2 + axis] + 2 * padding[axis] - extent) / strides[axis] + 1;
  }
  checkOperands(src, weights, IntList(g.dst.begin(), g.dst.end()));
  g.type = type;
  std::vector<int64_t> numbers{kind, static_cast<int64_t>(type), bias, at::get_num_threads()};
  for (const auto* list : {&g.src, &g.weights, &g.strides, &g.padding, &g.dilations}) {
    numbers.insert(numbers.end(), list->begin(), list->end());
  }
  g.key.assign(reinterpret_cast<const char*>(numbers.data()), numbers.size() * sizeof(int64_t));
  return g;
}

// The operands as ideep describes them to oneDNN: activations nhwc, weights in the format the primitive picks.
struct Operands {
  memory::desc src, weights, dst;
};

Operands operandsOf(const Geometry& g) {
  return {{g.src, g.type, Tag::nhwc}, {g.weights, g.type, Tag::any}, {g.dst, g.type, Tag::nhwc}};
}

dnnl::primitive_attr withUserScratchpad() {
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  return attr;
}

// The forward primitive's description: the forward itself (user scratchpad), or the gradients' hint (ideep's
// default attributes).
dnnl::convolution_forward::primitive_desc forwardDesc(const Geometry& g, bool bias, bool userScratchpad) {
  Operands o = operandsOf(g);
  dnnl::primitive_attr attr = userScratchpad ? withUserScratchpad() : dnnl::primitive_attr();
  auto kind = dnnl::prop_kind::forward;
  auto algorithm = dnnl::algorithm::convolution_direct;
  if (bias) {
    memory::desc biasDesc({g.weights[0]}, g.type, Tag::any);
    return {{kind, algorithm, o.src, o.weights, biasDesc, o.dst, g.strides, g.dilations, g.padding, g.padding}, attr,
            cpuEngine()};
  }
  return {{kind, algorithm, o.src, o.weights, o.dst, g.strides, g.dilations, g.padding, g.padding}, attr,
          cpuEngine()};
}

void checkOutputGradient(const at::Tensor& dy, const Geometry& g, const char* what) {
  IntList sizes(dy.sizes().begin(), dy.sizes().end());
  if (sizes != IntList(g.dst.begin(), g.dst.end())) {
    throw std::runtime_error(std::string("convolution ") + what + ": dy " + listed(sizes) + " (NCHW) is not the " +
                             listed(IntList(g.dst.begin(), g.dst.end())) + " its input and filter give");
  }
}

// A reorder from one layout or type to another, made once per pair of descriptors.
struct Reorder {
  memory::desc from, to;
  dnnl::reorder primitive;
  void run(const at::Tensor& source, const at::Tensor& target) const {
    memory in = bind(from, source), out = bind(to, target);
    primitive.execute(cpuStream(), in, out);
  }
};

Reorder makeReorder(const memory::desc& from, const memory::desc& to) {
  return {from, to, dnnl::reorder(dnnl::reorder::primitive_desc(cpuEngine(), from, cpuEngine(), to))};
}

// ---- the filter in a primitive's weights format, once per filter version and format ----

struct WeightsCopy {
  const c10::TensorImpl* source;
  uint32_t version;
  Reorder reorder;
  at::Tensor buffer;
};
std::unordered_map<int32_t, std::vector<WeightsCopy>> weightCopies;

at::Tensor weightsIn(int32_t filterId, const memory::desc& wanted) {
  const at::Tensor& filter = get(filterId);
  if (!filter.is_contiguous() || filter.scalar_type() != at::kFloat || filter.dim() != 4) {
    throw std::runtime_error("oneDNN convolution: filter " + std::to_string(filterId) +
                             " is not a contiguous float32 HWIO tensor");
  }
  auto version = static_cast<uint32_t>(filter._version());
  auto& copies = weightCopies[filterId];
  WeightsCopy* copy = nullptr;
  for (auto& candidate : copies) {
    if (candidate.reorder.to == wanted) copy = &candidate;
  }
  if (copy == nullptr) {
    IntList hwio(filter.sizes().begin(), filter.sizes().end());
    copies.push_back({nullptr, 0, makeReorder(hwioAsOihw(hwio, Type::f32), wanted),
                      scratchpadFor(wanted)});
    copy = &copies.back();
  } else if (copy->source == filter.unsafeGetTensorImpl() && copy->version == version) {
    return copy->buffer;
  }
  copy->reorder.run(filter, copy->buffer);
  copy->source = filter.unsafeGetTensorImpl();
  copy->version = version;
  return copy->buffer;
}

// ---- the three primitives, made once per geometry ----

struct Forward {
  dnnl::convolution_forward primitive;
  memory::desc src, weights, dst, bias, scratchpad;
  Reorder toFloat;  // bfloat16 dst -> float32 (unused in float32)
};

struct BackwardData {
  dnnl::convolution_backward_data primitive;
  memory::desc diffDst, weights, diffSrc, scratchpad;
  Reorder toFloat;
};

struct BackwardWeights {
  dnnl::convolution_backward_weights primitive;
  memory::desc src, diffDst, diffWeights, scratchpad;
  Reorder toHwio;  // diff weights in the primitive's format -> float32 HWIO
};

template <typename Entry, typename Make>
const Entry& cached(std::unordered_map<std::string, Entry>& cache, const std::string& key, Make make) {
  auto found = cache.find(key);
  if (found != cache.end()) return found->second;
  return cache.emplace(key, make()).first->second;
}

std::unordered_map<std::string, Forward> forwards;
std::unordered_map<std::string, BackwardData> backwardDatas;
std::unordered_map<std::string, BackwardWeights> backwardWeights;

memory::desc floatNhwc(const memory::dims& dims) { return memory::desc(dims, Type::f32, Tag::nhwc); }

IntList sizesOf(const at::Tensor& t) { return IntList(t.sizes().begin(), t.sizes().end()); }

// OIHW sizes of a HWIO filter shape.
IntList oihw(const IntList& hwio) { return {hwio[3], hwio[2], hwio[0], hwio[1]}; }

at::Tensor floatNchw(const memory::dims& dims) {
  return at::empty(dims, at::TensorOptions().dtype(at::kFloat).memory_format(at::MemoryFormat::ChannelsLast));
}

at::Tensor nchwLike(const memory::dims& dims, Type type) {
  return at::empty(dims, at::TensorOptions()
                             .dtype(type == Type::bf16 ? at::kBFloat16 : at::kFloat)
                             .memory_format(at::MemoryFormat::ChannelsLast));
}
#endif

}  // namespace

#ifdef N2N_ONEDNN
bool oneDnnPrimitivesApply(const at::Tensor& x, bool depthwise) {
  return switchedOn && !depthwise && !genericKernels() && x.device().is_cpu() && x.dim() == 4 &&
         (x.scalar_type() == at::kFloat || x.scalar_type() == at::kBFloat16) && versionMatches();
}

at::Tensor oneDnnConvolution(const at::Tensor& xIn, int32_t filterId, const c10::optional<at::Tensor>& bias,
                             const IntList& strides, const IntList& padding, const IntList& dilations) {
  at::Tensor x = channelsLast(xIn);
  const at::Tensor& filter = get(filterId);
  IntList hwio(filter.sizes().begin(), filter.sizes().end());
  bool withBias = bias.has_value() && bias->defined();
  Geometry g = geometryOf('f', sizesOf(x), oihw(hwio), strides, padding, dilations, typeOf(x), withBias);
  const Forward& f = cached(forwards, g.key, [&] {
    auto pd = forwardDesc(g, withBias, /*userScratchpad=*/true);
    Reorder toFloat = g.type == Type::bf16 ? makeReorder(pd.dst_desc(), floatNhwc(g.dst)) : Reorder{};
    return Forward{dnnl::convolution_forward(pd), pd.src_desc(), pd.weights_desc(), pd.dst_desc(),
                   withBias ? pd.bias_desc() : memory::desc(), pd.scratchpad_desc(), toFloat};
  });
  at::Tensor weights = weightsIn(filterId, f.weights);
  at::Tensor y = nchwLike(g.dst, g.type), scratchpad = scratchpadFor(f.scratchpad);
  std::unordered_map<int, memory> args{{DNNL_ARG_SRC, bind(f.src, x)},
                                       {DNNL_ARG_WEIGHTS, bind(f.weights, weights)},
                                       {DNNL_ARG_DST, bind(f.dst, y)},
                                       {DNNL_ARG_SCRATCHPAD, bind(f.scratchpad, scratchpad)}};
  at::Tensor biasValues;
  if (withBias) {
    biasValues = bias->contiguous();
    args.emplace(DNNL_ARG_BIAS, bind(f.bias, biasValues));
  }
  f.primitive.execute(cpuStream(), args);
  if (g.type == Type::f32) return y;
  at::Tensor out = floatNchw(g.dst);
  f.toFloat.run(y, out);
  return out;
}

at::Tensor oneDnnConvolutionGradInput(const at::Tensor& dyIn, int32_t filterId, const IntList& inputSizes,
                                      const IntList& strides, const IntList& padding, const IntList& dilations) {
  at::Tensor dy = channelsLast(dyIn);
  const at::Tensor& filter = get(filterId);
  IntList hwio(filter.sizes().begin(), filter.sizes().end());
  Geometry g = geometryOf('d', inputSizes, oihw(hwio), strides, padding, dilations, typeOf(dy), false);
  const BackwardData& b = cached(backwardDatas, g.key, [&] {
    Operands o = operandsOf(g);
    dnnl::convolution_backward_data::primitive_desc pd(
        {dnnl::algorithm::convolution_direct, o.src, o.weights, o.dst, g.strides, g.dilations, g.padding, g.padding},
        withUserScratchpad(), cpuEngine(), forwardDesc(g, false, /*userScratchpad=*/false));
    Reorder toFloat = g.type == Type::bf16 ? makeReorder(pd.diff_src_desc(), floatNhwc(g.src)) : Reorder{};
    return BackwardData{dnnl::convolution_backward_data(pd), pd.diff_dst_desc(), pd.weights_desc(),
                        pd.diff_src_desc(), pd.scratchpad_desc(), toFloat};
  });
  checkOutputGradient(dy, g, "input gradient");
  at::Tensor weights = weightsIn(filterId, b.weights);
  at::Tensor dx = nchwLike(g.src, g.type), scratchpad = scratchpadFor(b.scratchpad);
  b.primitive.execute(cpuStream(), {{DNNL_ARG_DIFF_DST, bind(b.diffDst, dy)},
                                    {DNNL_ARG_WEIGHTS, bind(b.weights, weights)},
                                    {DNNL_ARG_DIFF_SRC, bind(b.diffSrc, dx)},
                                    {DNNL_ARG_SCRATCHPAD, bind(b.scratchpad, scratchpad)}});
  if (g.type == Type::f32) return dx;
  at::Tensor out = floatNchw(g.src);
  b.toFloat.run(dx, out);
  return out;
}

at::Tensor oneDnnConvolutionGradFilter(const at::Tensor& xIn, const at::Tensor& dyIn, const IntList& filterShape,
                                       const IntList& strides, const IntList& padding, const IntList& dilations) {
  at::Tensor x = channelsLast(xIn), dy = channelsLast(dyIn);
  Geometry g = geometryOf('w', sizesOf(x), oihw(filterShape), strides, padding, dilations, typeOf(x), false);
  const BackwardWeights& b = cached(backwardWeights, g.key, [&] {
    Operands o = operandsOf(g);
    dnnl::convolution_backward_weights::primitive_desc pd(
        {dnnl::algorithm::convolution_direct, o.src, o.weights, o.dst, g.strides, g.dilations, g.padding, g.padding},
        withUserScratchpad(), cpuEngine(), forwardDesc(g, false, /*userScratchpad=*/false));
    return BackwardWeights{dnnl::convolution_backward_weights(pd), pd.src_desc(), pd.diff_dst_desc(),
                           pd.diff_weights_desc(), pd.scratchpad_desc(),
                           makeReorder(pd.diff_weights_desc(), hwioAsOihw(filterShape, Type::f32))};
  });
  checkOutputGradient(dy, g, "filter gradient");
  at::Tensor dw = scratchpadFor(b.diffWeights), scratchpad = scratchpadFor(b.scratchpad);
  b.primitive.execute(cpuStream(), {{DNNL_ARG_SRC, bind(b.src, x)},
                                    {DNNL_ARG_DIFF_DST, bind(b.diffDst, dy)},
                                    {DNNL_ARG_DIFF_WEIGHTS, bind(b.diffWeights, dw)},
                                    {DNNL_ARG_SCRATCHPAD, bind(b.scratchpad, scratchpad)}});
  at::Tensor out = at::empty(filterShape, at::TensorOptions().dtype(at::kFloat));
  b.toHwio.run(dw, out);
  return out;
}

void forgetOneDnnWeights(int32_t filterId) {
  if (!weightCopies.empty()) weightCopies.erase(filterId);
}
#else
bool oneDnnPrimitivesApply(const at::Tensor&, bool) { return false; }
at::Tensor oneDnnConvolution(const at::Tensor&, int32_t, const c10::optional<at::Tensor>&, const IntList&,
                             const IntList&, const IntList&) {
  throw std::logic_error("built without oneDNN primitives");
}
at::Tensor oneDnnConvolutionGradInput(const at::Tensor&, int32_t, const IntList&, const IntList&, const IntList&,
                                      const IntList&) {
  throw std::logic_error("built without oneDNN primitives");
}
at::Tensor oneDnnConvolutionGradFilter(const at::Tensor&, const at::Tensor&, const IntList&, const IntList&,
                                       const IntList&, const IntList&) {
  throw std::logic_error("built without oneDNN primitives");
}
void forgetOneDnnWeights(int32_t) {}
#endif

namespace {

bool built() {
#ifdef N2N_ONEDNN
  return versionMatches();
#else
  return false;
#endif
}

// oneDnnPrimitives(): { built: this addon has them (and the loaded oneDNN is the one they were built for), on }.
napi_value OneDnnPrimitives(napi_env env, napi_callback_info) {
  return guarded(env, [&]() {
    napi_value result;
    N2N_CHECK(napi_create_object(env, &result));
    N2N_CHECK(napi_set_named_property(env, result, "built", booleanValue(env, built())));
    N2N_CHECK(napi_set_named_property(env, result, "on", booleanValue(env, switchedOn && built())));
    return result;
  });
}

// setOneDnnPrimitives(on): off sends convolutions to ATen's own call (which reaches the same oneDNN kernels).
napi_value SetOneDnnPrimitives(napi_env env, napi_callback_info info) {
  return guarded(env, [&]() {
    switchedOn = flagArgument(env, info, "setOneDnnPrimitives");
    return booleanValue(env, switchedOn && built());
  });
}

}  // namespace

void initOneDnnConv(napi_env env, napi_value exports) {
  exportFunction(env, exports, "oneDnnPrimitives", OneDnnPrimitives);
  exportFunction(env, exports, "setOneDnnPrimitives", SetOneDnnPrimitives);
}

}  // namespace n2n
