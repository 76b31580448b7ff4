/**
 * The wasm training kernels against the cpu backend: every registered kernel gives the cpu backend's result (through
 * tf.grad where it is a gradient) over a grid of shapes, a few training steps of a conv net with BatchNorm reach the
 * same losses on both backends, and a training step leaves no tensors behind.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../src/backend/backend.ts';
import { registerWasmTrainingKernels } from '../src/backend/wasm-kernels/index.ts';
import { LocalStepEngine } from '../src/train/local-step-engine.ts';
import { release, type WasmBackend } from '../src/backend/wasm-kernels/wasm-backend.ts';

await selectBackend('wasm', () => {});

/** Runs `f` on a backend with inputs copied there, returns the results as plain arrays. */
function on(backend: 'cpu' | 'wasm', inputs: tf.Tensor[], f: (...xs: tf.Tensor[]) => tf.Tensor[]): Float32Array[] {
  tf.setBackend(backend);
  try {
    return tf.tidy(() => {
      const local = inputs.map((t) => tf.tensor(t.dataSync(), t.shape, t.dtype));
      return f(...local).map((r) => r.dataSync() as Float32Array);
    });
  } finally {
    tf.setBackend('wasm');
  }
}

/** Max |a - b| relative to the largest |cpu| value (float32 sums of different order differ by ~1e-6 of that). */
function assertClose(actual: Float32Array, expected: Float32Array, what: string, tolerance = 2e-5): void {
  assert.equal(actual.length, expected.length, `${what}: sizes differ`);
  let scale = 1e-6;
  for (const v of expected) scale = Math.max(scale, Math.abs(v));
  let worst = 0;
  for (let i = 0; i < actual.length; i++) worst = Math.max(worst, Math.abs(actual[i] - expected[i]));
  assert.ok(Number.isFinite(worst) && worst <= tolerance * scale, `${what}: max abs error ${worst} (scale ${scale})`);
}

function compare(inputs: tf.Tensor[], f: (...xs: tf.Tensor[]) => tf.Tensor[], what: string, tolerance?: number) {
  const expected = on('cpu', inputs, f);
  const actual = on('wasm', inputs, f);
  expected.forEach((e, i) => assertClose(actual[i], e, `${what} output ${i}`, tolerance));
}

let seed = 1;
const rand = (shape: number[]) => tf.randomNormal(shape, 0, 1, 'float32', seed++);

test('registration names every kernel and is idempotent', () => {
  const names = registerWasmTrainingKernels();
  for (const k of ['Conv2DBackpropFilter', 'Conv2DBackpropInput', 'Tile', 'Sum', 'MaxPoolGrad', 'AvgPoolGrad']) {
    assert.ok(names.includes(k), `${k} missing from ${names.join(', ')}`);
    assert.ok(tf.getKernel(k, 'wasm'), `${k} not registered for wasm`);
  }
  assert.deepEqual(registerWasmTrainingKernels(), names);
  assert.equal(
    tf.getKernel('Conv2DBackpropFilter', 'cpu')?.kernelFunc ===
      tf.getKernel('Conv2DBackpropFilter', 'wasm')?.kernelFunc,
    false,
  );
});

