/**
 * Optimizer state through the operators (src/net2net/optimizer-state.ts, src/net2net/optimizer-state.md):
 * teachers trained with the real step engine, grown with their RMSProp slots, checked against the students' own
 * gradients and against the teacher's next step in function space; BatchNorm, deeper's inserts, random pad, and a
 * checkpoint resume of a student started from transferred state.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../src/backend/backend.ts';
import { deeper, mapOptimizerState, randomPad, wider } from '../src/index.ts';
import type { MomentumRule, OptimizerSlot, TransformRecord, WidthRecord } from '../src/index.ts';
import { openDataset } from '../src/data/open-dataset.ts';
import { transferredOptimizerState } from '../src/experiment/student-optimizer-state.ts';
import { checkpointDir, findCheckpoint, loadCheckpoint } from '../src/train/checkpoint.ts';
import { classificationLoss } from '../src/train/classification-loss.ts';
import { readCurveFile } from '../src/train/curve-log.ts';
import { LocalStepEngine } from '../src/train/local-step-engine.ts';
import { INCEPTION_RMSPROP, train } from '../src/train/trainer.ts';
import { SeededRandom } from '../src/random/seeded-random.ts';
import * as F from './net2net-fixtures.ts';
import { randomGraph, randomTargets } from './net2net-fuzz-graphs.ts';
import { smallTrainConfig, withoutWall } from './curve-fixtures.ts';

await selectBackend('cpu', () => {});

const RMSPROP = { ...INCEPTION_RMSPROP, learningRate: 0.05, weightDecay: 0 };

interface Batch {
  x: tf.Tensor4D;
  y: tf.Tensor1D;
}

function randomBatch(model: tf.LayersModel, size: number, seed: number): Batch {
  const classes = model.outputs[0].shape.at(-1) as number;
  const r = new SeededRandom(seed, 'mulberry32');
  const labels = Int32Array.from({ length: size }, () => r.int(classes));
  return { x: F.randomInputs(model, size, seed) as tf.Tensor4D, y: tf.tensor1d(labels, 'int32') };
}

/** A teacher trained `steps` RMSProp steps by the real engine (on its own batches); returns the engine. */
async function trainTeacher(model: tf.LayersModel, steps: number, seed: number): Promise<LocalStepEngine> {
  const engine = new LocalStepEngine(model, RMSPROP);
  for (let s = 0; s < steps; s++) {
    const { x, y } = randomBatch(model, 16, seed * 100 + s);
    await engine.step(x, y, RMSPROP.learningRate);
    tf.dispose([x, y]);
  }
  return engine;
}

/** Gradients of the training loss (BatchNorm in training mode), keyed by original weight name. */
function gradients(model: tf.LayersModel, { x, y }: Batch): Map<string, Float32Array> {
  const variables = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const { value, grads } = tf.variableGrads(() => classificationLoss(model, x, y, 0).total, variables);
  value.dispose();
  const byName = new Map<string, Float32Array>();
  model.trainableWeights.forEach((w, i) => {
    byName.set(w.originalName, grads[variables[i].name].dataSync() as Float32Array);
  });
  tf.dispose(Object.values(grads));
  return byName;
}

/** Slots with every weight's mean square = g^2 and momentum = g, for checking the gradient rule with the mapper. */
function gradientSlots(model: tf.LayersModel, g: Map<string, Float32Array>): OptimizerSlot[] {
  return [
    { name: 'iter', tensor: tf.scalar(0, 'int32') },
    ...model.trainableWeights.flatMap((w) => {
      const values = g.get(w.originalName)!;
      return [
        {
          name: `${w.originalName}/rms`,
          tensor: tf.tensor(
            values.map((v) => v * v),
            w.shape as number[],
          ),
        },
        { name: `${w.originalName}/momentum`, tensor: tf.tensor(values, w.shape as number[]) },
      ];
    }),
  ];
}

const slotValues = (slots: OptimizerSlot[]) =>
  new Map(slots.map((s) => [s.name, s.tensor.dataSync() as Float32Array | Int32Array]));

function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}

/**
 * max |a - b| relative to max |b|, or to `floor` where b is smaller (a conv bias before a training-mode BatchNorm has
 * a zero gradient: its computed values are rounding noise).
 */
