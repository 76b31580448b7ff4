/**
 * The fused BatchNorm training kernels (composite implementations on cpu and wasm) against TensorFlow.js's own
 * composition (tf.moments + tf.batchNorm, differentiated by tf.grads), and the fused BatchNormalization layer against
 * the stock layer: same outputs, moving statistics and losses over a few RMSProp steps, no tensors left behind.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../src/backend/backend.ts';
import { batchNormTraining } from '../src/models/batch-norm-training.ts';
import { batchNormalization, FusedBatchNormalization } from '../src/models/batch-norm-layer.ts';
import { LocalStepEngine } from '../src/train/local-step-engine.ts';

await selectBackend('wasm', () => {});
const BACKENDS = ['cpu', 'wasm'] as const;
const EPSILON = 1e-3;

function assertClose(actual: tf.Tensor, expected: tf.Tensor, what: string, tolerance = 1e-4): void {
  assert.deepEqual(actual.shape, expected.shape, `${what}: shapes differ`);
  const a = actual.dataSync();
  const e = expected.dataSync();
  let scale = 1e-6;
  for (const v of e) scale = Math.max(scale, Math.abs(v));
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - e[i]));
  assert.ok(Number.isFinite(worst) && worst <= tolerance * scale, `${what}: max abs error ${worst} (scale ${scale})`);
}

function stockTraining(x: tf.Tensor, scale: tf.Tensor1D, offset: tf.Tensor1D): tf.Tensor {
  const { mean, variance } = tf.moments(
    x,
    Array.from({ length: x.rank - 1 }, (_, i) => i),
  );
  return tf.batchNorm(x, mean, variance, offset, scale, EPSILON);
}

const SHAPES = [
  [5, 3],
  [7, 1],
  [4, 5, 3],
  [3, 5, 7, 4],
  [2, 3, 3, 5],
];

for (const backend of BACKENDS) {
  for (const shape of SHAPES) {
    test(`${backend}: fused BatchNorm training forward and gradient equal tf.moments + tf.batchNorm, [${shape}]`, () => {
      tf.setBackend(backend);
      const channels = shape[shape.length - 1];
      tf.tidy(() => {
        const x = tf.add(tf.mul(tf.randomNormal(shape, 0, 1, 'float32', 3), 2), 3);
        const scale = tf.randomUniform([channels], 0.5, 1.5, 'float32', 4) as tf.Tensor1D;
        const offset = tf.randomNormal([channels], 0, 1, 'float32', 5) as tf.Tensor1D;
        const weights = tf.randomNormal(shape, 0, 1, 'float32', 6);
        const [fusedY, fusedMean, fusedVariance] = batchNormTraining(x, scale, offset, EPSILON);
        const moments = tf.moments(
          x,
          shape.slice(0, -1).map((_, i) => i),
        );
        assertClose(fusedY, stockTraining(x, scale, offset), 'y');
        assertClose(fusedMean, moments.mean, 'mean');
        assertClose(fusedVariance, moments.variance, 'variance');

        const loss = (f: typeof stockTraining) => (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) =>
          tf.sum(tf.mul(f(a, b as tf.Tensor1D, c as tf.Tensor1D), weights));
        const fused = tf.grads(loss((a, b, c) => batchNormTraining(a, b, c, EPSILON)[0]))([x, scale, offset]);
        const stock = tf.grads(loss(stockTraining))([x, scale, offset]);
        ['dx', 'dScale', 'dOffset'].forEach((what, i) => assertClose(fused[i], stock[i], what));
      });
      tf.setBackend('wasm');
    });
  }
}

test('batchNormTraining names bad shapes and dtypes', () => {
  tf.tidy(() => {
    const x = tf.ones([2, 3, 4]);
    assert.throws(() => batchNormTraining(tf.ones([4]), tf.ones([4]), tf.ones([4]), EPSILON), /rank >= 2/);
    assert.throws(() => batchNormTraining(x, tf.ones([3]), tf.ones([4]), EPSILON), /scale must have shape \[4\]/);
    assert.throws(() => batchNormTraining(x, tf.ones([4]), tf.ones([4], 'int32'), EPSILON), /offset must be float32/);
  });
});

function convNet(bn: (name: string) => tf.layers.Layer): tf.LayersModel {
  const input = tf.input({ shape: [6, 6, 2] });
  let h = input;
  for (const [i, filters] of [3, 5].entries()) {
    h = tf.layers
      .conv2d({
        filters,
        kernelSize: 3,
        padding: 'same',
        useBias: false,
        name: `c${i}`,
        kernelInitializer: tf.initializers.glorotUniform({ seed: 10 + i }),
      })
      .apply(h) as tf.SymbolicTensor;
    h = bn(`c${i}/bn`).apply(h) as tf.SymbolicTensor;
    h = tf.layers.reLU({ name: `c${i}/relu` }).apply(h) as tf.SymbolicTensor;
  }
  h = tf.layers.globalAveragePooling2d({ name: 'pool' }).apply(h) as tf.SymbolicTensor;
  const out = tf.layers
    .dense({ units: 3, name: 'fc', kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }) })
    .apply(h) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: out });
}

const RMSPROP = { learningRate: 0.01, decay: 0.9, momentum: 0.9, epsilon: 1, weightDecay: 1e-3 };

for (const backend of BACKENDS) {
  test(`${backend}: the fused layer trains like the stock layer and leaves no tensors behind`, async () => {
    tf.setBackend(backend);
    const fused = convNet((name) => batchNormalization({ name, axis: -1 }));
    const stock = convNet((name) => tf.layers.batchNormalization({ name, axis: -1 }));
    assert.ok(fused.getLayer('c0/bn') instanceof FusedBatchNormalization);
    assert.ok(!(stock.getLayer('c0/bn') instanceof FusedBatchNormalization));
    const x = tf.randomNormal([8, 6, 6, 2], 1, 2, 'float32', 7) as tf.Tensor4D;
    const y = tf.tensor1d([0, 1, 2, 0, 1, 2, 0, 1], 'int32');
    const engines = [new LocalStepEngine(fused, RMSPROP), new LocalStepEngine(stock, RMSPROP)];
    await engines[0].step(x, y, 0.01);
    await engines[1].step(x, y, 0.01);
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) {
      const [a, b] = [await engines[0].step(x, y, 0.01), await engines[1].step(x, y, 0.01)];
      assert.ok(Math.abs(a.loss - b.loss) <= 1e-4 * Math.abs(b.loss), `step ${i}: loss ${a.loss} vs ${b.loss}`);
    }
    assert.equal(tf.memory().numTensors, before);
    for (const layer of ['c0/bn', 'c1/bn']) {
      const [f, s] = [fused, stock].map((m) => m.getLayer(layer).getWeights());
      ['gamma', 'beta', 'moving_mean', 'moving_variance'].forEach((what, i) =>
        assertClose(f[i], s[i], `${layer} ${what}`, 2e-4),
      );
      // The moving statistics did move: 4 steps of momentum 0.99 away from (0, 1).
      assert.ok(Math.abs(f[2].dataSync()[0]) > 1e-3, `${layer} moving mean stayed at ${f[2].dataSync()[0]}`);
    }
    // Inference takes the stock path: with the same weights, the same outputs to the bit.
    stock.setWeights(fused.getWeights());
    const inference = [fused, stock].map((m) => m.predict(x) as tf.Tensor);
    assert.deepEqual(inference[0].dataSync(), inference[1].dataSync());
    tf.dispose([...inference, x, y]);
    for (const engine of engines) await engine.dispose();
    fused.dispose();
    stock.dispose();
    tf.setBackend('wasm');
  });
}

test('a saved model keeps the className BatchNormalization and deserializes to the fused layer', () => {
  const model = convNet((name) => batchNormalization({ name, axis: -1 }));
  const config = model.toJSON(undefined, false) as unknown as { config: { layers: { class_name: string }[] } };
  const classes = config.config.layers.map((l) => l.class_name);
  assert.equal(classes.filter((c) => c === 'BatchNormalization').length, 2);
  const rebuilt = tf.LayersModel.fromConfig(tf.LayersModel, model.getConfig()) as tf.LayersModel;
  assert.ok(rebuilt.getLayer('c1/bn') instanceof FusedBatchNormalization);
  rebuilt.dispose();
  model.dispose();
});
