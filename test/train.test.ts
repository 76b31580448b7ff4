import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../src/backend/backend.ts';
import { openDataset } from '../src/data/open-dataset.ts';
import { buildModel } from '../src/models/registry.ts';
import { findCheckpoint, loadCheckpoint, readTrainState } from '../src/train/checkpoint.ts';
import { readCurveFile } from '../src/train/curve-log.ts';
import type { CurveRow } from '../src/train/curve-log.ts';
import { learningRateAt } from '../src/train/schedule.ts';
import { TrainingDivergedError, train, validateTrainConfig } from '../src/train/trainer.ts';
import type { TrainConfig } from '../src/train/trainer.ts';
import { smallTrainConfig, withoutWall } from './curve-fixtures.ts';

await selectBackend('wasm', () => {});

const DATA = 'synthetic:12x12x1:4:64:32';
const root = mkdtempSync(join(tmpdir(), 'net2net-train-'));
process.on('exit', () => rmSync(root, { recursive: true, force: true }));

const smallModelWith = (batchNormMomentum?: number) => () =>
  buildModel('inception-bn-small', {
    inputShape: [12, 12, 1],
    classes: 4,
    width: 0.1,
    widthScope: 'all',
    seed: 7,
    batchNormMomentum,
  });
const smallModel = smallModelWith();

const config = smallTrainConfig;

const readCurve = (path: string): CurveRow[] => readCurveFile(path).rows;

test('learning-rate schedule: exponential decay by epoch fraction, staircase or smooth', () => {
  const stairs = { kind: 'exponential', rate: 0.94, everyEpochs: 2, staircase: true } as const;
  assert.equal(learningRateAt(0.045, stairs, 1.99), 0.045);
  assert.ok(Math.abs(learningRateAt(0.045, stairs, 2) - 0.045 * 0.94) < 1e-12);
  assert.ok(Math.abs(learningRateAt(0.045, stairs, 5.5) - 0.045 * 0.94 ** 2) < 1e-12);
  const smooth = { ...stairs, staircase: false };
  assert.ok(Math.abs(learningRateAt(0.1, smooth, 1) - 0.1 * Math.sqrt(0.94)) < 1e-12);
  assert.equal(learningRateAt(0.1, { kind: 'constant' }, 7), 0.1);
});

test('a run killed mid-way and resumed writes the same curve rows as an uninterrupted one', async () => {
  const dataset = await openDataset(DATA);
  try {
    const whole = await train({
      runDir: join(root, 'whole'),
      config: config(),
      dataset,
      resume: false,
      initialModel: smallModel,
    });
    whole.model.dispose();
    const expected = readCurve(join(root, 'whole', 'curve.csv'));
    assert.deepEqual(
      expected.map((r) => r.step),
      [0, 2, 4, 6, 8],
    );
    assert.equal(expected[0].train_loss, null, 'the step-0 row is an evaluation before any training');
    assert.ok(expected[4].lr! < expected[1].lr!, 'the learning rate decays with the epoch');

    const runDir = join(root, 'killed');
    await assert.rejects(
      train({
        runDir,
        config: config(),
        dataset,
        resume: false,
        initialModel: smallModel,
        afterStep: (step) => {
          if (step === 5) throw new Error('simulated crash at step 5');
        },
      }),
      /simulated crash/,
    );
    // Rows 0, 2, 4 were written; the last checkpoint (step 3) recorded only 0 and 2.
    assert.deepEqual(
      readCurve(join(runDir, 'curve.csv')).map((r) => r.step),
      [0, 2, 4],
    );
    assert.equal(readTrainState(findCheckpoint(runDir)!).step, 3);
    assert.equal(readTrainState(findCheckpoint(runDir)!).curveRows, 2);

    const resumed = await train({ runDir, config: config(), dataset, resume: true, initialModel: smallModel });
    resumed.model.dispose();
    assert.equal(resumed.resumedFrom, 3);
    const rows = readCurve(join(runDir, 'curve.csv'));
    assert.deepEqual(withoutWall(rows), withoutWall(expected));
    const summary = JSON.parse(readFileSync(join(runDir, 'summary.json'), 'utf8'));
    assert.equal(summary.steps, 8);
    assert.equal(summary.final_val_acc, expected[4].val_acc);
  } finally {
    await dataset.close();
  }
});