function maxDiffRelative(a: ArrayLike<number>, b: ArrayLike<number>, floor = 0): number {
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff = Math.max(diff, Math.abs(a[i] - b[i]));
  const scale = Math.max(maxAbs(b), floor);
  return scale === 0 ? diff : diff / scale;
}

/**
 * Worst relative difference, over the student's weights, between the student's gradients and the teacher's mapped
 * by the rule (momentum slot with a huge epsilon: c * g), and between the mapped mean squares and the student's g^2.
 */
function gradientRuleError(
  teacher: tf.LayersModel,
  student: tf.LayersModel,
  record: TransformRecord,
  batch: Batch,
): { gradient: number; meanSquare: number } {
  const g = gradients(teacher, batch);
  const gs = gradients(student, batch);
  const slots = gradientSlots(teacher, g);
  const momentum: MomentumRule = { rule: 'gradient-history', epsilon: 1e12 };
  const mapped = mapOptimizerState({ teacher, student, record, slots, momentum });
  const values = slotValues(mapped);
  let gradient = 0;
  let meanSquare = 0;
  const floor = 1e-3 * Math.max(...[...gs.values()].map(maxAbs));
  for (const w of student.trainableWeights) {
    const own = gs.get(w.originalName)!;
    gradient = Math.max(gradient, maxDiffRelative(values.get(`${w.originalName}/momentum`)!, own, floor));
    const squares = own.map((v) => v * v);
    meanSquare = Math.max(meanSquare, maxDiffRelative(values.get(`${w.originalName}/rms`)!, squares, floor * floor));
  }
  tf.dispose([...slots, ...mapped].map((s) => s.tensor));
  return { gradient, meanSquare };
}

function widen(teacher: tf.LayersModel, targets: Record<string, number>, seed: number, noise: 'none' | 'zero-sum') {
  let record: TransformRecord | undefined;
  const student = wider(teacher, targets, { seed, noise, record: (r) => (record = r) });
  return { student, record: record! };
}

test('wider on fuzz graphs: mapped slots have the student shapes, and the rule is the students own gradients', async () => {
  let worst = { gradient: 0, meanSquare: 0 };
  let worstNoisy = 0;
  let checked = 0;
  for (let seed = 1; seed <= 8; seed++) {
    const teacher = randomGraph(seed);
    const targets = randomTargets(teacher, new SeededRandom(1000 + seed, 'mulberry32'));
    if (Object.keys(targets).length === 0) {
      teacher.dispose();
      continue;
    }
    const engine = await trainTeacher(teacher, 3, seed);
    const slots = await engine.getOptimizerState();
    const { student, record } = widen(teacher, targets, seed, 'none');
    const before = tf.memory().numTensors;
    const mapped = mapOptimizerState({ teacher, student, record, slots });
    assert.equal(tf.memory().numTensors, before + mapped.length, 'mapping leaves only its results behind');
    assert.equal(mapped.length, 1 + 2 * student.trainableWeights.length);
    for (const w of student.trainableWeights)
      for (const kind of ['rms', 'momentum'])
        assert.deepEqual(mapped.find((s) => s.name === `${w.originalName}/${kind}`)!.tensor.shape, w.shape);
    tf.dispose(mapped.map((s) => s.tensor));
    assert.equal(tf.memory().numTensors, before);

    const batch = randomBatch(teacher, 16, 777 + seed);
    const error = gradientRuleError(teacher, student, record, batch);
    worst = {
      gradient: Math.max(worst.gradient, error.gradient),
      meanSquare: Math.max(worst.meanSquare, error.meanSquare),
    };
    const noisy = widen(teacher, targets, seed, 'zero-sum');
    worstNoisy = Math.max(worstNoisy, gradientRuleError(teacher, noisy.student, noisy.record, batch).gradient);
    checked++;
    tf.dispose([batch.x, batch.y, ...slots.map((s) => s.tensor)]);
    await engine.dispose();
    [teacher, student, noisy.student].forEach((m) => m.dispose());
  }
  console.log(
    `# gradient rule over ${checked} fuzz graphs, worst relative error: noise none ${JSON.stringify(worst)}, ` +
      `zero-sum noise (gradient) ${worstNoisy.toExponential(2)}`,
  );
  assert.ok(checked >= 5, `only ${checked} fuzz graphs had targets`);
  assert.ok(worst.gradient < 1e-3, `mapped teacher gradients differ from the student's by ${worst.gradient}`);
  assert.ok(worst.meanSquare < 1e-3, `mapped g^2 differs from the student's by ${worst.meanSquare}`);
});

