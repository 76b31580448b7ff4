import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../src/backend/backend.ts';
import { LocalStepEngine } from '../src/train/local-step-engine.ts';
import type { RmsPropConfig, StepEngine } from '../src/train/step-engine.ts';
import {
  createDataParallelStepEngine,
  type DataParallelStepEngine,
  type DataParallelOptions,
} from '../src/train/data-parallel/data-parallel-step-engine.ts';
import { shardSizes, shardStarts } from '../src/train/data-parallel/shard-sizes.ts';

await selectBackend('wasm', () => {});

const CONFIG: RmsPropConfig = { learningRate: 0.01, decay: 0.9, momentum: 0.9, epsilon: 1e-6, weightDecay: 1e-3 };

/** Without weight decay the objective is the cross-entropy tensor itself (a disposal pitfall). */
const NO_WEIGHT_DECAY: RmsPropConfig = { ...CONFIG, weightDecay: 0 };

/** 8x8x1 -> conv 3x3x4 (+ BatchNorm) -> ReLU -> max pool -> dense 10 logits, seeded. */
function buildModel(batchNorm: boolean): tf.LayersModel {
  const input = tf.input({ shape: [8, 8, 1] });
  let h = tf.layers
    .conv2d({
      name: 'conv',
      filters: 4,
      kernelSize: 3,
      padding: 'same',
      kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }),
    })
    .apply(input) as tf.SymbolicTensor;
  if (batchNorm) h = tf.layers.batchNormalization({ name: 'conv/bn', momentum: 0.9 }).apply(h) as tf.SymbolicTensor;
  h = tf.layers.reLU({ name: 'relu' }).apply(h) as tf.SymbolicTensor;
  h = tf.layers.maxPooling2d({ name: 'pool', poolSize: 2 }).apply(h) as tf.SymbolicTensor;
  h = tf.layers.flatten({ name: 'flatten' }).apply(h) as tf.SymbolicTensor;
  const logits = tf.layers
    .dense({ name: 'logits', units: 10, kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }) })
    .apply(h) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: logits });
}

/** A second model with the first one's topology and current weights (different TF.js variable names). */
function cloneModel(model: tf.LayersModel, batchNorm: boolean): tf.LayersModel {
  const copy = buildModel(batchNorm);
  copy.setWeights(model.weights.map((w) => w.read()));
  return copy;
}

function batch(size: number, seed: number): { x: tf.Tensor4D; y: tf.Tensor1D } {
  const x = tf.randomNormal([size, 8, 8, 1], 0, 1, 'float32', seed) as tf.Tensor4D;
  const y = tf.randomUniform([size], 0, 10, 'int32', seed + 1).asType('float32') as tf.Tensor1D;
  return { x, y };
}

/**
 * Largest difference between two models' weights, relative to each weight tensor's scale (its largest magnitude):
 * elementwise relative error is meaningless for elements near zero after updates that nearly cancel.
 */
function maxRelativeDifference(a: tf.LayersModel, b: tf.LayersModel): number {
  return Math.max(
    ...a.weights.map((w, i) =>
      tf.tidy(() => {
        const u = w.read();
        const v = b.weights[i].read();
        const scale = tf.maximum(tf.max(tf.abs(u)), 1e-12);
        return tf.div(tf.max(tf.abs(tf.sub(u, v))), scale).dataSync()[0];
      }),
    ),
  );
}

function weightValues(model: tf.LayersModel, suffix: string): Float32Array {
  const w = model.weights.find((v) => v.originalName.endsWith(suffix));
  if (!w) throw new Error(`no weight ending in ${suffix}`);
  return w.read().dataSync() as Float32Array;
}

/** Runs `body` with a fresh engine and always disposes it (live workers would keep the test process running). */
async function withEngine(
  model: tf.LayersModel,
  options: DataParallelOptions,
  body: (engine: DataParallelStepEngine) => Promise<void>,
  config: RmsPropConfig = CONFIG,
): Promise<void> {
  const engine = await createDataParallelStepEngine(model, config, options);
  try {
    await body(engine);
  } finally {
    await engine.dispose();
  }
}

