// Batch normalization (inference form, and the fused training forward and gradient) and the RMSProp update.
#include <ATen/Parallel.h>
#include <cmath>
#include <stdexcept>

#include "device-control.h"
#include "op-helpers.h"

namespace n2n {
namespace {

// Per-channel sums of term(index, channel) over the elements of [rows, C] arrays, in double, one partial per thread.
template <typename F>
std::vector<double> channelSums(int64_t rows, int64_t channels, F&& term) {
  std::vector<double> partial(static_cast<size_t>(at::get_num_threads() * channels), 0.0);
  at::parallel_for(0, rows, std::max<int64_t>(1, 16384 / channels), [&](int64_t begin, int64_t end) {
    double* acc = partial.data() + at::get_thread_num() * channels;
    for (int64_t i = begin; i < end; i++) {
      for (int64_t c = 0; c < channels; c++) acc[c] += term(i * channels + c, c);
    }
  });
  std::vector<double> total(static_cast<size_t>(channels), 0.0);
  for (size_t k = 0; k < partial.size(); k++) total[k % channels] += partial[k];
  return total;
}

}  // namespace

// (x - mean) * scale / sqrt(variance + epsilon) + offset
N2N_OP(batchNorm) {
  at::Tensor inverse = at::rsqrt(a.variance + a.epsilon);
  if (a.scale) inverse = inverse * *a.scale;
  at::Tensor y = at::sub(a.x, a.mean).mul_(inverse);
  if (a.offset) y = y.add_(*a.offset);
  r.add(y);
}

// bnTraining -> y, mean, variance (biased), statistics over all axes but the last, as
// tf.moments + tf.batchNorm: two passes for the statistics (in double), then y = (x - mean) * scale / sqrt(variance +
// epsilon) + offset in one pass. (ATen's batch norm writes y as x * a + b, which loses digits when |mean| >> std.)
N2N_OP(bnTraining) {
  const at::Tensor& x = a.x;
  double epsilon = a.epsilon;
  int64_t channels = x.size(-1);
  at::Tensor rows = x.reshape({-1, channels}).contiguous();
  if (rows.scalar_type() != at::kFloat || !rows.device().is_cpu() || rows.size(0) == 0 ||
      genericKernels()) {
    auto stats = at::var_mean(rows, IntList{0}, false);
    at::Tensor alpha = a.scale * at::rsqrt(std::get<0>(stats) + epsilon);
    r.add(at::addcmul(a.offset, rows - std::get<1>(stats), alpha).reshape(x.sizes()));
    r.add(std::get<1>(stats));
    r.add(std::get<0>(stats));
    return;
  }
  int64_t count = rows.size(0);
  const float* px = rows.data_ptr<float>();
  std::vector<double> mean = channelSums(count, channels, [&](int64_t i, int64_t) { return double{px[i]}; });
  for (double& m : mean) m /= static_cast<double>(count);
  std::vector<double> variance = channelSums(count, channels, [&](int64_t i, int64_t c) {
    double d = double{px[i]} - mean[c];
    return d * d;
  });
  at::Tensor meanOut = at::empty({channels}, rows.options());
  at::Tensor varianceOut = at::empty({channels}, rows.options());
  at::Tensor scale = a.scale.contiguous(), offset = a.offset.contiguous();
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

// bnTrainingGrad -> dx, dScale, dOffset through the batch's statistics. With
// N rows and xhat = (x - mean) * invStd: dOffset = sum(dy), dScale = sum(dy * xhat), and
// dx = scale * invStd * (dy - dOffset / N - xhat * dScale / N); sums in double, dx in one pass.
N2N_OP(bnTrainingGrad) {
  const at::Tensor& x = a.x;
  double epsilon = a.epsilon;
  int64_t channels = x.size(-1);
  at::Tensor rows = x.reshape({-1, channels}).contiguous();
  at::Tensor dRows = a.dy.reshape({-1, channels}).contiguous();
  at::Tensor scale = a.scale.contiguous(), mean = a.mean.contiguous(), variance = a.variance.contiguous();
  if (rows.scalar_type() != at::kFloat || !rows.device().is_cpu() || rows.size(0) == 0 ||
      genericKernels()) {
    auto grads = at::native_batch_norm_backward(dRows, rows, scale, c10::nullopt, c10::nullopt, mean,
                                                at::rsqrt(variance + epsilon), true, epsilon, {true, true, true});
    r.add(std::get<0>(grads).reshape(x.sizes()));
    r.add(std::get<1>(grads));
    r.add(std::get<2>(grads));
    return;
  }
  int64_t count = rows.size(0);
  const float *px = rows.data_ptr<float>(), *pdy = dRows.data_ptr<float>();
  const float *pmean = mean.data_ptr<float>(), *pvar = variance.data_ptr<float>(), *pscale = scale.data_ptr<float>();
  std::vector<double> dOffset = channelSums(count, channels, [&](int64_t i, int64_t) { return double{pdy[i]}; });
  std::vector<double> dyCentered = channelSums(count, channels, [&](int64_t i, int64_t c) {
    return double{pdy[i]} * (double{px[i]} - double{pmean[c]});
  });
  at::Tensor dScaleOut = at::empty({channels}, rows.options()), dOffsetOut = at::empty({channels}, rows.options());
  std::vector<float> k1(channels), k2(channels), k3(channels);
  for (int64_t c = 0; c < channels; c++) {
    double invStd = 1.0 / std::sqrt(double{pvar[c]} + epsilon);
    double dScale = dyCentered[c] * invStd;
    dScaleOut.data_ptr<float>()[c] = static_cast<float>(dScale);
    dOffsetOut.data_ptr<float>()[c] = static_cast<float>(dOffset[c]);
    double gain = double{pscale[c]} * invStd;
    k1[c] = static_cast<float>(gain);
    k2[c] = static_cast<float>(-gain * invStd * dScale / static_cast<double>(count));
    k3[c] = static_cast<float>(-gain * dOffset[c] / static_cast<double>(count));
  }
  at::Tensor dx = at::empty_like(rows);
  float* pdx = dx.data_ptr<float>();
  at::parallel_for(0, count, std::max<int64_t>(1, 16384 / channels), [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; i++) {
      const int64_t row = i * channels;
      for (int64_t c = 0; c < channels; c++) {
        pdx[row + c] = k1[c] * pdy[row + c] + (k2[c] * (px[row + c] - pmean[c]) + k3[c]);
      }
    }
  });
  r.add(dx.reshape(x.sizes()));
  r.add(dScaleOut);
  r.add(dOffsetOut);
}

namespace {

// How this libtorch's addcmul rounds self + value * t1 * t2 on float32 CPU tensors: Debian's 1.13 computes
// fma(value * t1, t2, self) (its AVX2 kernels are built with FMA contraction), another build may round the product
// first. Probed once on values where the two differ; neither matching leaves the update to the composition.
enum class AddcmulRounding { kFused, kSeparate, kUnknown };

float addcmulFused(float self, float value, float t1, float t2) { return std::fma(value * t1, t2, self); }
float addcmulSeparate(float self, float value, float t1, float t2) { return self + value * t1 * t2; }

AddcmulRounding addcmulRounding() {
  static const AddcmulRounding rounding = [] {
    const int64_t n = 64;
    at::Tensor self = at::linspace(0.1, 0.9, n), t1 = at::linspace(-3.0, 2.9, n), t2 = at::linspace(1.3, -2.3, n);
    const float value = 0.1f;
    at::Tensor aten = at::addcmul(self, t1, t2, value).contiguous();
    bool fused = true, separate = true;
    for (int64_t i = 0; i < n; i++) {
      float s = self[i].item<float>(), a = t1[i].item<float>(), b = t2[i].item<float>(), out = aten[i].item<float>();
      fused = fused && addcmulFused(s, value, a, b) == out;
      separate = separate && addcmulSeparate(s, value, a, b) == out;
    }
    if (fused != separate) return fused ? AddcmulRounding::kFused : AddcmulRounding::kSeparate;
    return AddcmulRounding::kUnknown;
  }();
  return rounding;
}

// The loop of the RMSProp update below, with addcmul rounded as ATen rounds it.
template <float (*Addcmul)(float, float, float, float)>
void rmsPropLoop(int64_t n, const float* value, const float* ms, const float* mom, const float* g, float decay,
                 float keep, float momentum, float rate, float epsilon, float* valueOut, float* msOut, float* momOut) {
  at::parallel_for(0, n, 32768, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; i++) {
      float square = Addcmul(ms[i] * decay, keep, g[i], g[i]);
      float step = mom[i] * momentum + (g[i] * rate) / std::sqrt(square + epsilon);  // addcdiv with value 1
      msOut[i] = square;
      momOut[i] = step;
      valueOut[i] = value[i] - step;
    }
  });
}

}  // namespace