/** The model's inference outputs on `probe`. */
function outputs(model: tf.LayersModel, probe: tf.Tensor): Float32Array {
  const out = model.predict(probe) as tf.Tensor;
  const values = out.dataSync() as Float32Array;
  out.dispose();
  return values;
}

/** One RMSProp step of the real engine from `slots` (fresh slots when null) on `batch`. */
async function oneStep(model: tf.LayersModel, slots: OptimizerSlot[] | null, batch: Batch, lr: number): Promise<void> {
  const engine = new LocalStepEngine(model, RMSPROP);
  if (slots) await engine.setOptimizerState(slots);
  await engine.step(batch.x, batch.y, lr);
  await engine.dispose();
}

type Variant = 'velocity' | 'gradient-history' | 'fresh';
const VARIANTS: Variant[] = ['velocity', 'gradient-history', 'fresh'];

/**
 * A teacher trained 6 steps takes one more step on a batch; students grown from it before that step take one step on
 * the same batch, from each variant of optimizer state. Returns, per variant, max |student - teacher| of the outputs
 * after the step relative to max |teacher after - teacher before| (the step's own change of the function).
 */
async function oneStepInFunctionSpace(
  makeTeacher: () => tf.LayersModel,
  grow: (teacher: tf.LayersModel) => { student: tf.LayersModel; record: TransformRecord },
  lr: number,
): Promise<Record<Variant, number>> {
  const teacher = makeTeacher();
  const engine = await trainTeacher(teacher, 6, 11);
  const slots = await engine.getOptimizerState();
  const probe = F.randomInputs(teacher, 64, 99);
  const batch = randomBatch(teacher, 16, 4242);
  const students = VARIANTS.map((variant) => {
    const { student, record } = grow(teacher);
    const momentum: MomentumRule =
      variant === 'gradient-history' ? { rule: variant, epsilon: RMSPROP.epsilon } : { rule: 'velocity' };
    const mapped = variant === 'fresh' ? null : mapOptimizerState({ teacher, student, record, slots, momentum });
    return { variant, student, mapped };
  });
  const before = outputs(teacher, probe);
  await engine.step(batch.x, batch.y, lr);
  const after = outputs(teacher, probe);
  const change = maxAbs(after.map((v, i) => v - before[i]));
  const result = {} as Record<Variant, number>;
  for (const { variant, student, mapped } of students) {
    await oneStep(student, mapped, batch, lr);
    const diff = maxAbs(outputs(student, probe).map((v, i) => v - after[i]));
    result[variant] = diff / change;
    if (mapped) tf.dispose(mapped.map((s) => s.tensor));
    student.dispose();
  }
  tf.dispose([probe, batch.x, batch.y, ...slots.map((s) => s.tensor)]);
  await engine.dispose();
  teacher.dispose();
  return result;
}

const inceptionTeacher = () => {
  F.seedFixtures(500);
  return F.inceptionModule();
};
const INCEPTION_TARGETS = { stem: 9, 'mixed/3x3': 8, 'mixed/1x1': 6, head: 10 };

const format = (r: Record<string, number>) =>
  Object.entries(r)
    .map(([k, v]) => `${k} ${v.toExponential(2)}`)
    .join(', ');

