/**
 * Training on torch: both Inception-BN families step like wasm, 200 steps leave no tensors or bytes behind, the
 * deeper student steps at batch 64 (over wasm's heap cap), and the same seed gives the same curve (skips without the
 * addon, fails in CI without it).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../src/backend/backend.ts';
import { buildModel, type ModelName, type ModelOptions } from '../src/models/registry.ts';
import { LocalStepEngine } from '../src/train/local-step-engine.ts';
import type { RmsPropConfig } from '../src/train/step-engine.ts';
import { SKIP_REASON, registerTorch, torchBuilt, values } from './torch-fixtures.ts';

const built = torchBuilt();
if (built) {
  await selectBackend('wasm', () => {});
  await registerTorch();
}
const opts = built ? {} : { skip: SKIP_REASON };
const RMSPROP: RmsPropConfig = { learningRate: 0.01, decay: 0.9, momentum: 0.9, epsilon: 1, weightDecay: 4e-5 };
/**
 * For comparing trajectories: at rate 0.01 these small, thin networks amplify float32 rounding ~200x per step (BN over
 * few values), so after 4 steps cpu, wasm and torch all differ from each other by ~2% (measured: inception-bn 64x64
 * width 0.1, all-weights relative L2 cpu-wasm 2.6e-2, torch-cpu 2.6e-2); at 1e-4 they agree to ~4e-8.
 */
const COMPARE: RmsPropConfig = { ...RMSPROP, learningRate: 1e-4 };

function batch(shape: [number, number, number], n: number, seed: number): { x: tf.Tensor4D; y: tf.Tensor1D } {
  const size = n * shape[0] * shape[1] * shape[2];
  const labels = Array.from({ length: n }, (_, i) => (i * 7 + seed) % 10);
  return { x: tf.tensor4d(values(size, seed), [n, ...shape]), y: tf.tensor1d(labels, 'int32') };
}

interface Trained {
  losses: number[];
  weights: Float32Array[];
}

async function train(
  backend: string,
  name: ModelName,
  options: ModelOptions,
  steps: number,
  n: number,
  config = COMPARE,
): Promise<Trained> {
  await tf.setBackend(backend);
  const model = buildModel(name, options);
  const engine = new LocalStepEngine(model, config);
  const losses: number[] = [];
  for (let step = 0; step < steps; step++) {
    const { x, y } = batch(options.inputShape!, n, step + 1);
    losses.push((await engine.step(x, y, config.learningRate)).loss);
    tf.dispose([x, y]);
  }
  const weights = model.weights.map((w) => w.read().dataSync() as Float32Array);
  await engine.dispose();
  model.dispose();
  return { losses, weights };
}

/** Relative L2 difference of all weights together, and the largest element difference over the largest weight. */
function weightDifferences(a: Float32Array[], b: Float32Array[]): { l2: number; maxAbs: number } {
  let diff2 = 0;
  let norm2 = 0;
  let maxDiff = 0;
  let maxWeight = 0;
  a.forEach((wa, k) => {
    const wb = b[k]!;
    for (let i = 0; i < wa.length; i++) {
      const d = wa[i]! - wb[i]!;
      diff2 += d * d;
      norm2 += wb[i]! * wb[i]!;
      maxDiff = Math.max(maxDiff, Math.abs(d));
      maxWeight = Math.max(maxWeight, Math.abs(wb[i]!));
    }
  });
  return { l2: Math.sqrt(diff2 / norm2), maxAbs: maxDiff / maxWeight };
}

const FAMILIES: [ModelName, ModelOptions][] = [
  ['inception-bn-small', { inputShape: [28, 28, 1], width: 0.25, seed: 3 }],
  ['inception-bn', { inputShape: [64, 64, 3], width: 0.1, seed: 3, classes: 10 }],
];

for (const [name, options] of FAMILIES) {
  test(`${name}: 4 RMSProp steps on torch equal wasm within 1e-4`, opts, async () => {
    const wasm = await train('wasm', name, options, 4, 8);
    const torch = await train('torch', name, options, 4, 8);
    torch.losses.forEach((loss, i) => {
      const want = wasm.losses[i]!;
      assert.ok(Math.abs(loss - want) <= 1e-4 * Math.abs(want), `loss ${i}: torch ${loss}, wasm ${want}`);
    });
    assert.equal(torch.weights.length, wasm.weights.length);
    const { l2, maxAbs } = weightDifferences(torch.weights, wasm.weights);
    assert.ok(l2 <= 1e-4 && maxAbs <= 1e-4, `weights differ: relative L2 ${l2}, max element ${maxAbs}`);
  });
}

test('200 training steps leave the tensor count and the backend bytes unchanged', opts, async () => {
  await tf.setBackend('torch');
  const model = buildModel('inception-bn-small', { inputShape: [8, 8, 1], width: 0.05, seed: 5 });
  const engine = new LocalStepEngine(model, RMSPROP);
  const { x, y } = batch([8, 8, 1], 4, 1);
  await engine.step(x, y, 0.01);
  const before = tf.memory() as tf.MemoryInfo & { numBytesInTorch: number; nativeTensors: number };
  for (let i = 0; i < 200; i++) await engine.step(x, y, 0.01);
  const after = tf.memory() as typeof before;
  assert.equal(after.numTensors, before.numTensors);
  assert.equal(after.numBytesInTorch, before.numBytesInTorch);
  assert.equal(after.nativeTensors, before.nativeTensors);
  tf.dispose([x, y]);
  await engine.dispose();
  model.dispose();
  assert.equal((tf.memory() as typeof before).nativeTensors, tf.engine().backend.numDataIds());
});

test('the deeper student (factorized, 2 extra pairs, width 1) trains a step at batch 64', opts, async () => {
  await tf.setBackend('torch');
  const shape: [number, number, number] = [28, 28, 1];
  const model = buildModel('inception-bn-small', {
    inputShape: shape,
    width: 1,
    factorized: true,
    extraPairs: 2,
    seed: 6,
  });
  const engine = new LocalStepEngine(model, RMSPROP);
  const { x, y } = batch(shape, 64, 2);
  const result = await engine.step(x, y, 0.01);
  assert.ok(Number.isFinite(result.loss) && result.loss > 0, `loss ${result.loss}`);
  tf.dispose([x, y]);
  await engine.dispose();
  model.dispose();
});

test('the same seed and thread count give the same curve on torch', opts, async () => {
  const options: ModelOptions = { inputShape: [16, 16, 1], width: 0.1, seed: 7 };
  const first = await train('torch', 'inception-bn-small', options, 3, 8, RMSPROP);
  const second = await train('torch', 'inception-bn-small', options, 3, 8, RMSPROP);
  assert.deepEqual(second.losses, first.losses);
  assert.ok(first.losses.every(Number.isFinite));
});

test('experiments record the thread count the torch backend runs with', opts, async () => {
  const { backendThreads } = await import('../src/experiment/backend-threads.ts');
  for (const threads of [1, 2]) {
    const info = await selectBackend('torch', () => {}, { threads });
    assert.equal(backendThreads(info), threads);
  }
  assert.equal(backendThreads(await selectBackend('wasm', () => {})), null, 'wasm has no such setting');
});