describe('DataParallelStepEngine, 2 worker replicas, no BatchNorm', () => {
  let model: tf.LayersModel;
  let engine: StepEngine;
  before(async () => {
    model = buildModel(false);
    engine = await createDataParallelStepEngine(model, CONFIG, { workers: 2, backend: 'wasm', mainThreadShard: false });
  });
  after(async () => {
    await engine.dispose();
  });

  test('one step equals a LocalStepEngine step on the same batch (uneven shards 5 + 4)', async () => {
    const reference = cloneModel(model, false);
    const local = new LocalStepEngine(reference, CONFIG);
    const { x, y } = batch(9, 10);
    assert.ok(maxRelativeDifference(model, reference) === 0);
    const parallel = await engine.step(x, y, 0.02);
    const single = await local.step(x, y, 0.02);
    assert.ok(Math.abs(parallel.loss - single.loss) <= 1e-5 * single.loss, `${parallel.loss} vs ${single.loss}`);
    assert.equal(parallel.correct, single.correct);
    const moved = maxRelativeDifference(model, cloneModel(buildModel(false), false));
    assert.ok(moved > 1e-3, `the step barely changed the weights (${moved})`);
    const difference = maxRelativeDifference(model, reference);
    assert.ok(difference <= 1e-5, `weights differ by ${difference} relative`);

    // A second step continues from the optimizer's slots identically.
    const next = batch(9, 20);
    const before = tf.memory().numTensors; // the first step created the optimizer's slots
    await engine.step(next.x, next.y, 0.02);
    assert.equal(tf.memory().numTensors, before, 'data-parallel step leaks tensors');
    await local.step(next.x, next.y, 0.02);
    const second = maxRelativeDifference(model, reference);
    assert.ok(second <= 1e-5, `after two steps weights differ by ${second} relative`);
    tf.dispose([x, y, next.x, next.y]);
    await local.dispose();
  });

  test('optimizer state round-trips, also into a LocalStepEngine on a rebuilt model', async () => {
    const warm = batch(8, 25);
    await engine.step(warm.x, warm.y, 0.01); // the optimizer has slots from here on
    tf.dispose([warm.x, warm.y]);
    const held = tf.memory().numTensors;
    const state = await engine.getOptimizerState();
    assert.equal(tf.memory().numTensors, held + state.length, 'getOptimizerState returns exactly its tensors');
    const names = state.map((s) => s.name);
    assert.deepEqual(names, [
      'iter',
      'conv/kernel/rms',
      'conv/bias/rms',
      'logits/kernel/rms',
      'logits/bias/rms',
      'conv/kernel/momentum',
      'conv/bias/momentum',
      'logits/kernel/momentum',
      'logits/bias/momentum',
    ]);

    const reference = cloneModel(model, false);
    const local = new LocalStepEngine(reference, CONFIG);
    await local.setOptimizerState(state);
    // Reversed order: the engine puts slots back in gradient order itself.
    const beforeSet = tf.memory().numTensors;
    await engine.setOptimizerState([...state].reverse());
    assert.equal(
      tf.memory().numTensors,
      beforeSet,
      'setOptimizerState replaces the slots without leaking the old ones',
    );
    const again = await engine.getOptimizerState();
    assert.deepEqual(
      again.map((s) => s.name),
      names,
    );
    again.forEach((s, i) => assert.deepEqual(s.tensor.dataSync(), state[i].tensor.dataSync(), s.name));

    const { x, y } = batch(8, 30);
    const before = tf.memory().numTensors;
    await engine.step(x, y, 0.01);
    assert.equal(tf.memory().numTensors, before);
    await local.step(x, y, 0.01);
    const difference = maxRelativeDifference(model, reference);
    assert.ok(difference <= 1e-5, `after restoring state, weights differ by ${difference} relative`);
    tf.dispose([x, y, ...[...state, ...again].map((s) => s.tensor)]);
    await local.dispose();
  });

  test('a worker error rejects the step with its message, and the engine keeps working', async () => {
    const wrong = tf.zeros([4, 6, 6, 1]) as tf.Tensor4D;
    const labels = tf.zeros([4]) as tf.Tensor1D;
    const before = tf.memory().numTensors;
    await assert.rejects(
      engine.step(wrong, labels, 0.01),
      /replica [01] \(worker thread\) failed in step \d+: .*shape/,
    );
    assert.equal(tf.memory().numTensors, before);
    const { x, y } = batch(4, 40);
    const result = await engine.step(x, y, 0.01);
    assert.ok(Number.isFinite(result.loss));
    tf.dispose([wrong, labels, x, y]);
  });
});

test('one worker plus the main thread (the default on a wasm main thread) give the LocalStepEngine step too', async () => {
  const model = buildModel(false);
  const reference = cloneModel(model, false);
  const local = new LocalStepEngine(reference, CONFIG);
  await withEngine(model, { workers: 1, backend: 'wasm' }, async (engine) => {
    assert.equal(engine.replicaCount, 2);
    for (const seed of [50, 60]) {
      const { x, y } = batch(7, seed);
      const before = tf.memory().numTensors;
      const parallel = await engine.step(x, y, 0.02);
      if (seed === 60) assert.equal(tf.memory().numTensors, before, 'data-parallel step leaks tensors');
      const single = await local.step(x, y, 0.02);
      assert.ok(Math.abs(parallel.loss - single.loss) <= 1e-5 * single.loss);
      assert.equal(parallel.correct, single.correct);
      const difference = maxRelativeDifference(model, reference);
      assert.ok(difference <= 1e-5, `weights differ by ${difference} relative`);
      tf.dispose([x, y]);
    }
  });
  await local.dispose();
});