test('wider: one step from transferred slots follows the teacher step in function space, fresh slots do not', async () => {
  const grow = (noise: 'none' | 'zero-sum') => (teacher: tf.LayersModel) => widen(teacher, INCEPTION_TARGETS, 3, noise);
  // Learning rate 0: the step is the momentum alone, which the 'velocity' rule maps exactly.
  const momentumOnly = await oneStepInFunctionSpace(inceptionTeacher, grow('none'), 0);
  const full = await oneStepInFunctionSpace(inceptionTeacher, grow('none'), RMSPROP.learningRate);
  const noisy = await oneStepInFunctionSpace(inceptionTeacher, grow('zero-sum'), RMSPROP.learningRate);
  console.log(
    `# wider, one step at lr 0 (momentum only), |student - teacher| / |teacher's change|: ${format(momentumOnly)}`,
  );
  console.log(`# wider, one step at lr ${RMSPROP.learningRate}: ${format(full)}`);
  console.log(`# wider with zero-sum noise, one step at lr ${RMSPROP.learningRate}: ${format(noisy)}`);
  assert.ok(momentumOnly.velocity < 1e-4, `momentum-only step off by ${momentumOnly.velocity}`);
  // A fresh student's weights stay put at lr 0; what it shares with the teacher's change is the BatchNorm moving
  // statistics' update.
  assert.ok(momentumOnly.fresh > 0.3, `fresh slots at lr 0: ${momentumOnly.fresh}`);
  for (const r of [full, noisy]) {
    assert.ok(r.velocity < r.fresh / 3, `transferred ${r.velocity} not much closer than fresh ${r.fresh}`);
    assert.ok(
      r.velocity <= r['gradient-history'],
      `velocity ${r.velocity} > gradient-history ${r['gradient-history']}`,
    );
  }
});

test('BatchNorm slots of replicated channels: mean squares / k^2, momentum copied, and the mapping commutes with a step', async () => {
  F.seedFixtures(600);
  const teacher = F.convNetBn();
  const engine = await trainTeacher(teacher, 4, 21);
  const slots = await engine.getOptimizerState();
  const { student, record } = widen(teacher, { conv1: 7 }, 5, 'none');
  const group = (record as WidthRecord).groups.find((g) => g.writers.includes('conv1'))!;
  const [g, counts] = [group.mapping!, group.replicaCounts!];
  assert.ok(
    counts.some((k) => k > 1),
    'some channel is replicated',
  );
  const mapped = mapOptimizerState({ teacher, student, record, slots });
  const teacherValues = slotValues(slots);
  const values = slotValues(mapped);
  for (const weight of ['conv1/bn/gamma', 'conv1/bn/beta']) {
    const [ms, mom] = [teacherValues.get(`${weight}/rms`)!, teacherValues.get(`${weight}/momentum`)!];
    assert.deepEqual(
      Array.from(values.get(`${weight}/rms`)!),
      g.map((u) => Math.fround(ms[u] / counts[u] ** 2)),
    );
    assert.deepEqual(
      Array.from(values.get(`${weight}/momentum`)!),
      g.map((u) => mom[u]),
    );
  }
  // One step of each on the same batch: the student's new mean squares are the teacher's new ones mapped.
  const batch = randomBatch(teacher, 16, 31);
  await engine.step(batch.x, batch.y, RMSPROP.learningRate);
  const studentEngine = new LocalStepEngine(student, RMSPROP);
  await studentEngine.setOptimizerState(mapped);
  await studentEngine.step(batch.x, batch.y, RMSPROP.learningRate);
  const teacherAfter = await engine.getOptimizerState();
  const studentAfter = slotValues(await studentEngine.getOptimizerState());
  const mappedAfter = mapOptimizerState({ teacher, student, record, slots: teacherAfter });
  let worst = 0;
  for (const { name, tensor } of mappedAfter)
    if (name.endsWith('/rms'))
      worst = Math.max(worst, maxDiffRelative(tensor.dataSync(), studentAfter.get(name)!, 1e-12));
  console.log(
    `# mean squares after one step, student vs mapped teacher: worst relative difference ${worst.toExponential(2)}`,
  );
  assert.ok(worst < 1e-4, `the mean-square rule does not commute with a step: ${worst}`);
  tf.dispose([batch.x, batch.y, ...[...slots, ...mapped, ...teacherAfter, ...mappedAfter].map((s) => s.tensor)]);
  await Promise.all([engine.dispose(), studentEngine.dispose()]);
  [teacher, student].forEach((m) => m.dispose());
});

