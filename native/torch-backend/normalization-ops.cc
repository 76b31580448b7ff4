// Batch normalization (inference form, and the fused training forward and gradient) and the RMSProp update.
#include <ATen/Parallel.h>
#include <cmath>
#include <stdexcept>

#include "op-helpers.h"

namespace n2n {
namespace {

// ---- normalization and the optimizer ----

// batchNorm(x, mean, variance, offset|-1, scale|-1, epsilon): (x - mean) * scale / sqrt(variance + epsilon) + offset
void batchNorm(const Args& a, Result& r) {
  at::Tensor inverse = at::rsqrt(a.tensor(2) + a.number(5));
  if (auto scale = a.optionalTensor(4)) inverse = inverse * *scale;
  at::Tensor y = at::sub(a.tensor(0), a.tensor(1)).mul_(inverse);
  if (auto offset = a.optionalTensor(3)) y = y.add_(*offset);
  r.add(y);
}

// Per-channel sums over the rows of a [rows, C] float32 array, in double, one partial per thread.
template <typename F>
std::vector<double> channelSums(const float* x, int64_t rows, int64_t channels, F&& term) {
  std::vector<double> partial(static_cast<size_t>(at::get_num_threads() * channels), 0.0);
  at::parallel_for(0, rows, std::max<int64_t>(1, 16384 / channels), [&](int64_t begin, int64_t end) {
    double* acc = partial.data() + at::get_thread_num() * channels;
    for (int64_t i = begin; i < end; i++) {
      const float* row = x + i * channels;
      for (int64_t c = 0; c < channels; c++) acc[c] += term(row[c], c);
    }
  });
  std::vector<double> total(static_cast<size_t>(channels), 0.0);
  for (size_t k = 0; k < partial.size(); k++) total[k % channels] += partial[k];
  return total;
}

// bnTraining(x, scale, offset, epsilon) -> y, mean, variance (biased), statistics over all axes but the last, as
// tf.moments + tf.batchNorm: two passes for the statistics (in double), then y = (x - mean) * scale / sqrt(variance +
// epsilon) + offset in one pass. (ATen's batch norm writes y as x * a + b, which loses digits when |mean| >> std.)
void bnTraining(const Args& a, Result& r) {
  const at::Tensor& x = a.tensor(0);
  double epsilon = a.number(3);
  int64_t channels = x.size(-1);
  at::Tensor rows = x.reshape({-1, channels}).contiguous();
  if (rows.scalar_type() != at::kFloat || !rows.device().is_cpu() || rows.size(0) == 0) {
    auto stats = at::var_mean(rows, IntList{0}, false);
    at::Tensor alpha = a.tensor(1) * at::rsqrt(std::get<0>(stats) + epsilon);
    r.add(at::addcmul(a.tensor(2), rows - std::get<1>(stats), alpha).reshape(x.sizes()));
    r.add(std::get<1>(stats));
    r.add(std::get<0>(stats));
    return;
  }
  int64_t count = rows.size(0);
  const float* px = rows.data_ptr<float>();
  std::vector<double> mean = channelSums(px, count, channels, [](float v, int64_t) { return static_cast<double>(v); });
  for (double& m : mean) m /= static_cast<double>(count);
  std::vector<double> variance = channelSums(px, count, channels, [&](float v, int64_t c) {
    double d = static_cast<double>(v) - mean[c];
    return d * d;
  });
  at::Tensor meanOut = at::empty({channels}, rows.options());
  at::Tensor varianceOut = at::empty({channels}, rows.options());
  at::Tensor scale = a.tensor(1).contiguous(), offset = a.tensor(2).contiguous();
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

// bnTrainingGrad(dy, x, scale, mean, variance, epsilon) -> dx, dScale, dOffset (the batch's statistics).
void bnTrainingGrad(const Args& a, Result& r) {
  const at::Tensor& x = a.tensor(1);
  int64_t channels = x.size(-1);
  at::Tensor rows = x.reshape({-1, channels});
  at::Tensor dRows = a.tensor(0).reshape({-1, channels});
  double epsilon = a.number(5);
  at::Tensor invStd = at::rsqrt(a.tensor(4) + epsilon);
  auto grads = at::native_batch_norm_backward(dRows, rows, a.tensor(2), c10::nullopt, c10::nullopt, a.tensor(3), invStd,
                                              true, epsilon, {true, true, true});
  r.add(std::get<0>(grads).reshape(x.sizes()));
  r.add(std::get<1>(grads));
  r.add(std::get<2>(grads));
}

// rmsProp(value, ms, mom, gradient, learningRate, decay, momentum, epsilon) -> value', ms', mom'
void rmsProp(const Args& a, Result& r) {
  const at::Tensor& g = a.tensor(3);
  double learningRate = a.number(4), decay = a.number(5), momentum = a.number(6), epsilon = a.number(7);
  at::Tensor ms = at::addcmul(a.tensor(1) * decay, g, g, 1 - decay);
  at::Tensor mom = at::addcdiv(a.tensor(2) * momentum, g * learningRate, at::sqrt(ms + epsilon));
  r.add(a.tensor(0) - mom);
  r.add(ms);
  r.add(mom);
}

}  // namespace

std::vector<OpEntry> normalizationOps() {
  return {
      {"batchNorm", batchNorm},
      {"bnTraining", bnTraining},
      {"bnTrainingGrad", bnTrainingGrad},
      {"rmsProp", rmsProp},
  };
}

}  // namespace n2n
