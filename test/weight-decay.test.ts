import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { classificationLoss, decayedKernels } from '../src/train/classification-loss.ts';

test("weight decay is TF-slim's: wd * sum(w^2) / 2 over kernels, so its gradient is wd * w", async () => {
  await tf.setBackend('cpu');
  const input = tf.input({ shape: [4, 4, 2] });
  const conv = tf.layers.conv2d({ filters: 3, kernelSize: 3, padding: 'same' }).apply(input);
  const logits = tf.layers.dense({ units: 5 }).apply(tf.layers.flatten().apply(conv)) as tf.SymbolicTensor;
  const model = tf.model({ inputs: input, outputs: logits });
  const x = tf.randomNormal([6, 4, 4, 2], 0, 1, 'float32', 1) as tf.Tensor4D;
  const y = tf.tensor1d([0, 1, 2, 3, 4, 0], 'int32');
  const wd = 0.25;
  const parts = classificationLoss(model, x, y, wd);
  const kernels = decayedKernels(model);
  assert.deepEqual(
    kernels.map((k) => k.originalName.split('/').at(-1)),
    ['kernel', 'kernel'],
  );
  const sumSquares = kernels.reduce((s, k) => s + tf.tidy(() => tf.sum(tf.square(k.read())).dataSync()[0]!), 0);
  const penalty = parts.total.dataSync()[0]! - parts.crossEntropy.dataSync()[0]!;
  assert.ok(
    Math.abs(penalty - (wd / 2) * sumSquares) < 1e-4 * Math.max(1, penalty),
    `${penalty} vs ${(wd / 2) * sumSquares}`,
  );
  tf.dispose([parts.total, parts.crossEntropy, parts.correct, x, y]);
  model.dispose();
});