test('conv2d gradients (filter and input) match tf.grad on cpu over a grid of shapes', () => {
  const kernels: [number, number][] = [
    [1, 1],
    [3, 3],
    [1, 3],
    [3, 1],
    [7, 7],
  ];
  // Which kernel size, stride and padding combinations were compared (the 'valid' skip below drops some shapes).
  const covered = new Set<string>();
  for (const batch of [1, 3])
    for (const [h, w] of [
      [5, 5],
      [8, 9],
    ])
      for (const [cin, cout] of [
        [1, 4],
        [3, 5],
      ])
        for (const [kh, kw] of kernels)
          for (const stride of [1, 2])
            for (const pad of ['same', 'valid'] as const) {
              if (pad === 'valid' && (kh > h || kw > w)) continue;
              const x = rand([batch, h, w, cin]);
              const filter = rand([kh, kw, cin, cout]);
              const probe = rand(tf.conv2d(x as tf.Tensor4D, filter as tf.Tensor4D, stride, pad).shape);
              compare(
                [x, filter, probe],
                (xx, ff, pp) => {
                  const loss = (a: tf.Tensor, b: tf.Tensor) =>
                    tf.sum(tf.mul(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, stride, pad), pp));
                  return tf.grads(loss)([xx, ff]);
                },
                `conv ${batch}x${h}x${w}x${cin} -> ${cout}, ${kh}x${kw}/${stride} ${pad}`,
              );
              tf.dispose([x, filter, probe]);
              covered.add(`${kh}x${kw}/${stride} ${pad}`);
            }
  const expected = kernels.flatMap(([kh, kw]) =>
    [1, 2].flatMap((stride) => ['same', 'valid'].map((pad) => `${kh}x${kw}/${stride} ${pad}`)),
  );
  assert.deepEqual([...covered].sort(), expected.sort(), 'every kernel size, stride and padding is compared');
});

test('conv2d gradients at training sizes (batch 64, wide channels, asymmetric stride and strides 2 on odd sizes)', () => {
  const shapes: [number[], number[], [number, number], 'same' | 'valid'][] = [
    [[64, 7, 7, 24], [3, 3, 24, 16], [1, 1], 'same'],
    [[4, 15, 15, 8], [3, 3, 8, 12], [2, 2], 'same'],
    [[4, 15, 14, 8], [3, 3, 8, 12], [2, 2], 'valid'],
    [[2, 12, 12, 6], [3, 1, 6, 6], [2, 1], 'same'],
    [[2, 11, 11, 5], [1, 1, 5, 7], [2, 2], 'valid'],
    [[2, 16, 16, 3], [7, 7, 3, 8], [2, 2], 'same'],
    [[2, 9, 9, 4], [2, 2, 4, 3], [3, 3], 'same'],
  ];
  for (const [xs, fs, stride, pad] of shapes) {
    const x = rand(xs);
    const filter = rand(fs);
    const probe = rand(tf.conv2d(x as tf.Tensor4D, filter as tf.Tensor4D, stride, pad).shape);
    compare(
      [x, filter, probe],
      (xx, ff, pp) =>
        tf.grads((a: tf.Tensor, b: tf.Tensor) =>
          tf.sum(tf.mul(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, stride, pad), pp)),
        )([xx, ff]),
      `conv ${xs} * ${fs} stride ${stride} ${pad}`,
    );
    tf.dispose([x, filter, probe]);
  }
});

test('batch-norm pieces: FusedBatchNorm, its gradient (Tile), Sum and Mean over leading axes', () => {
  for (const shape of [
    [2, 3, 3, 5],
    [16, 14, 14, 24],
  ]) {
    const c = shape[3];
    const x = rand(shape);
    const mean = rand([c]);
    const variance = tf.abs(rand([c]));
    const offset = rand([c]);
    const scale = rand([c]);
    const probe = rand(shape);
    compare(
      [x, mean, variance, offset, scale, probe],
      (xx, m, v, o, s, p) => {
        const y = tf.batchNorm(xx, m, v, o, s, 1e-3);
        const grads = tf.grads((a: tf.Tensor, b: tf.Tensor, d: tf.Tensor, e: tf.Tensor, f: tf.Tensor) =>
          tf.sum(tf.mul(tf.batchNorm(a, b, d, e, f, 1e-3), p)),
        )([xx, m, v, o, s]);
        return [y, tf.batchNorm(xx, m, v), ...grads];
      },
      `batchNorm ${shape}`,
      1e-4,
    );
    compare(
      [x],
      (xx) => [
        tf.sum(xx, [0, 1, 2]),
        tf.mean(xx, [0, 1, 2], true),
        tf.sum(xx, 0),
        tf.mean(xx, [0, 1]),
        tf.sum(xx, [1, 2]),
        tf.tile(tf.reshape(tf.sum(xx, [0, 1, 2]), [1, 1, 1, c]), [shape[0], shape[1], shape[2], 1]),
        tf.tile(xx, [1, 2, 1, 2]),
      ],
      `reductions and tiles of ${shape}`,
      1e-5,
    );
    tf.dispose([x, mean, variance, offset, scale, probe]);
  }
});