test('with BatchNorm: moving statistics become the shard-weighted average, and training reduces the loss', async () => {
  const model = buildModel(true);
  const { x, y } = batch(10, 60);
  const sizes = shardSizes(10, 2);
  const starts = shardStarts(sizes);

  /**
   * What each replica's forward pass leaves in the moving statistics from the current weights (one clone per shard),
   * and their shard-size-weighted average.
   */
  const expectedStatistics = () => {
    const mean = new Float32Array(4);
    const variance = new Float32Array(4);
    const replicaMeans = sizes.map((size, r) => {
      const replica = cloneModel(model, true);
      tf.tidy(() => {
        replica.apply(tf.slice(x, [starts[r], 0, 0, 0], [size, -1, -1, -1]), { training: true });
      });
      const m = weightValues(replica, 'moving_mean');
      const v = weightValues(replica, 'moving_variance');
      for (let c = 0; c < 4; c++) {
        mean[c] += (size * m[c]) / 10;
        variance[c] += (size * v[c]) / 10;
      }
      replica.dispose();
      return m;
    });
    return { mean, variance, replicaMeans };
  };

  const losses: number[] = [];
  await withEngine(
    model,
    { workers: 2, backend: 'wasm', mainThreadShard: false },
    async (engine) => {
      for (let step = 0; step < 6; step++) {
        const expected = step < 2 ? expectedStatistics() : null;
        const before = tf.memory().numTensors;
        losses.push((await engine.step(x, y, 0.01)).loss);
        if (step > 0) assert.equal(tf.memory().numTensors, before, 'data-parallel step leaks tensors');
        if (expected) {
          const mean = weightValues(model, 'moving_mean');
          const variance = weightValues(model, 'moving_variance');
          for (let c = 0; c < 4; c++) {
            assert.ok(
              Math.abs(mean[c] - expected.mean[c]) <= 1e-5,
              `step ${step} moving mean ${mean} vs ${expected.mean}`,
            );
            assert.ok(Math.abs(variance[c] - expected.variance[c]) <= 1e-5, `step ${step} moving variance`);
          }
          // The shards' statistics differ by far more than the tolerance, so no single replica's values would pass.
          const spread = Math.max(...expected.replicaMeans[0].map((m, c) => Math.abs(m - expected.replicaMeans[1][c])));
          assert.ok(spread > 1e-4, `shard statistics too similar to tell apart (${spread})`);
        }
      }
    },
    NO_WEIGHT_DECAY,
  );
  assert.ok(losses[5] < 0.8 * losses[0], `loss did not fall: ${losses.map((l) => l.toFixed(3)).join(' ')}`);
  tf.dispose([x, y]);
});

test('a replica that does not finish in time fails the step, naming it, and the engine stops', async () => {
  const { x, y } = batch(256, 70);
  await withEngine(
    buildModel(false),
    { workers: 1, backend: 'wasm', mainThreadShard: false, stepTimeoutMs: 1 },
    async (engine) => {
      await assert.rejects(engine.step(x, y, 0.01), /replica 0 \(worker thread\) did not finish step 1 within 1 ms/);
      await assert.rejects(engine.step(x, y, 0.01), /cannot step: .*did not finish/);
    },
  );
  tf.dispose([x, y]);
});

test('a model the workers cannot rebuild fails the factory with the worker message', async () => {
  class Unregistered extends tf.layers.Layer {
    static readonly className = 'UnregisteredInWorkers';
    override computeOutputShape(shape: tf.Shape | tf.Shape[]) {
      return shape;
    }
    override call(inputs: tf.Tensor | tf.Tensor[]) {
      return Array.isArray(inputs) ? inputs[0] : inputs;
    }
  }
  tf.serialization.registerClass(Unregistered);
  const input = tf.input({ shape: [4] });
  const h = new Unregistered({ name: 'custom' }).apply(input) as tf.SymbolicTensor;
  const model = tf.model({ inputs: input, outputs: tf.layers.dense({ units: 3 }).apply(h) as tf.SymbolicTensor });
  await assert.rejects(
    createDataParallelStepEngine(model, CONFIG, { workers: 1, backend: 'wasm' }),
    /replica 0 \(worker thread\) could not start: .*UnregisteredInWorkers/,
  );
  model.dispose();
});