test('deeper: inserted layers get zero slots, the others keep the teacher slots, which the gradients justify', async () => {
  F.seedFixtures(700);
  const teacher = F.convNetBn();
  const engine = await trainTeacher(teacher, 4, 41);
  const slots = await engine.getOptimizerState();
  const teacherValues = slotValues(slots);
  const data = F.randomInputs(teacher, 64, 43);
  const batch = randomBatch(teacher, 16, 47);
  const report: Record<string, number> = {};
  for (const batchNorm of [false, true]) {
    let record: TransformRecord | undefined;
    const spec = { after: 'conv1/relu', kind: 'conv' as const, batchNorm };
    const student = deeper(teacher, [spec], { data, record: (r) => (record = r) });
    const inserted = new Set(record!.operator === 'deeper' ? record!.inserts[0].layers : []);
    const before = tf.memory().numTensors;
    const mapped = mapOptimizerState({ teacher, student, record: record!, slots });
    let zeros = 0;
    for (const { name, tensor } of mapped) {
      const layer = name.slice(0, name.lastIndexOf('/', name.lastIndexOf('/') - 1));
      if (inserted.has(layer)) {
        assert.equal(maxAbs(tensor.dataSync()), 0, `${name} of an inserted layer is not zero`);
        zeros++;
      } else assert.deepEqual(tensor.dataSync(), teacherValues.get(name), `${name} is not the teacher's`);
    }
    assert.ok(zeros >= 2, 'the inserted conv has slots');
    tf.dispose(mapped.map((s) => s.tensor));
    assert.equal(tf.memory().numTensors, before);
    // The existing weights' gradients: the teacher's exactly without an inserted BatchNorm; with one, its
    // training-mode backward pass (batch statistics) changes the gradients of the layers below it.
    const g = gradients(teacher, batch);
    const gs = gradients(student, batch);
    const floor = 1e-3 * Math.max(...[...g.values()].map(maxAbs));
    report[batchNorm ? 'conv+BN insert' : 'conv insert'] = Math.max(
      ...[...g.entries()].map(([name, values]) => maxDiffRelative(gs.get(name)!, values, floor)),
    );
    student.dispose();
  }
  console.log(
    `# deeper: existing weights' gradients, student vs teacher, worst relative difference: ${format(report)}`,
  );
  assert.ok(report['conv insert'] < 1e-4, `an identity conv changed the gradients by ${report['conv insert']}`);
  tf.dispose([data, batch.x, batch.y, ...slots.map((s) => s.tensor)]);
  await engine.dispose();
  teacher.dispose();
});

test('deeper: one step from transferred slots follows the teacher step in function space', async () => {
  const makeTeacher = () => {
    F.seedFixtures(800);
    return F.convNetBn();
  };
  const grow = (teacher: tf.LayersModel) => {
    let record: TransformRecord | undefined;
    const student = deeper(teacher, [{ after: 'conv1/relu', kind: 'conv' }], { record: (r) => (record = r) });
    return { student, record: record! };
  };
  const momentumOnly = await oneStepInFunctionSpace(makeTeacher, grow, 0);
  const full = await oneStepInFunctionSpace(makeTeacher, grow, RMSPROP.learningRate);
  console.log(
    `# deeper (conv insert), one step at lr 0: ${format(momentumOnly)}; at lr ${RMSPROP.learningRate}: ${format(full)}`,
  );
  assert.ok(momentumOnly.velocity < 1e-4, `momentum-only step off by ${momentumOnly.velocity}`);
  assert.ok(full.velocity < full.fresh / 3, `transferred ${full.velocity} not much closer than fresh ${full.fresh}`);
});

