/** Every torch kernel against the cpu backend over a grid of shapes and attributes (skips without the addon). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import type { NativeOpArguments } from '../src/backend/torch/native-ops.ts';
import type { TorchBackend } from '../src/backend/torch/torch-backend.ts';
import {
  SKIP_REASON,
  assertClose,
  matchesCpu,
  randomTensor as r,
  registerTorch,
  runOn,
  torchBuilt,
} from './torch-fixtures.ts';

const built = torchBuilt();
if (built) await registerTorch();
const opts = built ? {} : { skip: SKIP_REASON };

const ints = (shape: number[], values: number[]) => tf.tensor(values, shape, 'int32');

test('unary element-wise kernels, activations and casts', opts, async () => {
  const x = () =>
    tf.concat(
      [r([2, 3, 4, 5], 1, 3), tf.tensor1d([0, -0, NaN, Infinity, -Infinity]).reshape([1, 1, 1, 5]).tile([2, 3, 1, 1])],
      2,
    );
  const pos = () => tf.abs(x()).add(0.1);
  const cases: Record<string, () => tf.Tensor> = {
    neg: () => tf.neg(x()),
    abs: () => tf.abs(x()),
    exp: () => tf.exp(r([3, 5], 2, 3)),
    expm1: () => tf.expm1(r([3, 5], 2)),
    log: () => tf.log(pos()),
    log1p: () => tf.log1p(pos()),
    sqrt: () => tf.sqrt(pos()),
    rsqrt: () => tf.rsqrt(pos()),
    square: () => tf.square(x()),
    reciprocal: () => tf.reciprocal(pos()),
    relu: () => tf.relu(x()),
    relu6: () => tf.relu6(r([4, 5], 3, 10)),
    sigmoid: () => tf.sigmoid(r([4, 5], 3, 10)),
    tanh: () => tf.tanh(r([4, 5], 3, 4)),
    softplus: () => tf.softplus(r([4, 5], 3, 30)),
    elu: () => tf.elu(r([4, 5], 3, 4)),
    selu: () => tf.selu(r([4, 5], 3, 4)),
    erf: () => tf.erf(r([4, 5], 3, 2)),
    sinCos: () => tf.sin(r([4, 5], 3, 4)).add(tf.cos(r([4, 5], 4, 4))),
    floorCeilRound: () =>
      tf.stack(
        [tf.floor(x()), tf.ceil(x()), tf.round(tf.tensor1d([0.5, 1.5, 2.5, -0.5, -1.5]))].map((t) =>
          t.reshape([-1]).slice(0, 5),
        ),
      ),
    sign: () => tf.sign(x()),
    isFinite: () => tf.isFinite(x()),
    isNaN: () => tf.isNaN(x()),
    isInf: () => tf.isInf(x()),
    step: () => tf.step(x()),
    stepAlpha: () => tf.step(x(), 0.3),
    leakyRelu: () => tf.leakyRelu(x(), 0.1),
    prelu: () => tf.prelu(r([2, 3, 5], 5), r([5], 6)),
    clip: () => tf.clipByValue(r([4, 5], 7, 3), -1, 0.5),
    castInt: () => tf.cast(r([4, 5], 8, 10), 'int32'),
    castBool: () => tf.cast(tf.tensor1d([0, 1, -2, 0.5, 0]), 'bool'),
    castFromInt: () => tf.cast(ints([2, 2], [1, -2, 3, 0]), 'float32'),
    castFromBool: () => tf.cast(tf.tensor1d([true, false, true], 'bool'), 'int32'),
    logicalNot: () => tf.logicalNot(tf.tensor1d([true, false], 'bool')),
    zerosOnesLike: () => tf.zerosLike(x()).add(tf.onesLike(x())),
    intUnary: () =>
      tf.stack([tf.neg(ints([3], [1, -2, 3])), tf.abs(ints([3], [1, -2, 3])), tf.square(ints([3], [1, -2, 3]))]),
  };
  for (const [name, compute] of Object.entries(cases)) await matchesCpu(name, compute);
});

test('broadcasting binary kernels, comparisons, select and AddN', opts, async () => {
  const shapes: [number[], number[]][] = [
    [
      [2, 3, 4],
      [2, 3, 4],
    ],
    [[2, 3, 4], [4]],
    [
      [2, 1, 4],
      [3, 1],
    ],
    [[5], []],
  ];
  const ops: Record<string, (a: tf.Tensor, b: tf.Tensor) => tf.Tensor> = {
    add: tf.add,
    sub: tf.sub,
    mul: tf.mul,
    div: tf.div,
    floorDiv: tf.floorDiv,
    mod: tf.mod,
    maximum: tf.maximum,
    minimum: tf.minimum,
    pow: (a, b) => tf.pow(tf.abs(a).add(0.1), b),
    squaredDifference: tf.squaredDifference,
    atan2: tf.atan2,
    equal: (a, b) => tf.equal(tf.round(a), tf.round(b)),
    notEqual: (a, b) => tf.notEqual(tf.round(a), tf.round(b)),
    greater: tf.greater,
    greaterEqual: tf.greaterEqual,
    less: tf.less,
    lessEqual: tf.lessEqual,
    logicalAnd: (a, b) => tf.logicalAnd(tf.greater(a, 0), tf.greater(b, 0)),
    logicalOr: (a, b) => tf.logicalOr(tf.greater(a, 0), tf.greater(b, 0)),
    where: (a, b) =>
      tf.where(
        tf.greater(a, b),
        a,
        tf.broadcastTo(b, tf.broadcast_util.assertAndGetBroadcastShape(a.shape, b.shape)).mul(2).add(tf.zerosLike(a)),
      ),
  };
  for (const [sa, sb] of shapes) {
    for (const [name, op] of Object.entries(ops)) {
      await matchesCpu(`${name} ${sa} ${sb}`, () => op(r(sa, 11, 3), r(sb, 12, 3)));
    }
  }
  await matchesCpu('int32 arithmetic', () => {
    const a = ints([2, 3], [7, -7, 5, 0, 9, -3]);
    const b = ints([3], [2, 3, -4]);
    return [
      tf.add(a, b),
      tf.mul(a, b),
      tf.sub(a, b),
      tf.floorDiv(a, b),
      tf.mod(a, b),
      tf.maximum(a, b),
      tf.equal(a, b),
    ];
  });
  await matchesCpu('addN', () => tf.addN([r([2, 3], 15), r([2, 3], 16), r([2, 3], 17)]));
});

test(
  'shape kernels: reshape, transpose, slices, concat, stack, split, tile, pads, gather, reverse, fill, range, oneHot',
  opts,
  async () => {
    const x = () => r([2, 3, 4, 5], 21);
    const cases: Record<string, () => tf.Tensor | tf.Tensor[]> = {
      reshape: () => tf.reshape(x(), [6, -1]),
      transpose: () => tf.transpose(x(), [0, 3, 1, 2]),
      slice: () => tf.slice(x(), [1, 0, 1, 2], [1, -1, 2, 3]),
      stridedSlice: () => tf.stridedSlice(x(), [0, 1, 0, 1], [2, 3, 4, 5], [1, 1, 2, 2]),
      stridedSliceShrink: () => tf.stridedSlice(x(), [1, 0], [2, 3], [1, 1], 0, 0, 0, 0, 1),
      concat0: () => tf.concat([x(), r([1, 3, 4, 5], 22)], 0),
      concatLast: () => tf.concat([x(), r([2, 3, 4, 2], 23), r([2, 3, 4, 1], 24)], -1),
      concatBool: () => tf.concat([tf.tensor1d([true], 'bool'), tf.tensor1d([false, true], 'bool')]),
      stack: () => tf.stack([r([3, 4], 25), r([3, 4], 26)], 1),
      unstack: () => tf.unstack(x(), 2),
      splitSizes: () => tf.split(x(), [1, 3, 1], 3),
      splitEven: () => tf.split(x(), 2, 0),
      tile: () => tf.tile(r([2, 3], 27), [2, 3]),
      pad: () =>
        tf.pad(
          r([2, 3], 28),
          [
            [1, 0],
            [2, 3],
          ],
          1.5,
        ),
      mirrorReflect: () =>
        tf.mirrorPad(
          r([3, 4], 29),
          [
            [1, 2],
            [2, 1],
          ],
          'reflect',
        ),
      mirrorSymmetric: () =>
        tf.mirrorPad(
          r([3, 4], 29),
          [
            [2, 1],
            [1, 3],
          ],
          'symmetric',
        ),
      gather0: () => tf.gather(x(), tf.tensor1d([1, 0, 1], 'int32'), 0),
      gather2: () =>
        tf.gather(
          x(),
          tf.tensor2d(
            [
              [3, 0],
              [1, 1],
            ],
            [2, 2],
            'int32',
          ),
          2,
        ),
      gatherInt: () => tf.gather(ints([4], [5, 6, 7, 8]), tf.tensor1d([3, 0], 'int32')),
      reverse: () => tf.reverse(x(), [1, 3]),
      fill: () => [tf.fill([2, 3], 2.5), tf.fill([3], 4, 'int32')],
      range: () => [tf.range(0, 10, 3), tf.range(5, -3, -2, 'int32'), tf.range(2, 2)],
      oneHot: () => tf.oneHot(tf.tensor1d([0, 3, -1, 2], 'int32'), 4, 5, -1),
      resizeNearest: () => tf.image.resizeNearestNeighbor(r([1, 5, 7, 2], 30) as tf.Tensor4D, [3, 9]),
      resizeNearestAligned: () => tf.image.resizeNearestNeighbor(r([2, 4, 4, 1], 31) as tf.Tensor4D, [7, 5], true),
      resizeNearestHalfPixel: () =>
        tf.image.resizeNearestNeighbor(r([1, 5, 3, 2], 32) as tf.Tensor4D, [2, 6], false, true),
    };
    for (const [name, compute] of Object.entries(cases)) await matchesCpu(name, compute);
  },
);

test('reductions, arg-max/min and softmax over axes', opts, async () => {
  const axes: (number | number[] | undefined)[] = [undefined, 0, -1, [0, 2], [1, 2, 3]];
  for (const axis of axes) {
    for (const keepDims of [false, true]) {
      const x = () => r([2, 3, 4, 5], 41, 2);
      await matchesCpu(`reduce ${axis} ${keepDims}`, () => [
        tf.sum(x(), axis, keepDims),
        tf.mean(x(), axis, keepDims),
        tf.max(x(), axis, keepDims),
        tf.min(x(), axis, keepDims),
        tf.prod(x(), axis, keepDims),
        tf.all(tf.greater(x(), -1.5), axis, keepDims),
        tf.any(tf.greater(x(), 1.5), axis, keepDims),
        tf.sum(tf.greater(x(), 0), axis, keepDims),
        tf.sum(tf.cast(tf.greater(x(), 0), 'int32'), axis, keepDims),
      ]);
    }
  }
  await matchesCpu('argMax/argMin', () => [
    tf.argMax(r([4, 6], 42), 1),
    tf.argMin(r([4, 6], 43), 0),
    tf.argMax(tf.tensor1d([1, 3, 3, 2])),
  ]);
  await matchesCpu('softmax', () => [tf.softmax(r([3, 7], 44, 5)), tf.logSoftmax(r([2, 3, 4], 45, 5))]);
  await matchesCpu('scalar sum', () => tf.sum(tf.scalar(3)));
});

test('matMul: transposes, batches, fused bias and activations', opts, async () => {
  for (const [ta, tb] of [
    [false, false],
    [true, false],
    [false, true],
    [true, true],
  ] as const) {
    await matchesCpu(`matMul ${ta} ${tb}`, () =>
      tf.matMul(r(ta ? [5, 3] : [3, 5], 51), r(tb ? [4, 5] : [5, 4], 52), ta, tb),
    );
  }
  await matchesCpu('batched matMul', () => tf.matMul(r([2, 3, 5], 53), r([2, 5, 4], 54)));
  for (const activation of ['linear', 'relu', 'relu6', 'sigmoid', 'elu', 'leakyrelu'] as const) {
    await matchesCpu(`fused matMul ${activation}`, () =>
      tf.fused.matMul({ a: r([3, 5], 55), b: r([5, 4], 56, 2), bias: r([4], 57), activation, leakyreluAlpha: 0.3 }),
    );
  }
  await matchesCpu('matMul gradients', () =>
    tf.grads((a: tf.Tensor, b: tf.Tensor) =>
      tf
        .matMul(a, b)
        .mul(r([3, 4], 58))
        .sum(),
    )([r([3, 5], 59), r([5, 4], 60)]),
  );
});

interface ConvCase {
  size: [number, number];
  kernel: [number, number];
  stride: number;
  pad: 'same' | 'valid';
  dilation: number;
}

function convCases(): ConvCase[] {
  const cases: ConvCase[] = [];
  for (const size of [
    [7, 7],
    [8, 6],
  ] as [number, number][])
    for (const kernel of [
      [1, 1],
      [3, 3],
      [1, 3],
      [3, 1],
      [5, 5],
    ] as [number, number][])
      for (const stride of [1, 2])
        for (const pad of ['same', 'valid'] as const) cases.push({ size, kernel, stride, pad, dilation: 1 });
  cases.push({ size: [9, 9], kernel: [3, 3], stride: 1, pad: 'same', dilation: 2 });
  cases.push({ size: [9, 8], kernel: [3, 3], stride: 1, pad: 'valid', dilation: 2 });
  return cases;
}

test('conv2d forward and both gradients over kernel sizes, strides, paddings and dilations', opts, async () => {
  for (const c of convCases()) {
    const label = `conv ${JSON.stringify(c)}`;
    await matchesCpu(label, () => {
      const x = r([2, ...c.size, 3], 61);
      const w = r([...c.kernel, 3, 4], 62);
      const conv = (xx: tf.Tensor, ww: tf.Tensor) =>
        tf.conv2d(xx as tf.Tensor4D, ww as tf.Tensor4D, c.stride, c.pad, 'NHWC', c.dilation);
      const y = conv(x, w);
      if (c.dilation > 1) return [y]; // TensorFlow.js has no conv2d gradient with dilations
      const dy = r(y.shape, 63);
      const [dx, dw] = tf.grads((xx: tf.Tensor, ww: tf.Tensor) => conv(xx, ww).mul(dy).sum())([x, w]);
      return [y, dx!, dw!];
    });
  }
  await matchesCpu('fused conv2d with bias and relu', () =>
    tf.fused.conv2d({
      x: r([2, 6, 6, 3], 64) as tf.Tensor4D,
      filter: r([3, 3, 3, 5], 65) as tf.Tensor4D,
      strides: 2,
      pad: 'same',
      bias: r([5], 66),
      activation: 'relu',
    }),
  );
});

test('depthwise conv2d forward and gradients', opts, async () => {
  for (const [multiplier, stride, pad] of [
    [1, 1, 'same'],
    [2, 2, 'same'],
    [1, 2, 'valid'],
  ] as const) {
    await matchesCpu(`depthwise ${multiplier} ${stride} ${pad}`, () => {
      const x = r([2, 7, 6, 3], 71);
      const w = r([3, 3, 3, multiplier], 72);
      const conv = (xx: tf.Tensor, ww: tf.Tensor) =>
        tf.depthwiseConv2d(xx as tf.Tensor4D, ww as tf.Tensor4D, stride, pad);
      const y = conv(x, w);
      const dy = r(y.shape, 73);
      const [dx, dw] = tf.grads((xx: tf.Tensor, ww: tf.Tensor) => conv(xx, ww).mul(dy).sum())([x, w]);
      return [y, dx!, dw!];
    });
  }
});

test('max and average pooling forward and gradients', opts, async () => {
  for (const size of [7, 8])
    for (const filter of [2, 3])
      for (const stride of [1, 2])
        for (const pad of ['same', 'valid'] as const) {
          await matchesCpu(`pool ${size} ${filter} ${stride} ${pad}`, () => {
            const x = r([2, size, size + 1, 3], 81 + size);
            const max = (t: tf.Tensor) => tf.maxPool(t as tf.Tensor4D, filter, stride, pad);
            const avg = (t: tf.Tensor) => tf.avgPool(t as tf.Tensor4D, filter, stride, pad);
            const dyMax = r(max(x).shape, 91);
            const dyAvg = r(avg(x).shape, 92);
            return [
              max(x),
              avg(x),
              tf.grad((t: tf.Tensor) => max(t).mul(dyMax).sum())(x),
              tf.grad((t: tf.Tensor) => avg(t).mul(dyAvg).sum())(x),
            ];
          });
        }
});

test('batch normalization (inference form) with and without scale and offset, 2-D and 4-D', opts, async () => {
  for (const shape of [
    [6, 4],
    [2, 3, 3, 4],
  ]) {
    await matchesCpu(`batchNorm ${shape}`, () => {
      const x = r(shape, 101, 3);
      const mean = r([4], 102);
      const variance = tf.abs(r([4], 103)).add(0.1);
      return [
        tf.batchNorm(x, mean, variance, r([4], 104), r([4], 105), 1e-3),
        tf.batchNorm(x, mean, variance, undefined, undefined, 1e-3),
      ];
    });
  }
});

/** The fused BatchNorm-training forward written with TensorFlow.js ops: tf.moments + tf.batchNorm. */
function batchNormTraining(x: tf.Tensor, scale: tf.Tensor, offset: tf.Tensor, epsilon: number): tf.Tensor[] {
  const axes = x.shape.map((_, i) => i).slice(0, -1);
  const { mean, variance } = tf.moments(x, axes);
  return [tf.batchNorm(x, mean, variance, offset, scale, epsilon), mean, variance];
}

