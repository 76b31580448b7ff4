/**
 * The fused RMSProp optimizer (one Net2NetRMSPropUpdate kernel per variable) against tf.train.rmsprop: same variables
 * and slots over several steps on cpu and wasm, the same getWeights names, setWeights round trip, no tensors left.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../src/backend/backend.ts';
import { FusedRmsPropOptimizer, rmsPropUpdate } from '../src/train/fused-rmsprop.ts';

await selectBackend('wasm', () => {});
const [LR, DECAY, MOMENTUM, EPSILON] = [0.01, 0.9, 0.9, 1e-2];

function variables(prefix: string): tf.Variable[] {
  return [
    tf.variable(tf.randomNormal([3, 3, 2, 4], 0, 1, 'float32', 1), true, `${prefix}/kernel`),
    tf.variable(tf.randomNormal([5], 0, 1, 'float32', 2), true, `${prefix}/bias`),
  ];
}

/** A loss whose gradient changes from step to step. */
function loss(vars: tf.Variable[]): tf.Scalar {
  return tf.add(tf.sum(tf.sin(tf.mul(vars[0], 3))), tf.sum(tf.square(tf.sub(vars[1], 0.5)))) as tf.Scalar;
}

for (const backend of ['cpu', 'wasm'] as const) {
  test(`${backend}: fused RMSProp equals tf.train.rmsprop over 5 steps and leaves no tensors`, async () => {
    tf.setBackend(backend);
    const fusedVars = variables(`${backend}-fused`);
    const stockVars = variables(`${backend}-stock`);
    const fused = new FusedRmsPropOptimizer(LR, DECAY, MOMENTUM, EPSILON);
    const stock = tf.train.rmsprop(LR, DECAY, MOMENTUM, EPSILON, false);
    fused.minimize(() => loss(fusedVars), false, fusedVars);
    stock.minimize(() => loss(stockVars), false, stockVars);
    const before = tf.memory().numTensors;
    for (let i = 0; i < 4; i++) {
      fused.minimize(() => loss(fusedVars), false, fusedVars);
      stock.minimize(() => loss(stockVars), false, stockVars);
    }
    assert.equal(tf.memory().numTensors, before);
    fusedVars.forEach((v, i) => assert.deepEqual(v.dataSync(), stockVars[i].dataSync(), `variable ${v.name}`));
    const [fusedSlots, stockSlots] = [await fused.getWeights(), await stock.getWeights()];
    assert.deepEqual(
      fusedSlots.map((s) => s.name.replace('-fused', '')),
      stockSlots.map((s) => s.name.replace('-stock', '')),
    );
    fusedSlots.forEach((s, i) => assert.deepEqual(s.tensor.dataSync(), stockSlots[i].tensor.dataSync(), s.name));
    assert.equal(fusedSlots[0].tensor.dataSync()[0], 5);
    // setWeights round trip: a new optimizer continues where this one stands.
    const resumed = new FusedRmsPropOptimizer(LR, DECAY, MOMENTUM, EPSILON);
    await resumed.setWeights(fusedSlots.map((s) => ({ name: s.name, tensor: s.tensor.clone() })));
    resumed.minimize(() => loss(fusedVars), false, fusedVars);
    stock.minimize(() => loss(stockVars), false, stockVars);
    fusedVars.forEach((v, i) => assert.deepEqual(v.dataSync(), stockVars[i].dataSync(), `resumed ${v.name}`));
    tf.dispose([fusedSlots[0].tensor, stockSlots[0].tensor]);
    for (const o of [fused, stock, resumed]) o.dispose();
    tf.dispose([...fusedVars, ...stockVars]);
    tf.setBackend('wasm');
  });
}

test('rmsPropUpdate names a shape mismatch and a bad attr', () => {
  tf.tidy(() => {
    const attrs = { learningRate: LR, decay: DECAY, momentum: MOMENTUM, epsilon: EPSILON };
    const [a, b] = [tf.ones([2, 3]), tf.ones([3, 2])];
    assert.throws(() => rmsPropUpdate(a, a, a, b, attrs), /gradient has shape \[3,2\], the variable \[2,3\]/);
    assert.throws(() => rmsPropUpdate(a, a, a, a, { ...attrs, decay: NaN }), /attr 'decay' must be a finite number/);
  });
});
