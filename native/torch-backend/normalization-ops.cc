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

// -> value', ms', mom'
N2N_OP(rmsProp) {
  const at::Tensor& g = a.gradient;
  at::Tensor ms = at::addcmul(a.ms * a.decay, g, g, 1 - a.decay);
  at::Tensor mom = at::addcdiv(a.mom * a.momentum, g * a.learningRate, at::sqrt(ms + a.epsilon));
  r.add(a.value - mom);
  r.add(ms);
  r.add(mom);
}

}  // namespace n2n
