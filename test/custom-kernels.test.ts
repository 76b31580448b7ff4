/**
 * Our own kernels (src/kernels/): each declared one is registered on every backend from its declaration, and every
 * backend names the kernel and the input or attribute that is wrong (torch cases skip without the addon).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import '../src/models/batch-norm-training.ts';
import '../src/train/fused-rmsprop.ts';
import { CUSTOM_KERNELS } from '../src/kernels/custom-kernels.ts';
import { COMPOSITE_BACKENDS } from '../src/kernels/composite-kernel.ts';
import { RMSPROP_UPDATE } from '../src/kernels/rmsprop-update.ts';
import { registerTorch, torchBuilt } from './torch-fixtures.ts';

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
