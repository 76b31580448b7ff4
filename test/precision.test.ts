/**
 * Training precision: bf16 on torch changes a training step within a tolerance and leaves weights and optimizer slots
 * float32; strict float32 scopes (checks, evaluations) are exact under bf16 training; other backends refuse bf16 and
 * tf32; the precision is recorded in config.json and the summaries and changes the teacher cache key. The bf16 tests
 * skip where the addon is missing or the CPU has no native bf16 (AVX512-BF16 or AMX).
 */
import { test } from 'node:test';
import { spawn } from 'node:child_process';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../src/backend/backend.ts';
import {
  precisionFromEnv,
  resolvePrecision,
  setTrainingPrecision,
  strictFloat32,
  trainingPrecision,
} from '../src/backend/precision.ts';
import { checkPreserved, wider, widthTargets } from '../src/index.ts';
import { buildModel } from '../src/models/registry.ts';
import { LocalStepEngine } from '../src/train/local-step-engine.ts';
import type { RmsPropConfig } from '../src/train/step-engine.ts';
import { teacherCacheKey } from '../src/experiment/teacher-cache.ts';
import type { RunConfig } from '../src/run-folder/run-config.ts';
import { UsageError } from '../src/usage-error.ts';
import { smokeOptions } from './experiment-fixtures.ts';
import { registerTorch, torchBuilt, values } from './torch-fixtures.ts';

const built = torchBuilt();
if (built) {
  await selectBackend('cpu', () => {});
  await registerTorch();
}
async function onTorch(): Promise<boolean> {
  if (!built) return false;
  await tf.setBackend('torch');
  return true;
}
const nativeBf16 = (await onTorch()) && resolvePrecision('auto') === 'bf16';
await tf.setBackend('cpu');
const bf16Opts = nativeBf16 ? {} : { skip: 'no torch addon, or no native bf16 on this CPU' };

const RMSPROP: RmsPropConfig = { learningRate: 0.01, decay: 0.9, momentum: 0.9, epsilon: 1, weightDecay: 4e-5 };
const SMALL = { inputShape: [12, 12, 1] as [number, number, number], classes: 10, width: 0.25, seed: 3 };

function batch(n: number, seed: number): { x: tf.Tensor4D; y: tf.Tensor1D } {
  const x = tf.tensor4d(values(n * 12 * 12, seed), [n, 12, 12, 1]);
  return {
    x,
    y: tf.tensor1d(
      Array.from({ length: n }, (_, i) => (i * 3 + seed) % 10),
      'int32',
    ),
  };
}

/** Two steps from the same weights at `precision`; the weights after them (float32 arrays) and the slots' dtypes. */
async function twoSteps(precision: 'fp32' | 'bf16') {
  setTrainingPrecision(precision);
  const model = buildModel('inception-bn-small', SMALL);
  const engine = new LocalStepEngine(model, RMSPROP);
  let afterFirst = 0;
  for (let step = 1; step <= 2; step++) {
    const { x, y } = batch(16, step);
    await engine.step(x, y, RMSPROP.learningRate);
    tf.dispose([x, y]);
    // The first step creates the optimizer slots; every later step leaves the count as it was.
    if (step === 1) afterFirst = tf.memory().numTensors;
    else assert.equal(tf.memory().numTensors, afterFirst, `${precision}: a step left tensors behind`);
  }
  const weights = model.weights.map((w) => w.read().dataSync());
  const slots = await engine.getOptimizerState();
  await engine.dispose();
  model.dispose();
  setTrainingPrecision('fp32');
  // The optimizer's iteration counter is int32; every per-weight slot (`<weight>/rms`, `/momentum`) must be float32.
  const perWeight = slots.filter((s) => /\/(rms|momentum)$/.test(s.name));
  tf.dispose(slots.filter((s) => !perWeight.includes(s)).map((s) => s.tensor));
  return { weights, slotDtypes: perWeight.map((s) => s.tensor.dtype), slots: perWeight };
}

function relativeL2(a: ArrayLike<number>[], b: ArrayLike<number>[]): number {
  let diff = 0;
  let norm = 0;
  a.forEach((values, k) => {
    for (let i = 0; i < values.length; i++) {
      diff += (values[i]! - b[k]![i]!) ** 2;
      norm += b[k]![i]! ** 2;
    }
  });
  return Math.sqrt(diff / norm);
}

/** Whether any value needs more than bfloat16's 8 mantissa bits (its low 16 bits as float32 are not all zero). */
function holdsFloat32Digits(values: Float32Array): boolean {
  const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
  return bits.some((b) => (b & 0xffff) !== 0);
}

