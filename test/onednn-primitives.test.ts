/**
 * The torch addon's own CPU fast paths below ATen: convolutions as oneDNN primitives made once per shape
 * (native/torch-backend/onednn-conv.cc), bit for bit what ATen's call computes on the same oneDNN, forward and both
 * gradients, float32 and bfloat16, every padding kind; and the caching allocator of CPU tensor memory
 * (native/torch-backend/cpu-block-cache.cc).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as tf from '@tensorflow/tfjs';
import { addonPath, loadTorchAddon } from '../src/backend/torch/addon.ts';
import { SKIP_REASON, randomTensor as r, registerTorch, runOn, torchBuilt, type Snapshot } from './torch-fixtures.ts';

const built = torchBuilt();
const opts = built ? {} : { skip: SKIP_REASON };
if (built) await registerTorch();

interface ConvCase {
  x: [number, number, number, number];
  filter: [number, number, number, number];
  strides: 1 | 2;
  pad: 'same' | 'valid';
  dilations?: 1 | 2;
}

const CASES: Record<string, ConvCase> = {
  '3x3 same': { x: [1, 9, 9, 5], filter: [3, 3, 5, 6], strides: 1, pad: 'same' },
  '3x3 stride 2 same (padding asymmetric)': { x: [2, 9, 9, 5], filter: [3, 3, 5, 6], strides: 2, pad: 'same' },
  '1x1 valid, batch 3': { x: [3, 7, 7, 8], filter: [1, 1, 8, 4], strides: 1, pad: 'valid' },
  '5x5 stride 2 valid': { x: [1, 11, 11, 3], filter: [5, 5, 3, 7], strides: 2, pad: 'valid' },
  '3x3 dilated 2 same': { x: [2, 9, 9, 4], filter: [3, 3, 4, 4], strides: 1, pad: 'same', dilations: 2 },
  '1x7 same': { x: [1, 8, 8, 6], filter: [1, 7, 6, 5], strides: 1, pad: 'same' },
};

/** The convolution, a fused one with bias and ReLU, and (undilated) the gradients for input and filter. */
function convolutionAndGradients(c: ConvCase): tf.Tensor[] {
  const x = tf.mul(r(c.x, 1), 2) as tf.Tensor4D;
  const filter = r(c.filter, 2) as tf.Tensor4D;
  const bias = r([c.filter[3]], 3) as tf.Tensor1D;
  const dilations = c.dilations ?? 1;
  const conv = (a: tf.Tensor, b: tf.Tensor) =>
    tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.strides, c.pad, 'NHWC', dilations);
  const y = conv(x, filter);
  const dy = r(y.shape, 4);
  const fused = tf.fused.conv2d({ x, filter, strides: c.strides, pad: c.pad, dilations, bias, activation: 'relu' });
  // TensorFlow.js has no gradients of a dilated convolution.
  if (dilations > 1) return [y, fused];
  return [y, fused, ...tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(conv(a, b), dy)))([x, filter])];
}

async function onTorchWith(primitives: boolean, precision: 'fp32' | 'bf16', c: ConvCase): Promise<Snapshot[]> {
  const addon = loadTorchAddon();
  assert.equal(addon.setOneDnnPrimitives(primitives), primitives);
  addon.setPrecision(precision);
  try {
    return await runOn('torch', () => convolutionAndGradients(c));
  } finally {
    addon.setPrecision('fp32');
    addon.setOneDnnPrimitives(true);
    await tf.setBackend('cpu');
  }
}

test('this build runs convolutions as its own oneDNN primitives (Debian libtorch with libdnnl-dev)', opts, () => {
  const state = loadTorchAddon().oneDnnPrimitives();
  // CI installs libdnnl-dev; a machine without it builds the addon without the primitives.
  if (process.env.CI) assert.deepEqual(state, { built: true, on: true });
  else assert.equal(state.on, state.built);
});