// -> value', ms', mom'. ms' = ms * decay + (1 - decay) * g * g, mom' = mom * momentum + lr * g / sqrt(ms' + epsilon),
// value' = value - mom'. On float32 CPU tensors one pass does the float operations of the ATen composition below in
// its order and rounding, so both give the same bits (test/custom-kernels.test.ts); the composition takes 8 ATen
// calls and 4 temporaries, ~16 us a variable at the sizes of a thin network.
N2N_OP(rmsProp) {
  const at::Tensor &value = a.value, &ms = a.ms, &mom = a.mom, &g = a.gradient;
  auto fastPath = [&](const at::Tensor& t) {
    return t.device().is_cpu() && t.scalar_type() == at::kFloat && t.is_contiguous() && t.sizes() == value.sizes();
  };
  if (genericKernels() || !fastPath(value) || !fastPath(ms) || !fastPath(mom) || !fastPath(g) ||
      addcmulRounding() == AddcmulRounding::kUnknown) {
    at::Tensor msOut = at::addcmul(ms * a.decay, g, g, 1 - a.decay);
    at::Tensor momOut = at::addcdiv(mom * a.momentum, g * a.learningRate, at::sqrt(msOut + a.epsilon));
    r.add(value - momOut);
    r.add(msOut);
    r.add(momOut);
    return;
  }
  at::Tensor valueOut = at::empty_like(value), msOut = at::empty_like(ms), momOut = at::empty_like(mom);
  auto loop = addcmulRounding() == AddcmulRounding::kFused ? rmsPropLoop<addcmulFused> : rmsPropLoop<addcmulSeparate>;
  // ATen casts each double scalar to float once per call, as here.
  loop(value.numel(), value.data_ptr<float>(), ms.data_ptr<float>(), mom.data_ptr<float>(), g.data_ptr<float>(),
       static_cast<float>(a.decay), static_cast<float>(1 - a.decay), static_cast<float>(a.momentum),
       static_cast<float>(a.learningRate), static_cast<float>(a.epsilon), valueOut.data_ptr<float>(),
       msOut.data_ptr<float>(), momOut.data_ptr<float>());
  r.add(valueOut);
  r.add(msOut);
  r.add(momOut);
}

}  // namespace n2n