test(
  'a bf16 training step on torch differs from fp32 but stays within 2% (relative L2 of all weights)',
  bf16Opts,
  async () => {
    await onTorch();
    const fp32 = await twoSteps('fp32');
    const bf16 = await twoSteps('bf16');
    const again = await twoSteps('fp32');
    tf.dispose([fp32, bf16, again].flatMap((r) => r.slots.map((s) => s.tensor)));
    assert.equal(relativeL2(again.weights, fp32.weights), 0, 'fp32 is deterministic');
    const distance = relativeL2(bf16.weights, fp32.weights);
    assert.ok(distance > 1e-6, `bf16 computed the same weights as fp32 (${distance}): it did not run in bf16`);
    assert.ok(distance < 2e-2, `bf16 weights are ${distance} (relative L2) off fp32's`);
  },
);

test(
  'under bf16 the master weights and RMSProp slots stay float32 (values with more digits than bf16 has)',
  bf16Opts,
  async () => {
    await onTorch();
    const { weights, slotDtypes, slots } = await twoSteps('bf16');
    assert.ok(slotDtypes.length > 0 && slotDtypes.every((d) => d === 'float32'), `slot dtypes ${slotDtypes}`);
    assert.ok(weights.every((w) => w instanceof Float32Array));
    const conv = weights.filter((w) => w.length > 100) as Float32Array[];
    assert.ok(conv.every(holdsFloat32Digits), 'a weight holds only bf16-representable values: rounded to bf16');
    const slotValues = slots.map((s) => s.tensor.dataSync() as Float32Array).filter((v) => v.length > 100);
    assert.ok(slotValues.every(holdsFloat32Digits), 'an RMSProp slot holds only bf16-representable values');
    tf.dispose(slots.map((s) => s.tensor));
  },
);

test(
  'checkPreserved under bf16 training precision is strict float32 (~1e-6), where bf16 itself is ~1e-3 off',
  bf16Opts,
  async () => {
    await onTorch();
    const teacher = buildModel('inception-bn-small', { ...SMALL, width: 0.15 });
    const student = wider(teacher, widthTargets(teacher, buildModel('inception-bn-small', SMALL)), {
      noise: 'zero-sum',
      seed: 2,
    });
    const { x, y } = batch(16, 9);
    setTrainingPrecision('bf16');
    try {
      const strict = checkPreserved(teacher, student, x);
      assert.ok(strict.maxRel < 1e-5, `preservation under bf16 training: ${strict.maxRel}`);
      assert.equal(trainingPrecision(), 'bf16', 'the check restored the training precision');
      // The same comparison without the strict scope computes in bf16: far from exact, so the scope is what matters.
      const loose = tf.tidy(() => {
        const t = teacher.predict(x) as tf.Tensor;
        const s = student.predict(x) as tf.Tensor;
        return tf.max(tf.abs(tf.sub(t, s))).dataSync()[0]! / tf.max(tf.abs(t)).dataSync()[0]!;
      });
      assert.ok(loose > 1e-4, `a bf16 forward pass matched to ${loose}: bf16 was not in effect`);
    } finally {
      setTrainingPrecision('fp32');
      tf.dispose([x, y]);
      [teacher, student].forEach((m) => m.dispose());
    }
  },
);

test(
  'strictFloat32 nests and restores the training precision after a throw and after a promise',
  bf16Opts,
  async () => {
    await onTorch();
    setTrainingPrecision('bf16');
    try {
      assert.throws(() => strictFloat32(() => strictFloat32(() => assert.fail('inner'))), /inner/);
      assert.equal(trainingPrecision(), 'bf16');
      const x = tf.tensor4d(values(2 * 6 * 6 * 4, 5), [2, 6, 6, 4]);
      const w = tf.tensor4d(values(3 * 3 * 4 * 8, 6), [3, 3, 4, 8]);
      const conv = () => tf.tidy(() => Array.from(tf.conv2d(x, w, 1, 'same').dataSync()));
      const inBf16 = conv();
      const strict = await strictFloat32(async () => {
        await Promise.resolve();
        return conv();
      });
      assert.deepEqual(conv(), inBf16, 'bf16 again after the scope');
      setTrainingPrecision('fp32');
      assert.deepEqual(conv(), strict, 'the strict scope computed what fp32 computes');
      assert.notDeepEqual(inBf16, strict);
      tf.dispose([x, w]);
    } finally {
      setTrainingPrecision('fp32');
    }
  },
);

test('the cpu backend refuses bf16 and tf32 with a usage error, accepts fp32, and resolves auto to fp32', async () => {
  await tf.setBackend('cpu');
  assert.throws(
    () => setTrainingPrecision('bf16'),
    (e: Error) => e instanceof UsageError && /torch backend/.test(e.message),
  );
  assert.throws(() => setTrainingPrecision('tf32'), UsageError);
  assert.equal(setTrainingPrecision('auto'), 'fp32');
  assert.equal(setTrainingPrecision('fp32'), 'fp32');
  assert.throws(() => precisionFromEnv({ NET2NET_PRECISION: 'fp16' }), /NET2NET_PRECISION 'fp16' is invalid/);
  assert.equal(precisionFromEnv({ NET2NET_PRECISION: 'bf16' }), 'bf16');
});