test('training steps, evaluations and checkpoints leave the tensor count unchanged', async () => {
  const dataset = await openDataset(DATA);
  const before = tf.memory().numTensors;
  const counts: number[] = [];
  const result = await train({
    runDir: join(root, 'memory'),
    config: config({ steps: 6, checkpointEvery: 2 }),
    dataset,
    resume: false,
    initialModel: smallModel,
    afterStep: () => counts.push(tf.memory().numTensors),
  });
  result.model.dispose();
  await dataset.close();
  // Step 1 creates the optimizer's slots; from then on every step (with or without eval/checkpoint) is neutral.
  assert.equal(new Set(counts.slice(1)).size, 1, `tensor counts per step: ${counts.join(', ')}`);
  assert.equal(tf.memory().numTensors, before);
});

test('a diverging run stops with a clear error and keeps its last good checkpoint', async () => {
  const dataset = await openDataset(DATA);
  const runDir = join(root, 'diverge');
  try {
    const good = await train({
      runDir,
      config: config({ steps: 2, checkpointEvery: 2 }),
      dataset,
      resume: false,
      initialModel: smallModel,
    });
    good.model.dispose();
    const huge = config({ steps: 12, checkpointEvery: 1, optimizer: { ...config().optimizer, learningRate: 1e38 } });
    let divergedAt = 0;
    await assert.rejects(
      train({ runDir, config: huge, dataset, resume: true, initialModel: smallModel }),
      (err: unknown) => {
        assert.ok(err instanceof TrainingDivergedError, String(err));
        assert.match(err.message, /diverged|not finite/);
        assert.match(err.message, /last good checkpoint \(step \d+\)/);
        divergedAt = err.step;
        return true;
      },
    );
    const dir = findCheckpoint(runDir)!;
    const { model, optimizer, state } = await loadCheckpoint(dir);
    try {
      assert.ok(state.step >= 2 && state.step < divergedAt, `checkpoint step ${state.step}, diverged at ${divergedAt}`);
      assert.match(readFileSync(join(runDir, 'curve.csv'), 'utf8'), /^step,images/);
      const finite = tf.tidy(() => model.weights.every((w) => tf.all(tf.isFinite(w.read())).dataSync()[0] === 1));
      assert.ok(finite);
      assert.ok(
        optimizer.some((s) => /\/rms$/.test(s.name)),
        'optimizer slots are saved by weight name',
      );
    } finally {
      model.dispose();
      tf.dispose(optimizer.map((s) => s.tensor));
    }
  } finally {
    await dataset.close();
  }
});

test('a checkpoint left half-replaced by a crash is still found', async () => {
  const dataset = await openDataset(DATA);
  const runDir = join(root, 'half');
  const result = await train({
    runDir,
    config: config({ steps: 2, checkpointEvery: 2 }),
    dataset,
    resume: false,
    initialModel: smallModel,
  });
  result.model.dispose();
  await dataset.close();
  // saveCheckpoint renames checkpoint/ away before renaming the new one in: a crash in between leaves only this.
  renameSync(join(runDir, 'checkpoint'), join(runDir, '.checkpoint.previous'));
  assert.ok(!existsSync(join(runDir, 'checkpoint')));
  assert.equal(readTrainState(findCheckpoint(runDir)!).step, 2);
});

test('the time spent waiting for batches is measured, reported to the progress bar and logged', async () => {
  const dataset = await openDataset(DATA);
  const delayMs = 150;
  // the same dataset, with every training batch arriving `delayMs` late (an input-bound run)
  const slow: typeof dataset = Object.create(dataset);
  slow.trainBatches = (options) => {
    const inner = dataset.trainBatches(options);
    return {
      async next() {
        await new Promise((resolve) => setTimeout(resolve, delayMs));
        return inner.next();
      },
      return: (value) => inner.return!(value),
      [Symbol.asyncIterator]() {
        return this;
      },
    };
  };
  try {
    const fractions: number[] = [];
    const lines: string[] = [];
    const steps = 4;
    const run = await train({
      runDir: join(root, 'input-bound'),
      config: config({ steps, evalEvery: steps, checkpointEvery: steps }),
      dataset: slow,
      resume: false,
      initialModel: smallModel,
      progress: { step: (p) => fractions.push(p.dataWaitFraction), evaluation() {}, done() {} },
      log: (line) => lines.push(line),
    });
    run.model.dispose();
    assert.ok(run.dataWaitSeconds >= (steps * delayMs * 0.9) / 1000, `waited ${run.dataWaitSeconds} s`);
    assert.equal(fractions.length, steps);
    assert.ok(fractions.every((f) => f > 0 && f <= 1));
    assert.match(lines.join('\n'), /s waiting for training batches \(\d+\.\d%\)/);

    const fast = await train({
      runDir: join(root, 'not-input-bound'),
      config: config({ steps, evalEvery: steps, checkpointEvery: steps }),
      dataset,
      resume: false,
      initialModel: smallModel,
    });
    fast.model.dispose();
    assert.ok(fast.dataWaitSeconds < run.dataWaitSeconds, `${fast.dataWaitSeconds} s without the delay`);
  } finally {
    await dataset.close();
  }
});