test(
  'Net2NetBatchNormTraining and its gradient equal the tf.moments + tf.batchNorm composite on cpu',
  opts,
  async () => {
    // [shape, spread, shift]: the last case has |mean| >> std.
    const cases: [number[], number, number][] = [
      [[4, 5, 3, 6], 2, 0.5],
      [[16, 6], 2, 0.5],
      [[2, 7, 7, 3], 2, 0.5],
      [[8, 2, 2, 6], 0.1, 30],
    ];
    for (const [shape, spread, shift] of cases) {
      const channels = shape[shape.length - 1]!;
      const epsilon = 1e-3;
      const inputs = () => ({
        x: r(shape, 111, spread).add(shift),
        scale: r([channels], 112).add(1),
        offset: r([channels], 113),
      });
      const dyOf = (s: number[]) => r(s, 114);
      const expected = await runOn('cpu', () => {
        const { x, scale, offset } = inputs();
        const forward = batchNormTraining(x, scale, offset, epsilon);
        const dy = dyOf(shape);
        const grads = tf.grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) =>
          batchNormTraining(a, b, c, epsilon)[0]!.mul(dy).sum(),
        )([x, scale, offset]);
        return [...forward, ...grads];
      });
      const actual = await runOn('torch', () => {
        const { x, scale, offset } = inputs();
        const forward = tf
          .engine()
          .runKernel('Net2NetBatchNormTraining', { x, scale, offset }, { epsilon }) as tf.Tensor[];
        const [, mean, variance] = forward;
        const grads = tf
          .engine()
          .runKernel(
            'Net2NetBatchNormTrainingGrad',
            { dy: dyOf(shape), x, scale, mean: mean!, variance: variance! },
            { epsilon },
          ) as tf.Tensor[];
        return [...forward, ...grads];
      });
      assertClose(actual, expected, `batch norm training ${shape}`, 2e-4);
    }
  },
);