test('max-pool, avg-pool, concat and split gradients match cpu', () => {
  const pools: [number[], number, number, 'same' | 'valid'][] = [
    [[3, 14, 14, 6], 3, 2, 'same'],
    [[2, 7, 7, 5], 3, 2, 'same'],
    [[2, 8, 8, 4], 2, 2, 'valid'],
    [[2, 9, 9, 3], 3, 1, 'same'],
    [[2, 10, 9, 4], 3, 3, 'valid'],
    [[2, 11, 11, 3], 5, 2, 'same'],
  ];
  for (const [shape, size, stride, pad] of pools) {
    // Distinct values: ties would make the arg-max depend on the visiting order.
    const x = tf.add(rand(shape), tf.mul(tf.range(0, tf.util.sizeFromShape(shape)).reshape(shape), 1e-3));
    const probe = rand(tf.maxPool(x as tf.Tensor4D, size, stride, pad).shape);
    compare(
      [x, probe],
      (xx, p) => [tf.grad((a: tf.Tensor) => tf.sum(tf.mul(tf.maxPool(a as tf.Tensor4D, size, stride, pad), p)))(xx)],
      `maxPool ${shape} ${size}/${stride} ${pad}`,
    );
    const avgProbe = rand(tf.avgPool(x as tf.Tensor4D, size, stride, pad).shape);
    compare(
      [x, avgProbe],
      (xx, p) => [tf.grad((a: tf.Tensor) => tf.sum(tf.mul(tf.avgPool(a as tf.Tensor4D, size, stride, pad), p)))(xx)],
      `avgPool ${shape} ${size}/${stride} ${pad}`,
    );
    tf.dispose([x, probe, avgProbe]);
  }
  // ReLU outputs: many tied zeros in a window; the gradient goes to the first maximum in row-major order, as on cpu.
  const relu = tf.relu(tf.sub(rand([2, 10, 10, 4]), 0.5));
  const reluProbe = rand([2, 5, 5, 4]);
  compare(
    [relu, reluProbe],
    (xx, p) => [tf.grad((a: tf.Tensor) => tf.sum(tf.mul(tf.maxPool(a as tf.Tensor4D, 3, 2, 'same'), p)))(xx)],
    'maxPool with ties',
  );
  tf.dispose([relu, reluProbe]);
  const a = rand([2, 5, 5, 3]);
  const b = rand([2, 5, 5, 4]);
  const probe = rand([2, 5, 5, 7]);
  for (const axis of [3, -1]) {
    compare(
      [a, b, probe],
      (aa, bb, p) => [
        tf.concat([aa, bb], axis),
        ...tf.grads((u: tf.Tensor, v: tf.Tensor) => tf.sum(tf.mul(tf.concat([u, v], axis), p)))([aa, bb]),
        ...tf.split(p, [2, 5], axis),
      ],
      `concat/split axis ${axis}`,
    );
  }
  compare(
    [a, b],
    (aa, bb) => [tf.concat([aa, bb, aa], 2 - 2 + 3), tf.concat([aa, aa], 1), ...tf.split(aa, 5, 1)],
    'concat/split',
  );
  tf.dispose([a, b, probe]);
});

