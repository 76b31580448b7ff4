/**
 * Step capture on torch (src/train/captured-step-engine.ts, native/torch-backend/step-capture.cc): captured training
 * writes the same curve, bit for bit, as training through TF.js (both families, hundreds of steps, a kill and resume in
 * the middle, a partial evaluation batch, bf16 and fp32, a growth transform between teacher and student); replayed
 * steps leave no tensors behind; steps that cannot be replayed are refused with the reason and run the normal way.
 * Skips without the addon (fails in CI without it).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../src/backend/backend.ts';
import { loadTorchAddon } from '../src/backend/torch/addon.ts';
import { resolvePrecision, setTrainingPrecision } from '../src/backend/precision.ts';
import type { TorchBackend } from '../src/backend/torch/torch-backend.ts';
import { openDataset } from '../src/data/open-dataset.ts';
import { buildModel } from '../src/models/registry.ts';
import type { ModelName } from '../src/models/registry.ts';
import { CapturedStepEngine } from '../src/train/captured-step-engine.ts';
import { readCurveFile } from '../src/train/curve-log.ts';
import { LocalStepEngine } from '../src/train/local-step-engine.ts';
import type { StepTensors } from '../src/train/local-step-engine.ts';
import { localEngine, train } from '../src/train/trainer.ts';
import type { EngineFactory } from '../src/train/trainer.ts';
import { smallTrainConfig, withoutWall } from './curve-fixtures.ts';
import { SKIP_REASON, torchBuilt, values } from './torch-fixtures.ts';

const built = torchBuilt();
if (built) await selectBackend('torch', () => {}, { threads: 1 });
const opts = built ? {} : { skip: SKIP_REASON };
const bf16Opts = built && resolvePrecision('auto') === 'bf16' ? {} : { skip: 'no torch addon, or no native bf16 here' };
const torch = () => tf.backend() as unknown as TorchBackend;

const root = mkdtempSync(join(tmpdir(), 'net2net-capture-'));
process.on('exit', () => rmSync(root, { recursive: true, force: true }));

const MODELS: Record<ModelName, { data: string; input: [number, number, number] }> = {
  'inception-bn-small': { data: 'synthetic:12x12x1:4:64:32', input: [12, 12, 1] },
  'inception-bn': { data: 'synthetic:32x32x3:4:64:32', input: [32, 32, 3] },
};

const modelOf = (name: ModelName) => () =>
  buildModel(name, { inputShape: MODELS[name].input, classes: 4, width: 0.05, widthScope: 'all', seed: 7 });

/** A captured engine factory that collects the capture log lines and the engines it made. */
function capturing(lines: string[], engines: CapturedStepEngine[] = []): EngineFactory {
  return (model, optimizer) => {
    const engine = new CapturedStepEngine(model, optimizer, torch(), (line) => lines.push(line));
    engines.push(engine);
    return engine;
  };
}

/** Trains `name` for `steps` (evaluating every 40 on 32 images in batches of 24: a partial batch of 8). */
async function curveOf(
  name: ModelName,
  runDir: string,
  createEngine: EngineFactory,
  steps: number,
  killAt?: number,
): Promise<ReturnType<typeof withoutWall>> {
  const dataset = await openDataset(MODELS[name].data);
  const config = smallTrainConfig({ steps, evalEvery: 40, checkpointEvery: 100, evalBatchSize: 24 });
  const run = (resume: boolean, afterStep?: (step: number) => void) =>
    train({ runDir, config, dataset, resume, initialModel: modelOf(name), createEngine, afterStep });
  try {
    if (killAt !== undefined) {
      await assert.rejects(
        run(false, (step) => {
          if (step === killAt) throw new Error(`simulated crash at step ${killAt}`);
        }),
        /simulated crash/,
      );
    }
    const result = await run(killAt !== undefined);
    result.model.dispose();
    if (killAt !== undefined) assert.equal(result.resumedFrom, 100, 'resumed from the step-100 checkpoint');
    return withoutWall(readCurveFile(join(runDir, 'curve.csv')).rows);
  } finally {
    await dataset.close();
  }
}