test('tf32 is refused on a CPU torch backend, naming CUDA', { skip: !built }, async () => {
  await onTorch();
  assert.throws(() => setTrainingPrecision('tf32'), /CUDA GPUs only/);
  assert.equal(trainingPrecision(), 'fp32');
  await tf.setBackend('cpu');
});

test('the teacher cache key differs by precision, and fp32 keeps the key of a config without one', () => {
  const config = {
    experiment: 'wider',
    preset: 'smoke',
    run: 'teacher',
    role: 'teacher',
    label: 'teacher',
    init: 'random',
    learningRateMultiplier: 1,
    model: { family: 'inception-bn-small', options: {} },
    data: { spec: 'synthetic', options: {} },
    train: { steps: 4 },
    seed: 1,
    seeds: { model: 1, data: 1, transform: null },
    backend: 'torch',
    workers: 1,
    gitCommit: null,
  } as unknown as RunConfig;
  const none = teacherCacheKey(config, 'code');
  assert.equal(teacherCacheKey({ ...config, precision: 'fp32' }, 'code'), none);
  assert.notEqual(teacherCacheKey({ ...config, precision: 'bf16' }, 'code'), none);
  assert.notEqual(
    teacherCacheKey({ ...config, precision: 'bf16' }, 'code'),
    teacherCacheKey({ ...config, precision: 'tf32' }, 'code'),
  );
});

test(
  'a bf16 smoke experiment records bf16 everywhere, and its Net2Net student starts at its teacher',
  bf16Opts,
  async () => {
    const { runExperiment } = await import('../src/experiment/run-experiment.ts');
    await onTorch();
    const root = mkdtempSync(join(tmpdir(), 'net2net-precision-'));
    try {
      const result = await runExperiment(
        smokeOptions(root, 'wider', { backend: 'torch', precision: 'bf16', figures: true }),
      );
      const read = (...path: string[]) => JSON.parse(readFileSync(join(result.out, ...path), 'utf8'));
      for (const run of ['teacher', 'net2wider']) {
        assert.equal(read(run, 'config.json').precision, 'bf16', `${run}/config.json`);
        assert.equal(read(run, 'summary.json').precision, 'bf16', `${run}/summary.json`);
      }
      assert.equal(read('summary.json').precision, 'bf16');
      assert.equal(read('experiment.json').precision, 'bf16');
      assert.equal(read('figures', 'summary.json').precision, 'bf16');
      assert.match(readFileSync(join(result.out, 'figures', 'wider-validation.svg'), 'utf8'), /precision bf16/);
      const lastRow = (run: string) =>
        readFileSync(join(result.out, run, 'curve.csv'), 'utf8')
          .trim()
          .split('\n');
      const teacherLast = lastRow('teacher').at(-1)!.split(',');
      const studentFirst = lastRow('net2wider')[1]!.split(',');
      const valAcc = lastRow('teacher')[0]!.split(',').indexOf('val_acc');
      assert.equal(studentFirst[valAcc], teacherLast[valAcc], 'the student starts at its teacher (fp32 evaluation)');
      assert.equal(read('net2wider', 'transform.json').preservation.inference.ok, true);
    } finally {
      setTrainingPrecision('fp32');
      rmSync(root, { recursive: true, force: true });
    }
  },
);

function runCli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ status: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', ...args], {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, ...env },
    });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (status) => resolve({ status, stderr }));
  });
}

test('experiment and bench refuse bf16/tf32 on a float32-only backend and bad names, with exit status 2', async () => {
  const root = mkdtempSync(join(tmpdir(), 'net2net-precision-cli-'));
  const experiment = (extra: string[]) => [
    'src/cli/experiment.ts',
    'wider',
    '--preset',
    'smoke',
    '--out',
    join(root, extra.join('-').replace(/[^a-z0-9-]/g, '')),
    '--cache-dir',
    join(root, 'cache'),
    ...extra,
  ];
  const cases: [string[], NodeJS.ProcessEnv, RegExp][] = [
    [experiment(['--backend', 'cpu', '--precision', 'bf16']), {}, /precision 'bf16' needs the torch backend/],
    [experiment(['--backend', 'wasm']), { NET2NET_PRECISION: 'tf32' }, /precision 'tf32' needs the torch backend/],
    [experiment(['--precision', 'fp16']), {}, /--precision 'fp16' is invalid: accepted values are fp32, bf16/],
    [experiment([]), { NET2NET_PRECISION: 'half' }, /NET2NET_PRECISION 'half' is invalid/],
    [['scripts/bench.ts', 'train', '--backend', 'wasm', '--precision', 'bf16', '--steps', '1'], {}, /needs the torch/],
  ];
  try {
    const results = await Promise.all(cases.map(([args, env]) => runCli(args, env)));
    results.forEach(({ status, stderr }, i) => {
      assert.equal(status, 2, `${cases[i]![0].join(' ')}: ${stderr}`);
      assert.match(stderr, cases[i]![2]);
    });
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