test('identity shares data: a clone is the same wasm memory (no copy) and survives disposing its source', () => {
  const backend = tf.backend() as unknown as WasmBackend;
  const x = tf.tensor([1, 2, 3, 4], [2, 2]);
  const dataIds = backend.numDataIds();
  const y = tf.clone(x);
  assert.equal(backend.numDataIds(), dataIds, 'the clone allocated its own data: Identity copied');
  assert.equal(backend.typedArrayFromHeap(y).byteOffset, backend.typedArrayFromHeap(x).byteOffset);
  x.dispose();
  assert.equal(backend.numDataIds(), dataIds, "disposing the source freed the clone's data");
  assert.deepEqual(Array.from(y.dataSync()), [1, 2, 3, 4]);
  y.dispose();
  assert.equal(backend.numDataIds(), dataIds - 1);
});

/** Conv net with BatchNorm, a stride-2 conv, a max-pool and a concat (the Inception-BN ingredients). */
function smallConvNet(): tf.LayersModel {
  const init = (s: number) => tf.initializers.glorotUniform({ seed: s });
  const input = tf.input({ shape: [12, 12, 2] });
  const block = (x: tf.SymbolicTensor, filters: number, kernel: number, stride: number, s: number) => {
    const c = tf.layers
      .conv2d({
        filters,
        kernelSize: kernel,
        strides: stride,
        padding: 'same',
        useBias: false,
        kernelInitializer: init(s),
      })
      .apply(x) as tf.SymbolicTensor;
    const b = tf.layers.batchNormalization().apply(c) as tf.SymbolicTensor;
    return tf.layers.reLU().apply(b) as tf.SymbolicTensor;
  };
  const stem = block(input, 8, 3, 1, 1);
  const down = tf.layers
    .concatenate()
    .apply([
      block(stem, 6, 3, 2, 2),
      tf.layers.maxPooling2d({ poolSize: 3, strides: 2, padding: 'same' }).apply(stem) as tf.SymbolicTensor,
    ]) as tf.SymbolicTensor;
  const branch = tf.layers.concatenate().apply([block(down, 4, 1, 1, 3), block(down, 4, 3, 1, 4)]) as tf.SymbolicTensor;
  const pooled = tf.layers.globalAveragePooling2d({}).apply(branch) as tf.SymbolicTensor;
  const logits = tf.layers.dense({ units: 5, kernelInitializer: init(5) }).apply(pooled) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: logits });
}

const RMSPROP = { learningRate: 0.01, decay: 0.9, momentum: 0.9, epsilon: 1, weightDecay: 1e-4 };

async function trainLosses(backend: 'cpu' | 'wasm', weights: Float32Array[], x: tf.Tensor4D, y: tf.Tensor1D) {
  await tf.setBackend(backend);
  const model = smallConvNet();
  model.setWeights(model.getWeights().map((w, i) => tf.tensor(weights[i], w.shape)));
  const engine = new LocalStepEngine(model, RMSPROP);
  const xs = tf.tensor4d(x.dataSync(), x.shape);
  const ys = tf.tensor1d(y.dataSync(), 'float32');
  const losses: number[] = [];
  for (let i = 0; i < 4; i++) losses.push((await engine.step(xs, ys, RMSPROP.learningRate)).loss);
  const final = model.getWeights().map((w) => w.dataSync() as Float32Array);
  await engine.dispose();
  tf.dispose([xs, ys]);
  model.dispose();
  await tf.setBackend('wasm');
  return { losses, final };
}

test('training a conv net with BatchNorm on wasm reaches the losses and weights of the cpu backend', async () => {
  await tf.setBackend('cpu');
  const reference = smallConvNet();
  const weights = reference.getWeights().map((w) => w.dataSync() as Float32Array);
  reference.dispose();
  await tf.setBackend('wasm');
  const x = rand([16, 12, 12, 2]) as tf.Tensor4D;
  const y = tf.tensor1d(
    Array.from({ length: 16 }, (_, i) => (i * 7) % 5),
    'float32',
  );
  const cpu = await trainLosses('cpu', weights, x, y);
  const wasm = await trainLosses('wasm', weights, x, y);
  assert.ok(cpu.losses[3] < cpu.losses[0], `cpu loss did not fall: ${cpu.losses.join(', ')}`);
  cpu.losses.forEach((l, i) =>
    assert.ok(Math.abs(wasm.losses[i] - l) <= 1e-4 * Math.max(1, l), `step ${i}: wasm ${wasm.losses[i]} vs cpu ${l}`),
  );
  cpu.final.forEach((w, i) => assertClose(wasm.final[i], w, `weight ${i} after 4 steps`, 1e-3));
  tf.dispose([x, y]);
});

