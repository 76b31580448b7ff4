import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../src/backend/backend.ts';
import { LocalStepEngine } from '../src/train/local-step-engine.ts';
import type { RmsPropConfig } from '../src/train/step-engine.ts';

await selectBackend('cpu', () => {});

function convNet(): tf.LayersModel {
  const input = tf.input({ shape: [8, 8, 1] });
  let h = tf.layers
    .conv2d({
      filters: 4,
      kernelSize: 3,
      padding: 'same',
      name: 'c',
      kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }),
    })
    .apply(input) as tf.SymbolicTensor;
  h = tf.layers.batchNormalization({ name: 'c/bn' }).apply(h) as tf.SymbolicTensor;
  h = tf.layers.reLU({ name: 'c/relu' }).apply(h) as tf.SymbolicTensor;
  h = tf.layers.globalAveragePooling2d({ name: 'pool' }).apply(h) as tf.SymbolicTensor;
  const out = tf.layers
    .dense({ units: 3, name: 'fc', kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }) })
    .apply(h) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: out });
}

const config = (weightDecay: number): RmsPropConfig => ({
  learningRate: 0.01,
  decay: 0.9,
  momentum: 0.9,
  epsilon: 1,
  weightDecay,
});
const batch = () => ({
  x: tf.randomNormal([12, 8, 8, 1], 0, 1, 'float32', 7) as tf.Tensor4D,
  y: tf.tensor1d(
    [...Array(12)].map((_, i) => i % 3),
    'int32',
  ),
});

for (const weightDecay of [0, 1e-3]) {
  test(`steps with weight decay ${weightDecay} lower the loss and leave the tensor count unchanged`, async () => {
    const model = convNet();
    const engine = new LocalStepEngine(model, config(weightDecay));
    const { x, y } = batch();
    const first = await engine.step(x, y, 0.01);
    const before = tf.memory().numTensors;
    let last = first;
    for (let i = 0; i < 15; i++) last = await engine.step(x, y, 0.01);
    assert.equal(tf.memory().numTensors, before);
    assert.ok(last.loss < first.loss, `loss ${first.loss} -> ${last.loss}`);
    assert.ok(last.correct >= 0 && last.correct <= 12);
    await engine.dispose();
    model.dispose();
    tf.dispose([x, y]);
  });
}

test('optimizer state round-trips by weight name into a rebuilt model without leaking', async () => {
  const { x, y } = batch();
  const model = convNet();
  const engine = new LocalStepEngine(model, config(0));
  for (let i = 0; i < 3; i++) await engine.step(x, y, 0.01);

  const before = tf.memory().numTensors;
  const state = await engine.getOptimizerState();
  await engine.setOptimizerState(state);
  tf.dispose(state.map((s) => s.tensor));
  assert.equal(tf.memory().numTensors, before, 'get + set + dispose leaves the count unchanged');

  // A rebuilt model's variables get `_1` suffixes: the state must still land on the right weights.
  const saved = await engine.getOptimizerState();
  assert.ok(saved.some((s) => s.name === 'c/kernel/rms'));
  const rebuilt = await tf.models.modelFromJSON({
    modelTopology: model.toJSON(null, false) as tf.io.ModelJSON['modelTopology'],
  });
  rebuilt.setWeights(model.getWeights());
  const twin = new LocalStepEngine(rebuilt, config(0));
  await twin.setOptimizerState(saved.slice().reverse());
  const a = await engine.step(x, y, 0.01);
  const b = await twin.step(x, y, 0.01);
  assert.ok(Math.abs(a.loss - b.loss) < 1e-6, `same loss after restoring state: ${a.loss} vs ${b.loss}`);
  const diff = tf.tidy(
    () =>
      tf
        .max(tf.abs(tf.sub(model.getLayer('fc').getWeights()[0], rebuilt.getLayer('fc').getWeights()[0])))
        .dataSync()[0],
  );
  assert.ok(diff < 1e-6, `same weights after one more step: ${diff}`);
  tf.dispose(saved.map((s) => s.tensor));
  await engine.dispose();
  await twin.dispose();
  tf.dispose([x, y]);
});