test('randomPad: the teacher slots where both units are the teacher own, zero for every weight touching a new unit', async () => {
  F.seedFixtures(900);
  const teacher = F.mlp();
  const engine = new LocalStepEngine(teacher, RMSPROP);
  for (let s = 0; s < 3; s++) {
    const x = F.randomInputs(teacher, 16, 950 + s) as tf.Tensor4D;
    const y = tf.tensor1d(
      Int32Array.from({ length: 16 }, (_, i) => (i + s) % 3),
      'int32',
    );
    await engine.step(x, y, RMSPROP.learningRate);
    tf.dispose([x, y]);
  }
  const slots = await engine.getOptimizerState();
  let record: TransformRecord | undefined;
  const student = randomPad(teacher, { fc1: 9 }, { seed: 2, record: (r) => (record = r) });
  const mapped = slotValues(mapOptimizerState({ teacher, student, record: record!, slots }));
  const teacherValues = slotValues(slots);
  for (const kind of ['rms', 'momentum']) {
    const t = (name: string) => teacherValues.get(`${name}/${kind}`)!;
    const s = (name: string) => Array.from(mapped.get(`${name}/${kind}`)!);
    // fc1/kernel [8, 6] -> [8, 9]: new columns 6..8; fc2/kernel [6, 5] -> [9, 5]: new rows 6..8.
    const fc1 = s('fc1/kernel');
    for (let i = 0; i < 8; i++)
      for (let j = 0; j < 9; j++) assert.equal(fc1[i * 9 + j], j < 6 ? t('fc1/kernel')[i * 6 + j] : 0);
    assert.deepEqual(s('fc2/kernel'), [...Array.from(t('fc2/kernel')), ...new Array(15).fill(0)]);
    for (const w of ['fc1/bias', 'fc1/bn/gamma', 'fc1/bn/beta']) assert.deepEqual(s(w), [...Array.from(t(w)), 0, 0, 0]);
    assert.deepEqual(s('logits/kernel'), Array.from(t('logits/kernel')));
    assert.ok(maxAbs(t('fc1/kernel')) > 0, 'the teacher has state to carry');
  }
  assert.equal(mapped.get('iter')![0], 3);
  tf.dispose(slots.map((s) => s.tensor));
  await engine.dispose();
  [teacher, student].forEach((m) => m.dispose());
});

test('a student started from transferred state, killed and resumed, continues with identical numbers', async () => {
  const root = mkdtempSync(join(tmpdir(), 'net2net-optstate-'));
  const dataset = await openDataset('synthetic:12x12x1:4:64:32');
  try {
    const config = (steps: number) => smallTrainConfig({ steps });
    const smallNet = () => {
      F.seedFixtures(1000);
      const input = tf.input({ shape: [12, 12, 1] });
      const x = tf.layers
        .globalAveragePooling2d({ name: 'gap' })
        .apply(F.convBnRelu(input, 3, 'conv')) as tf.SymbolicTensor;
      return F.randomizeBatchNorm(tf.model({ inputs: input, outputs: F.dense(x, 4, 'logits') }), 1000);
    };
    const teacherDir = join(root, 'teacher');
    const taught = await train({
      runDir: teacherDir,
      config: config(6),
      dataset,
      resume: false,
      initialModel: smallNet,
    });
    taught.model.dispose();
    const teacher = (await loadCheckpoint(findCheckpoint(teacherDir)!)).model;
    const records: TransformRecord[] = [];
    const initialModel = () =>
      wider(teacher, { conv: 5 }, { seed: 9, noise: 'zero-sum', record: (r) => records.push(r) });
    const transferred = (student: tf.LayersModel) =>
      transferredOptimizerState(checkpointDir(teacherDir), teacher, student, records.slice(-1));
    const run = (name: string, transfer: boolean, afterStep?: (step: number) => void) =>
      train({
        runDir: join(root, name),
        config: config(8),
        dataset,
        resume: false,
        initialModel,
        initialOptimizerState: transfer ? transferred : undefined,
        afterStep,
      });
    const whole = await run('whole', true);
    const crash = (step: number) => {
      if (step === 5) throw new Error('simulated crash at step 5');
    };
    await assert.rejects(run('killed', true, crash), /simulated crash/);
    const resumed = await train({
      runDir: join(root, 'killed'),
      config: config(8),
      dataset,
      resume: true,
      initialModel: () => assert.fail('a resumed run does not make its initial model'),
      initialOptimizerState: () => assert.fail('a resumed run takes its optimizer state from the checkpoint'),
    });
    assert.equal(resumed.resumedFrom, 3);
    const fresh = await run('fresh', false);
    const curve = (name: string) => withoutWall(readCurveFile(join(root, name, 'curve.csv')).rows);
    assert.deepEqual(curve('killed'), curve('whole'));
    for (const [a, b] of whole.model.getWeights().map((w, i) => [w, resumed.model.getWeights()[i]] as const))
      assert.deepEqual(a.dataSync(), b.dataSync());
    assert.notDeepEqual(curve('fresh').slice(1), curve('whole').slice(1), 'transferred state changes the run');
    [whole, resumed, fresh].forEach((r) => r.model.dispose());
    teacher.dispose();
  } finally {
    await dataset.close();
    rmSync(root, { recursive: true, force: true });
  }
});