test('a wasm training step leaves tf.memory().numTensors where it found it', async () => {
  const model = smallConvNet();
  const engine = new LocalStepEngine(model, RMSPROP);
  const x = rand([4, 12, 12, 2]) as tf.Tensor4D;
  const y = tf.tensor1d([0, 1, 2, 3], 'float32');
  await engine.step(x, y, 0.01); // creates the optimizer's slots
  const before = tf.memory().numTensors;
  const backendBefore = tf.backend().numDataIds();
  await engine.step(x, y, 0.01);
  assert.equal(tf.memory().numTensors, before);
  assert.equal(tf.backend().numDataIds(), backendBefore, 'wasm data ids leaked by a kernel');
  await engine.dispose();
  model.dispose();
  tf.dispose([x, y]);
});

test('kernels that move data inside the wasm heap stay correct for tensors above 2 GiB after the heap grows', () => {
  const backend = tf.backend() as unknown as WasmBackend;
  const inputs = [rand([4, 16, 16, 24]), rand([4, 16, 16, 40]), rand([4, 8, 8, 16]), rand([3, 3, 24, 16])];
  inputs.push(rand([1, 1, 1, 24]));
  // Concat and SplitV (with a shared-data clone), the stride-2 input gradient (phases interleaved into dx) and Tile.
  const kernels = (a: tf.Tensor, b: tf.Tensor, dy: tf.Tensor, filter: tf.Tensor, scale: tf.Tensor) => {
    const joined = tf.concat([a, tf.clone(b), a], 3);
    return [
      joined,
      ...tf.split(joined, [24, 40, 24], 3),
      tf.conv2dTranspose(dy as tf.Tensor4D, filter as tf.Tensor4D, [4, 16, 16, 24], 2, 'same'),
      tf.tile(scale, [4, 16, 16, 1]),
    ];
  };
  const expected = on('cpu', inputs, kernels);
  const numTensors = tf.memory().numTensors;
  const numDataIds = backend.numDataIds();
  // Allocated, never written (no pages touched): grows the heap past 2 GiB so that what is allocated next lies at
  // byte offsets >= 2^31, where a signed `offset >> 2` would be negative. The plugs then take every free chunk that
  // earlier tests left below (each output here is larger than a plug), until one comes from the top of the heap.
  const reserved = [backend.makeOutput([2 ** 29 + (1 << 20)], 'float32')];
  const plugBytes = 1 << 16;
  while (backend.typedArrayFromHeap(reserved[reserved.length - 1]).byteOffset < 2 ** 31) {
    assert.ok(reserved.length < 1e5, 'free heap below 2 GiB was not used up by 100000 plugs');
    reserved.push(backend.makeOutput([plugBytes / 4], 'float32'));
  }
  let lowest = Infinity;
  let actual: Float32Array[];
  try {
    actual = tf.tidy(() => {
      const outputs = kernels(...(inputs.map((t) => tf.tensor(t.dataSync(), t.shape)) as Parameters<typeof kernels>));
      for (const t of outputs) lowest = Math.min(lowest, backend.typedArrayFromHeap(t).byteOffset);
      return outputs.map((t) => t.dataSync() as Float32Array);
    });
  } finally {
    release(backend, ...reserved);
  }
  assert.ok(lowest >= 2 ** 31, `outputs were not placed above 2 GiB (lowest byte offset ${lowest})`);
  expected.forEach((e, i) => assertClose(actual[i], e, `above 2 GiB: output ${i}`));
  assert.equal(tf.memory().numTensors, numTensors);
  assert.equal(backend.numDataIds(), numDataIds);
  tf.dispose(inputs);
});