for (const name of ['inception-bn-small', 'inception-bn'] as const) {
  test(
    `${name}: 240 captured steps, killed at 150 and resumed, write the uncaptured run's curve bit for bit`,
    opts,
    async () => {
      const plain = await curveOf(name, join(root, `${name}-plain`), localEngine, 240);
      const lines: string[] = [];
      const captured = await curveOf(name, join(root, `${name}-captured`), capturing(lines), 240, 150);
      assert.deepEqual(captured, plain);
      assert.equal(plain.length, 7, 'rows at steps 0, 40, ..., 240');
      assert.ok(plain[6]!.train_loss! < plain[1]!.train_loss!, 'the run learns (its loss falls)');
      const replayed = lines.filter((l) => /training step \[8,.*replayed natively/.test(l));
      assert.equal(replayed.length, 2, `one capture per session (killed, resumed): ${lines.join('\n')}`);
      assert.ok(
        lines.some((l) => /evaluation batch \[8,.*replayed/.test(l)),
        'the partial evaluation batch is captured',
      );
      assert.ok(!lines.some((l) => /not captured/.test(l)), lines.join('\n'));
    },
  );
}

test('bf16: captured steps write the uncaptured curve bit for bit', bf16Opts, async () => {
  setTrainingPrecision('bf16');
  try {
    const plain = await curveOf('inception-bn-small', join(root, 'bf16-plain'), localEngine, 80);
    const lines: string[] = [];
    const captured = await curveOf('inception-bn-small', join(root, 'bf16-captured'), capturing(lines), 80);
    assert.deepEqual(captured, plain);
    assert.ok(lines.some((l) => /training step .*replayed natively/.test(l)));
  } finally {
    setTrainingPrecision('fp32');
  }
});

function batchOf(n: number, seed: number): { x: tf.Tensor4D; y: tf.Tensor1D } {
  const x = tf.tensor4d(values(n * 12 * 12, seed), [n, 12, 12, 1]);
  const y = tf.tensor1d(
    Array.from({ length: n }, (_, i) => (i + seed) % 4),
    'int32',
  );
  return { x, y };
}

test(
  'replayed steps leave the tensor count, native tensors and bytes, and CPU memory where they were',
  opts,
  async () => {
    const model = modelOf('inception-bn-small')();
    const engine = new CapturedStepEngine(model, smallTrainConfig().optimizer, torch());
    const counts = () => {
      const memory = tf.memory() as tf.MemoryInfo & { nativeTensors: number; numBytesInTorch: number };
      // The block cache's bytes: those in use, and all it holds from the C library (in use and kept for reuse).
      const { liveBytes, cachedBytes } = loadTorchAddon().cpuBlockCache();
      const cpu = { live: liveBytes, held: liveBytes + cachedBytes };
      return { tensors: memory.numTensors, native: memory.nativeTensors, bytes: memory.numBytesInTorch, cpu };
    };
    const steps = async (from: number, to: number) => {
      for (let s = from; s < to; s++) {
        const { x, y } = batchOf(8, s);
        await engine.step(x, y, 0.01);
        await engine.evaluateBatch(x, y);
        tf.dispose([x, y]);
      }
    };
    try {
      await steps(0, 3);
      assert.deepEqual(engine.captureStats(), { steps: 1, evaluations: 1, replayedSteps: 1, replayedEvaluations: 1 });
      const before = counts();
      await steps(3, 60);
      assert.deepEqual(counts(), before);
    } finally {
      await engine.dispose();
      model.dispose();
    }
  },
);

test(
  'static replays (the fixed buffers a CUDA graph needs, op by op here) train bit for bit as TF.js does, also after ' +
    'a normal step replaced the variables',
  opts,
  async () => {
    const addon = loadTorchAddon();
    const config = smallTrainConfig().optimizer;
    // Batches of 8 and 5 take turns in runs of three, so each shape's first (normal) step replaces the variables'
    // tensors that the other shape's program holds as its fixed buffers; the rate changes halfway.
    const sizes = [8, 8, 8, 8, 5, 5, 5, 5, 8, 8, 5, 8, 8, 8, 5, 5];
    const run = async (engineOf: (m: tf.LayersModel) => LocalStepEngine) => {
      const model = modelOf('inception-bn-small')();
      const engine = engineOf(model);
      const losses: number[] = [];
      for (const [s, n] of sizes.entries()) {
        const { x, y } = batchOf(n, s);
        losses.push((await engine.step(x, y, s < 8 ? 0.01 : 0.005)).loss);
        losses.push((await engine.evaluateBatch(x, y)).loss);
        tf.dispose([x, y]);
      }
      const weights = await Promise.all(model.getWeights().map((w) => w.data()));
      const stats =
        engine instanceof CapturedStepEngine ? { ...engine.captureStats(), modes: engine.replayModes() } : null;
      await engine.dispose();
      model.dispose();
      return { losses, weights: weights.map((w) => Array.from(w)), stats };
    };
    const plain = await run((m) => new LocalStepEngine(m, config));
    assert.equal(addon.setStaticReplay(true), true);
    try {
      const fixed = await run((m) => new CapturedStepEngine(m, config, torch()));
      assert.deepEqual(fixed.stats!.modes, ['static', 'static', 'static', 'static'], 'two shapes, two kinds');
      assert.ok(fixed.stats!.replayedSteps >= 6, JSON.stringify(fixed.stats));
      assert.deepEqual(fixed.losses, plain.losses);
      assert.deepEqual(fixed.weights, plain.weights);
    } finally {
      addon.setStaticReplay(false);
    }
  },
);

/** A step engine whose step reads its loss back before it ends (a kernel sequence that cannot be replayed). */
class ReadingEngine extends CapturedStepEngine {
  protected override runStep(x: tf.Tensor4D, y: tf.Tensor1D, learningRate: number): StepTensors {
    const tensors = super.runStep(x, y, learningRate);
    tensors.crossEntropy.dataSync();
    return tensors;
  }
}

test(
  'a step that reads a value back is not captured: the reason is logged and it runs through TF.js',
  opts,
  async () => {
    const losses = async (make: (m: tf.LayersModel) => LocalStepEngine) => {
      const model = modelOf('inception-bn-small')();
      const engine = make(model);
      const result: number[] = [];
      for (let s = 0; s < 5; s++) {
        const { x, y } = batchOf(8, s);
        result.push((await engine.step(x, y, 0.01)).loss);
        tf.dispose([x, y]);
      }
      await engine.dispose();
      model.dispose();
      return result;
    };
    const lines: string[] = [];
    const config = smallTrainConfig().optimizer;
    const reading = await losses((m) => new ReadingEngine(m, config, torch(), (l) => lines.push(l)));
    assert.deepEqual(reading, await losses((m) => new LocalStepEngine(m, config)));
    assert.match(
      lines.join('\n'),
      /training step \[8,12,12,1\]: not captured \(tensor \d+ was read back during the step\)/,
    );
  },
);

test(
  'the addon refuses a step that leaves a tensor behind or frees one it did not make; replay checks shapes',
  opts,
  () => {
    const backend = torch();
    const x = tf.tensor2d([1, 2, 3, 4], [2, 2]);
    const made = tf.tensor1d([5, 6]);
    try {
      backend.captureBegin();
      const leftover = tf.mul(x, 2);
      assert.match(refusal(backend.captureEnd([x], [], [], [])), /1 tensor\(s\) the step made outlive it/);
      leftover.dispose();

      backend.captureBegin();
      made.dispose();
      assert.match(
        refusal(backend.captureEnd([x], [], [], [])),
        /freed tensor \d+, made before it, that is no variable/,
      );

      backend.captureBegin();
      const sum = tf.tidy(() => tf.sum(tf.square(x)));
      const outcome = backend.captureEnd([x], [], [], [sum]);
      sum.dispose();
      assert.ok('handle' in outcome, JSON.stringify(outcome));
      assert.deepEqual(backend.replay(outcome.handle, [x], [], 0), [30]);
      const other = tf.tensor2d([1, 1, 1, 1, 1, 1], [3, 2]);
      assert.throws(
        () => backend.replay(outcome.handle, [other], [], 0),
        /replay: input 0 has shape \[3,2\], the captured step's \[2,2\]/,
      );
      other.dispose();
      backend.releaseCapture(outcome.handle);
    } finally {
      x.dispose();
    }
  },
);

test('a captured step drops the op calls and uploads whose results nothing reads, and replays the rest', opts, () => {
  const backend = torch();
  const x = tf.tensor2d([1, 2, 3, 4], [2, 2]);
  try {
    backend.captureBegin();
    const sum = tf.tidy(() => {
      tf.add(tf.exp(x), tf.scalar(3)); // read by nothing: exp, the uploaded 3 and add go
      return tf.sum(tf.mul(x, tf.scalar(2)));
    });
    const outcome = backend.captureEnd([x], [], [], [sum]);
    sum.dispose();
    assert.ok('handle' in outcome, JSON.stringify(outcome));
    assert.equal(outcome.ops, 2, 'mul and sum are left');
    assert.equal(outcome.uploads, 1, 'the 2 is left');
    const tensors = tf.memory().numTensors;
    const other = tf.tensor2d([5, 6, 7, 8], [2, 2]);
    assert.deepEqual(backend.replay(outcome.handle, [other], [], 0), [52]);
    other.dispose();
    assert.equal(tf.memory().numTensors, tensors);
    backend.releaseCapture(outcome.handle);
  } finally {
    x.dispose();
  }
});

function refusal(outcome: ReturnType<TorchBackend['captureEnd']>): string {
  assert.ok('refused' in outcome, `captured: ${JSON.stringify(outcome)}`);
  return outcome.refused;
}

test('an experiment with a growth transform writes the same curves captured and with --no-capture', opts, () => {
  const cli = resolve(import.meta.dirname, '..', 'src', 'cli', 'experiment.ts');
  const run = (out: string, extra: string[]) => {
    const args = ['--import', 'tsx', cli, 'wider', '--preset', 'smoke', '--backend', 'torch', '--threads', '1'];
    args.push('--out', out, '--cache-dir', `${out}-cache`, '--no-figures', ...extra);
    const child = spawnSync(process.execPath, args, { encoding: 'utf8' });
    assert.equal(child.status, 0, child.stderr);
    return child.stdout + child.stderr;
  };
  const capturedLog = run(join(root, 'exp-captured'), []);
  run(join(root, 'exp-plain'), ['--no-capture']);
  assert.match(capturedLog, /\[capture\] training step .*replayed natively/);
  const runs = readdirSync(join(root, 'exp-plain'), { withFileTypes: true }).filter((d) => d.isDirectory());
  assert.ok(runs.length >= 4, `runs: ${runs.map((d) => d.name)}`);
  for (const { name } of runs) {
    const curve = (dir: string) => withoutWall(readCurveFile(join(root, dir, name, 'curve.csv')).rows);
    assert.deepEqual(curve('exp-captured'), curve('exp-plain'), `run ${name}`);
  }
});