test('Net2NetRMSPropUpdate follows TensorFlow.js RMSProp (non-centered) on cpu', opts, async () => {
  const attrs = { learningRate: 0.01, decay: 0.9, momentum: 0.9, epsilon: 1e-3 };
  const state = () => ({
    value: r([3, 4], 121),
    ms: tf.abs(r([3, 4], 122)),
    mom: r([3, 4], 123),
    gradient: r([3, 4], 124),
  });
  const expected = await runOn('cpu', () => {
    const { value, ms, mom, gradient } = state();
    const ms2 = tf.add(tf.mul(ms, attrs.decay), tf.mul(tf.square(gradient), 1 - attrs.decay));
    const mom2 = tf.add(
      tf.mul(mom, attrs.momentum),
      tf.div(tf.mul(gradient, attrs.learningRate), tf.sqrt(tf.add(ms2, attrs.epsilon))),
    );
    return [tf.sub(value, mom2), ms2, mom2];
  });
  const actual = await runOn(
    'torch',
    () => tf.engine().runKernel('Net2NetRMSPropUpdate', state(), attrs) as tf.Tensor[],
  );
  assertClose(actual, expected, 'rmsprop update', 1e-5);
});

test('a kernel without a torch implementation fails with an error naming it and the dtype', opts, async () => {
  await tf.setBackend('torch');
  const x = tf.zeros([1, 3, 3, 1], 'int32');
  assert.throws(
    () => tf.engine().runKernel('Conv2D', { x, filter: tf.zeros([1, 1, 1, 1], 'int32') }, { strides: 1, pad: 'same' }),
    /int32 implementation of kernel 'Conv2D'/,
  );
  assert.throws(() => tf.cumsum(tf.ones([3])), /Cumsum/);
});

test('a native error names the op and the kernel that ran it', opts, async () => {
  await tf.setBackend('torch');
  const x = tf.zeros([1, 4, 4, 3]);
  const filter = tf.zeros([3, 3, 2, 4]);
  assert.throws(
    () =>
      tf.engine().runKernel('Conv2D', { x, filter }, { strides: 1, pad: 'valid', dataFormat: 'NHWC', dilations: 1 }),
    /^Error: torch kernel 'Conv2D': op 'conv2d': .*channels/,
  );
  tf.dispose([x, filter]);
});

test('the addon reads each argument by its declared kind and names the one that is wrong', opts, async () => {
  await tf.setBackend('torch');
  const backend = tf.backend() as TorchBackend;
  const x = tf.zeros([2]);
  const args = { x, min: 0, max: 'one' } as unknown as NativeOpArguments['clip'];
  assert.throws(() => backend.run('clip', args), /op 'clip': argument 'max' must be a number/);
  tf.dispose(x);
});
