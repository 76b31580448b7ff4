/**
 * Our own kernels (src/kernels/): each declared one is registered on every backend from its declaration, and every
 * backend names the kernel and the input or attribute that is wrong (torch cases skip without the addon).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import '../src/models/batch-norm-training.ts';
import '../src/train/fused-rmsprop.ts';
import '../src/models/batch-norm-layer.ts';
import '../src/models/relu-gradient.ts';
import { CUSTOM_KERNELS } from '../src/kernels/custom-kernels.ts';
import { runDeclaredKernel } from '../src/kernels/kernel-declaration.ts';
import { MOVING_AVERAGE } from '../src/kernels/moving-average.ts';
import { COMPOSITE_BACKENDS } from '../src/kernels/composite-kernel.ts';
import { RMSPROP_UPDATE } from '../src/kernels/rmsprop-update.ts';
import { loadTorchAddon } from '../src/backend/torch/addon.ts';
import { registerTorch, torchBuilt, values } from './torch-fixtures.ts';

const built = torchBuilt();
if (built) await registerTorch();
const backends = [...COMPOSITE_BACKENDS, ...(built ? ['torch'] : [])];

test('every declared kernel has an implementation on cpu, wasm, tensorflow and (when built) torch', () => {
  assert.ok(CUSTOM_KERNELS.length >= 3);
  for (const { name } of CUSTOM_KERNELS) {
    for (const backend of backends) assert.ok(tf.getKernel(name, backend), `${name} on ${backend}`);
  }
});

test('a missing input or a bad attribute is an error naming the kernel and what is wrong', async () => {
  for (const backend of ['cpu', ...(built ? ['torch'] : [])]) {
    await tf.setBackend(backend);
    const a = tf.ones([2]);
    const attrs = { learningRate: 0.1, decay: 0.9, momentum: 0, epsilon: 1 };
    const run = (inputs: tf.NamedTensorMap, attributes: object) =>
      tf.engine().runKernel(RMSPROP_UPDATE.name, inputs, attributes as tf.NamedAttrMap);
    assert.throws(
      () => run({ value: a, ms: a, mom: a }, attrs),
      /kernel Net2NetRMSPropUpdate: input 'gradient' is missing/,
    );
    assert.throws(
      () => run({ value: a, ms: a, mom: a, gradient: a }, { ...attrs, epsilon: Infinity }),
      /kernel Net2NetRMSPropUpdate: attr 'epsilon' must be a finite number, got Infinity/,
      backend,
    );
    a.dispose();
  }
});

/** The float32 bits of a tensor's values (NaN payloads and signed zeros included). */
const bits = (t: tf.Tensor) => Array.from(new Uint32Array((t.dataSync() as Float32Array).slice().buffer));

test('the fused moving average and ReLU gradient give the stock formulas bit for bit (composite on cpu, native on torch)', async () => {
  for (const backend of ['cpu', ...(built ? ['torch'] : [])]) {
    await tf.setBackend(backend);
    const x = tf.tensor1d([...values(997, 3), NaN, 0, -0, 1e-30]);
    const dy = tf.tensor1d([...values(997, 4), 1, 2, -3, NaN]);
    const average = tf.tensor1d(values(1001, 5));
    const fused = tf.tidy(() => [
      tf.grad((t: tf.Tensor) => tf.relu(t))(x, dy),
      runDeclaredKernel(MOVING_AVERAGE, { average, value: x }, { momentum: 0.99 })[0]!,
    ]);
    const stock = tf.tidy(() => [
      tf.mul(dy, tf.cast(tf.step(x), 'float32')),
      tf.sub(average, tf.mul(tf.sub(average, x), 1 - 0.99)),
    ]);
    assert.deepEqual(bits(fused[0]!), bits(stock[0]!), `ReLU gradient on ${backend}`);
    assert.deepEqual(bits(fused[1]!), bits(stock[1]!), `moving average on ${backend}`);
    assert.ok(Number.isNaN(fused[0]!.dataSync()[997]), `a NaN input gives a NaN gradient on ${backend}`);
    tf.dispose([x, dy, average, ...fused, ...stock]);
  }
});

/** Runs `update` through the torch kernel's generic branch (its ATen composition), then its CPU loop: same bits. */
function assertLoopMatchesComposition(update: () => tf.Tensor[], label: string): void {
  const addon = loadTorchAddon();
  try {
    assert.equal(addon.setGenericKernels(true), true);
    const composed = update();
    assert.equal(addon.setGenericKernels(false), false);
    const loop = update();
    assert.equal(loop.length, composed.length, label);
    loop.forEach((t, k) => assert.deepEqual(bits(t), bits(composed[k]!), `output ${k}, ${label}`));
    tf.dispose([...composed, ...loop]);
  } finally {
    addon.setGenericKernels(false);
  }
}

const torchOnly = { skip: !built && 'needs the torch addon' };

test(
  'the torch moving average gives the same bits in its one-pass CPU loop as in its ATen composition',
  torchOnly,
  async () => {
    await tf.setBackend('torch');
    for (const n of [1, 7, 64, 65_537]) {
      const average = tf.tensor1d(values(n, 21, 3));
      const value = tf.tensor1d([...values(n - 1, 22, 3), NaN]);
      const update = () => runDeclaredKernel(MOVING_AVERAGE, { average, value }, { momentum: 0.99 });
      assertLoopMatchesComposition(update, `${n} elements`);
      tf.dispose([average, value]);
    }
    await tf.setBackend('cpu');
  },
);

test(
  'the torch RMSProp update gives the same bits in its one-pass CPU loop as in its ATen composition',
  torchOnly,
  async () => {
    await tf.setBackend('torch');
    // Sizes around the vector widths and the loop's parallel grain, so vector bodies and scalar tails both count.
    for (const n of [1, 7, 16, 17, 1000, 65_537]) {
      const value = tf.tensor1d(values(n, 11));
      const ms = tf.tensor1d(values(n, 12).map(Math.abs));
      const mom = tf.tensor1d(values(n, 13, 0.1));
      const gradient = tf.tensor1d(values(n, 14, 3));
      const attrs = { learningRate: 0.0045, decay: 0.9, momentum: 0.9, epsilon: 1 };
      const update = () => runDeclaredKernel(RMSPROP_UPDATE, { value, ms, mom, gradient }, attrs);
      assertLoopMatchesComposition(update, `${n} elements`);
      tf.dispose([value, ms, mom, gradient]);
    }
    await tf.setBackend('cpu');
  },
);
