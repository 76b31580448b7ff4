/**
 * Native torch kernels at their edges, one test per bug found in review: empty concatenations, bool tensors written
 * with bytes other than 0/1, `dimRoundingMode: 'ceil'`, pads larger than half the window, outputs that cannot be
 * described, and the input gradient's placeholder (skips without the addon, fails in CI without it).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { loadTorchAddon } from '../src/backend/torch/addon.ts';
import {
  assertClose,
  matchesCpu,
  randomTensor as r,
  registerTorch,
  runOn,
  SKIP_REASON,
  torchBuilt,
} from './torch-fixtures.ts';

const built = torchBuilt();
if (built) await registerTorch();
const opts = built ? {} : { skip: SKIP_REASON };

function nativeTensors(): number {
  return (tf.memory() as tf.MemoryInfo & { nativeTensors: number }).nativeTensors;
}

test('Concat of empty inputs only has the summed length on its axis', opts, async () => {
  await matchesCpu('concat empty rows', () => tf.concat([tf.zeros([2, 0]), tf.zeros([3, 0])], 0));
  await matchesCpu('concat empty columns', () => tf.concat([tf.zeros([0, 2]), tf.zeros([0, 3])], 1));
});

test('a bool tensor written with bytes other than 0 and 1 holds true where they are non-zero', opts, async () => {
  await tf.setBackend('torch');
  const flags = tf.tensor(new Uint8Array([2, 0, 255, 1]), [4], 'bool');
  const asInt = tf.cast(flags, 'int32');
  const negated = tf.logicalNot(flags);
  const anded = tf.logicalAnd(flags, tf.tensor1d([true, true, true, true], 'bool'));
  assert.deepEqual(Array.from(flags.dataSync()), [1, 0, 1, 1], 'read back');
  assert.deepEqual(Array.from(asInt.dataSync()), [1, 0, 1, 1], 'cast to int32');
  assert.deepEqual(Array.from(negated.dataSync()), [0, 1, 0, 0], 'logicalNot');
  assert.deepEqual(Array.from(anded.dataSync()), [1, 0, 1, 1], 'logicalAnd');
  tf.dispose([flags, asInt, negated, anded]);
});

test(
  "convolutions and pooling with dimRoundingMode 'ceil' match cpu (gradients: the explicitly padded equivalent)",
  opts,
  async () => {
    const x = () => r([2, 6, 7, 2], 1);
    const w = () => r([3, 3, 2, 3], 2);
    const conv = (xx: tf.Tensor, ww: tf.Tensor, pad: number | tf.backend_util.ExplicitPadding, rounding?: 'ceil') =>
      tf.conv2d(xx as tf.Tensor4D, ww as tf.Tensor4D, 2, pad, 'NHWC', 1, rounding);
    await matchesCpu('conv2d ceil', () => conv(x(), w(), 0, 'ceil'));
    // TensorFlow.js's conv2d gradient drops the rounding mode (on cpu it leaves the last window out): the gradients are
    // checked against the same convolution with its last window padded explicitly (rows 6 + 1 = 2 * 2 + 3).
    const gradients = (pad: number | tf.backend_util.ExplicitPadding, rounding?: 'ceil') => () => {
      const dy = r([2, 3, 3, 3], 3);
      const [dx, dw] = tf.grads((xx: tf.Tensor, ww: tf.Tensor) => conv(xx, ww, pad, rounding).mul(dy).sum())([
        x(),
        w(),
      ]);
      return [dx!, dw!];
    };
    const padded: tf.backend_util.ExplicitPadding = [
      [0, 0],
      [0, 1],
      [0, 0],
      [0, 0],
    ];
    assertClose(
      await runOn('torch', gradients(0, 'ceil')),
      await runOn('cpu', gradients(padded)),
      'conv2d ceil gradients',
    );
    for (const pool of ['maxPool', 'avgPool'] as const) {
      const f = (t: tf.Tensor, pad: number | tf.backend_util.ExplicitPadding, rounding?: 'ceil') =>
        tf[pool](t as tf.Tensor4D, 3, 2, pad, rounding);
      await matchesCpu(`${pool} ceil`, () => f(x(), 0, 'ceil'));
      const dy = () => r([2, 3, 3, 2], 4);
      const gradient = (pad: number | tf.backend_util.ExplicitPadding, rounding?: 'ceil') => () =>
        tf.grad((t: tf.Tensor) => f(t, pad, rounding).mul(dy()).sum())(x());
      assertClose(
        await runOn('torch', gradient(0, 'ceil')),
        await runOn('cpu', gradient(padded)),
        `${pool} ceil gradient`,
      );
    }
  },
);

test('pads larger than half the window match cpu for convolutions and pooling, gradients included', opts, async () => {
  const x = () => r([1, 5, 6, 2], 5);
  await matchesCpu('conv2d explicit pads 3 > 3/2', () => {
    const w = r([3, 3, 2, 2], 6);
    const pad: tf.backend_util.ExplicitPadding = [
      [0, 0],
      [3, 2],
      [1, 3],
      [0, 0],
    ];
    const conv = (xx: tf.Tensor, ww: tf.Tensor) => tf.conv2d(xx as tf.Tensor4D, ww as tf.Tensor4D, 1, pad);
    const y = conv(x(), w);
    const dy = r(y.shape, 7);
    const [dx, dw] = tf.grads((xx: tf.Tensor, ww: tf.Tensor) => conv(xx, ww).mul(dy).sum())([x(), w]);
    return [y, dx!, dw!];
  });
  for (const pool of ['maxPool', 'avgPool'] as const) {
    await matchesCpu(`${pool} pad 2 > 3/2`, () => {
      const f = (t: tf.Tensor) => tf[pool](t as tf.Tensor4D, 3, 1, 2);
      const dy = r(f(x()).shape, 8);
      return [f(x()), tf.grad((t: tf.Tensor) => f(t).mul(dy).sum())(x())];
    });
  }
});

test(
  'an op whose outputs cannot be described fails naming op and kernel, and leaves no native tensor',
  opts,
  async () => {
    await tf.setBackend('torch');
    const x = tf.zeros([1100, 1]);
    const before = nativeTensors();
    let message = 'did not throw';
    try {
      tf.unstack(x);
    } catch (err) {
      message = String(err instanceof Error ? err.message : err);
    }
    assert.equal(nativeTensors(), before, 'native tensors left behind');
    assert.match(message, /kernel 'Unpack'.*op 'unstack'.*meta buffer/s);
    x.dispose();
  },
);

test(
  'Conv2DBackpropInput allocates one input-sized placeholder through ATen, none as a oneDNN primitive',
  opts,
  async () => {
    await tf.setBackend('torch');
    const addon = loadTorchAddon();
    const inputShape = [2, 8, 8, 3];
    const inputBytes = 2 * 8 * 8 * 3 * 4;
    const dy = r([2, 8, 8, 4], 9);
    const filter = r([3, 3, 3, 4], 10);
    const attrs = { strides: 1, pad: 'same', dataFormat: 'NHWC', dilations: 1, inputShape };
    /** How many allocations of the input's size one input gradient makes (the placeholder, dx). */
    const inputSizedAllocations = () => {
      addon.traceAllocations(true);
      const dx = tf.engine().runKernel('Conv2DBackpropInput', { dy, filter }, attrs) as tf.Tensor;
      const sizes = addon.traceAllocations(false);
      assert.deepEqual(dx.shape, inputShape);
      dx.dispose();
      return sizes.filter((bytes) => bytes === inputBytes).length;
    };
    const primitives = addon.oneDnnPrimitives().on;
    try {
      if (primitives)
        assert.equal(inputSizedAllocations(), 1, 'a oneDNN primitive writes dx, and needs no placeholder');
      addon.setOneDnnPrimitives(false);
      assert.equal(inputSizedAllocations(), 2, 'ATen: the placeholder and dx');
    } finally {
      addon.setOneDnnPrimitives(true);
      tf.dispose([dy, filter]);
    }
  },
);