test('oneDNN primitives compute convolutions and both gradients bit for bit as ATen does', opts, async (t) => {
  if (!loadTorchAddon().oneDnnPrimitives().built) return t.skip('built without oneDNN primitives');
  const bf16 = loadTorchAddon().precisionSupport().bf16;
  for (const [name, c] of Object.entries(CASES)) {
    for (const precision of bf16 ? (['fp32', 'bf16'] as const) : (['fp32'] as const)) {
      const ours = await onTorchWith(true, precision, c);
      const aten = await onTorchWith(false, precision, c);
      for (let i = 0; i < ours.length; i++) {
        assert.deepEqual(ours[i].shape, aten[i].shape, `${name} ${precision} output ${i}`);
        assert.ok(
          ours[i].values.some((v) => v !== 0),
          `${name} ${precision} output ${i} is not all zero`,
        );
        assert.deepEqual(ours[i].values, aten[i].values, `${name} ${precision} output ${i}: bit for bit`);
      }
    }
  }
});

test('a convolution whose operands do not fit is an error that names the shapes', opts, async (t) => {
  if (!loadTorchAddon().oneDnnPrimitives().on) return t.skip('built without oneDNN primitives');
  await tf.setBackend('torch');
  const run = (x: tf.Tensor, filter: tf.Tensor) =>
    tf.engine().runKernel('Conv2D', { x, filter }, { strides: 1, pad: 'valid', dataFormat: 'NHWC', dilations: 1 });
  const x = tf.zeros([1, 2, 2, 3]);
  try {
    assert.throws(() => run(x, tf.zeros([3, 3, 2, 4])), /input \[1, 3, 2, 2\] \(NCHW\) has 3 channels.*expects 2/);
    assert.throws(() => run(x, tf.zeros([3, 3, 3, 4])), /smaller than the filter \[4, 3, 3, 3\]/);
  } finally {
    x.dispose();
    await tf.setBackend('cpu');
  }
});

test('the CPU block cache hands freed blocks out again and frees them on request', opts, async () => {
  const addon = loadTorchAddon();
  await tf.setBackend('torch');
  try {
    const before = addon.cpuBlockCache();
    assert.equal(before.limitBytes, 1024 * 1024 * 1024, 'NET2NET_TORCH_CPU_CACHE_MB defaults to 1024');
    const round = () => tf.tidy(() => tf.relu(tf.add(r([64, 64], 5), 1)).dataSync());
    round();
    const warm = addon.cpuBlockCache();
    for (let i = 0; i < 5; i++) round();
    const after = addon.cpuBlockCache();
    assert.ok(after.hits - warm.hits >= 10, `repeated sizes are served from kept blocks (${after.hits - warm.hits})`);
    assert.equal(after.misses, warm.misses, 'no new allocation once the sizes have been seen');
    assert.equal(after.liveBytes, warm.liveBytes, 'every block handed out came back');
    assert.ok(after.cachedBytes > 0 && after.cachedBytes <= after.limitBytes);
    addon.emptyCpuBlockCache();
    assert.equal(addon.cpuBlockCache().cachedBytes, 0);
  } finally {
    await tf.setBackend('cpu');
  }
});

/** The cache's counters after one op in a fresh process with NET2NET_TORCH_CPU_CACHE_MB=value, or its error. */
function cacheAtLoad(value: string) {
  const script = `const a = require(${JSON.stringify(addonPath())}); process.stdout.write(JSON.stringify(a.cpuBlockCache()))`;
  return spawnSync(process.execPath, ['-e', script], {
    encoding: 'utf8',
    env: { ...process.env, NET2NET_TORCH_CPU_CACHE_MB: value, OMP_WAIT_POLICY: 'PASSIVE' },
  });
}

test('NET2NET_TORCH_CPU_CACHE_MB sets the cache limit, 0 turns it off, a bad value names the variable', opts, () => {
  assert.equal(JSON.parse(cacheAtLoad('8').stdout).limitBytes, 8 * 1024 * 1024);
  assert.deepEqual(JSON.parse(cacheAtLoad('0').stdout), {
    limitBytes: 0,
    cachedBytes: 0,
    liveBytes: 0,
    hits: 0,
    misses: 0,
  });
  const bad = cacheAtLoad('lots');
  assert.notEqual(bad.status, 0);
  assert.match(bad.stderr, /NET2NET_TORCH_CPU_CACHE_MB must be a number of MiB >= 0, not 'lots'/);
});