test('evaluation on a fixed training sample with precise BatchNorm: its own columns, resumable, leaves no tensors', async () => {
  const dataset = await openDataset(DATA);
  const evaluation = { batchNorm: 'precise', trainSampleExamples: 16 } as const;
  try {
    const before = tf.memory().numTensors;
    const whole = await train({
      runDir: join(root, 'sampled'),
      config: config({ evaluation }),
      dataset,
      resume: false,
      initialModel: smallModel,
    });
    whole.model.dispose();
    assert.equal(tf.memory().numTensors, before, 'the sample and everything else is released');
    const rows = readCurve(join(root, 'sampled', 'curve.csv'));
    assert.notEqual(rows[0]!.train_acc, null, 'the step-0 row measures the sample before any training');
    assert.equal(rows[0]!.running_acc, null);
    assert.ok(rows.slice(1).every((r) => r.running_acc !== null && r.train_acc !== null));
    assert.ok(
      rows.slice(1).some((r) => r.running_acc !== r.train_acc),
      'the sample is measured in inference mode, not copied from the running means',
    );

    const killedDir = join(root, 'sampled-killed');
    const crash = (step: number) => {
      if (step === 5) throw new Error('simulated crash at step 5');
    };
    const run = (resume: boolean, afterStep?: (step: number) => void) =>
      train({
        runDir: killedDir,
        config: config({ evaluation }),
        dataset,
        resume,
        initialModel: smallModel,
        afterStep,
      });
    await assert.rejects(run(false, crash), /simulated crash/);
    const resumed = await run(true);
    resumed.model.dispose();
    assert.deepEqual(withoutWall(readCurve(join(killedDir, 'curve.csv'))), withoutWall(rows));

    assert.throws(
      () => validateTrainConfig(config({ evaluation: { batchNorm: 'precise', trainSampleExamples: 0 } })),
      /precise BatchNorm evaluation needs a training sample/,
    );
  } finally {
    await dataset.close();
  }
});

test('BatchNorm momentum changes the curves measured with moving averages, and nothing under precise evaluation', async () => {
  const dataset = await openDataset(DATA);
  const curveWith = async (evaluation: TrainConfig['evaluation'], batchNormMomentum: number, name: string) => {
    const result = await train({
      runDir: join(root, name),
      config: config({ evaluation }),
      dataset,
      resume: false,
      initialModel: smallModelWith(batchNormMomentum),
    });
    result.model.dispose();
    return withoutWall(readCurve(join(root, name, 'curve.csv')));
  };
  try {
    const precise = { batchNorm: 'precise', trainSampleExamples: 16 } as const;
    const moving = { batchNorm: 'moving', trainSampleExamples: 16 } as const;
    // Training-mode BatchNorm never reads the moving averages; precise evaluation replaces them before measuring.
    assert.deepEqual(await curveWith(precise, 0.9, 'precise-0.9'), await curveWith(precise, 0.99, 'precise-0.99'));
    const fast = await curveWith(moving, 0.9, 'moving-0.9');
    const slow = await curveWith(moving, 0.99, 'moving-0.99');
    assert.notDeepEqual(
      fast.map((r) => r.val_loss),
      slow.map((r) => r.val_loss),
      'evaluated with the moving averages, the momentum shows',
    );
    assert.deepEqual(
      fast.map((r) => r.running_loss),
      slow.map((r) => r.running_loss),
      'and training itself is the same',
    );
  } finally {
    await dataset.close();
  }
});
