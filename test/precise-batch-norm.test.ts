import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { withPreciseBatchNorm } from '../src/train/precise-batch-norm.ts';

/** conv -> BN -> relu -> conv -> BN -> relu -> pool -> dense: two BatchNorm layers in sequence. */
function lagging(): tf.LayersModel {
  const input = tf.input({ shape: [8, 8, 3] });
  let x = tf.layers
    .conv2d({ filters: 6, kernelSize: 3, padding: 'same', useBias: false, seed: 1 } as never)
    .apply(input);
  x = tf.layers.batchNormalization({ name: 'bn1' }).apply(x);
  x = tf.layers.reLU().apply(x);
  x = tf.layers.conv2d({ filters: 6, kernelSize: 3, padding: 'same', useBias: false }).apply(x);
  x = tf.layers.batchNormalization({ name: 'bn2' }).apply(x);
  x = tf.layers.reLU().apply(x);
  x = tf.layers.globalAveragePooling2d({}).apply(x);
  const out = tf.layers.dense({ units: 5 }).apply(x) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: out });
}

function maxAbs(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!);
}

test('precise BatchNorm: inference with re-estimated statistics matches training mode; the model is left as it was', async () => {
  tf.setBackend('cpu');
  const model = lagging();
  // Data far from the fresh moving statistics (mean 0, variance 1): a network whose averages lag its weights.
  const data = tf.tidy(() => tf.randomNormal([256, 8, 8, 3], 3, 2, 'float32', 7));
  const calibration = [0, 1, 2, 3].map((i) => data.slice([i * 64], [64]));
  const before = model.getWeights().map((w) => w.clone());
  const training = model.apply(data, { training: true }) as tf.Tensor;
  model.setWeights(before); // applying in training mode moved the averages
  const stale = model.predict(data) as tf.Tensor;
  const scale = tf.tidy(() => tf.max(tf.abs(training)).dataSync()[0]!);

  const tensorsBefore = tf.memory().numTensors;
  const precise = await withPreciseBatchNorm(model, calibration, async () => model.predict(data) as tf.Tensor);
  assert.equal(tf.memory().numTensors, tensorsBefore + 1); // only the returned prediction

  const staleGap = maxAbs(stale, training) / scale;
  const preciseGap = maxAbs(precise, training) / scale;
  assert.ok(staleGap > 0.3, `stale statistics should be far off: ${staleGap}`);
  // Per-batch statistics (64 examples) vs one batch of 256: small sampling differences remain.
  assert.ok(preciseGap < 0.05, `re-estimated statistics should match training mode: ${preciseGap}`);

  const after = model.getWeights();
  before.forEach((w, i) => assert.equal(maxAbs(w, after[i]!), 0, `weight ${i} changed`));
  tf.dispose([data, ...calibration, ...before, training, stale, precise]);
});
