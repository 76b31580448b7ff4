import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../src/backend/backend.ts';
import { deeper, wider, checkPreserved, identityConvKernel } from '../src/index.ts';
import type { DeeperRecord, DeeperSpec, TransformRecord } from '../src/index.ts';
import * as F from './net2net-fixtures.ts';
import { withPreciseBatchNorm } from '../src/train/precise-batch-norm.ts';

await selectBackend('cpu', () => {});

type Case = { name: string; build: () => tf.LayersModel; inserts: DeeperSpec[] };
const CASES: Case[] = [
  {
    name: 'functional MLP',
    build: F.mlp,
    inserts: [
      { after: 'fc1/bn', kind: 'dense', batchNorm: true },
      { after: 'fc2', kind: 'dense' },
    ],
  },
  {
    name: 'tf.sequential MLP',
    build: F.sequentialMlp,
    inserts: [{ after: 'seq/fc2', kind: 'dense', batchNorm: true }],
  },
  {
    name: 'conv net with BN',
    build: F.convNetBn,
    inserts: [
      { after: 'conv1/relu', kind: 'conv', batchNorm: true },
      { after: 'conv2/relu', kind: 'conv-pair', batchNorm: true, kernel: 5 },
    ],
  },
  {
    name: 'Inception-style module',
    build: F.inceptionModule,
    inserts: [
      { after: 'mixed/concat', kind: 'conv', batchNorm: true },
      { after: 'mixed/3x3/relu', kind: 'conv-pair', batchNorm: true, pairOrder: 'kx1-first' },
      { after: 'mixed/3x3/relu', kind: 'conv' },
    ],
  },
  {
    name: 'residual block with Add',
    build: F.residualBlock,
    inserts: [
      { after: 'res/a/relu', kind: 'conv', batchNorm: true },
      { after: 'res/add', kind: 'conv', batchNorm: true },
    ],
  },
  {
    name: 'layer with two consumers',
    build: F.twoConsumers,
    inserts: [{ after: 'shared/relu', kind: 'conv', batchNorm: true, kernel: 1 }],
  },
  {
    name: 'conv -> Flatten -> Dense',
    build: F.convFlattenDense,
    inserts: [
      { after: 'conv/relu', kind: 'conv', batchNorm: true },
      { after: 'flat', kind: 'dense' },
    ],
  },
];

for (const c of CASES) {
  test(`deeper preserves the ${c.name} at inference (training-mode error reported)`, () => {
    const teacher = c.build();
    const data = F.randomInputs(teacher, 256, 5);
    const inputs = F.randomInputs(teacher, 128, 6);
    const teacherWeights = teacher.getWeights().map((w) => Array.from(w.dataSync()));
    for (const statistics of ['training', 'inference'] as const) {
      const student = deeper(teacher, c.inserts, { data, statistics });
      assert.ok(student.layers.length > teacher.layers.length);
      const inference = checkPreserved(teacher, student, inputs);
      const training = checkPreserved(teacher, student, inputs, { training: true });
      console.log(
        `# ${c.name} deeper statistics=${statistics}: inference maxRel ${inference.maxRel}, training maxRel ${training.maxRel}`,
      );
      assert.ok(inference.ok && inference.maxRel < 1e-5, `inference maxRel ${inference.maxRel}`);
      student.dispose();
    }
    // Measuring statistics in training mode must not change the teacher's moving statistics.
    teacher.getWeights().forEach((w, i) => assert.deepEqual(Array.from(w.dataSync()), teacherWeights[i]));
    tf.dispose([data, inputs]);
    teacher.dispose();
  });
}

test('training-mode statistics keep training-mode outputs closer than inference-mode statistics', () => {
  const teacher = F.convNetBn();
  const data = F.randomInputs(teacher, 256, 1);
  const spec: DeeperSpec[] = [{ after: 'conv1/relu', kind: 'conv', batchNorm: true }];
  const results = (['training', 'inference'] as const).map((statistics) => {
    const student = deeper(teacher, spec, { data, statistics });
    const r = checkPreserved(teacher, student, data, { training: true });
    student.dispose();
    return r.maxRel;
  });
  console.log(`# conv+BN insert, training-mode check: training stats ${results[0]}, inference stats ${results[1]}`);
  assert.ok(results[0] < results[1]);
  assert.ok(results[0] < 0.05);
  data.dispose();
  teacher.dispose();
});

test('statistics averaged per batch make the insert an identity under precise BatchNorm evaluation', async () => {
  const teacher = F.convNetBn();
  const data = F.randomInputs(teacher, 64, 3);
  const batches = [0, 16, 32, 48].map((start) => data.slice(start, 16));
  const spec: DeeperSpec[] = [{ after: 'conv1/relu', kind: 'conv', batchNorm: true }];
  // How far the inserted BatchNorm is from an identity once precise evaluation re-estimated its statistics from the
  // same four batches: |re-estimated mean - beta| and |re-estimated variance + eps - gamma^2|, relative to gamma^2.
  const distance = async (statisticsBatchSize: number | undefined): Promise<number> => {
    const student = deeper(teacher, spec, { data, statisticsBatchSize });
    const bn = student.getLayer('conv1/relu/deeper1/bn');
    const epsilon = Number(bn.getConfig()['epsilon']);
    const [gamma, beta] = bn.getWeights().map((w) => Array.from(w.dataSync()));
    const reEstimated = await withPreciseBatchNorm(student, batches, async () =>
      bn.getWeights().map((w) => Array.from(w.dataSync())),
    );
    student.dispose();
    const [, , mean, variance] = reEstimated;
    return Math.max(
      ...gamma!.map((g, c) => Math.abs(mean![c]! - beta![c]!) / g),
      ...gamma!.map((g, c) => Math.abs(variance![c]! + epsilon - g * g) / (g * g)),
    );
  };
  const perBatch = await distance(16);
  const oneBatch = await distance(undefined);
  console.log(`# inserted BN vs identity after precise re-estimation: per batch ${perBatch}, one batch ${oneBatch}`);
  assert.ok(perBatch < 1e-5, `per-batch statistics: ${perBatch}`);
  assert.ok(oneBatch > 100 * perBatch, `one-batch statistics: ${oneBatch}`);
  assert.throws(() => deeper(teacher, spec, { data, statisticsBatchSize: 0 }), /statisticsBatchSize/);
  tf.dispose([data, ...batches]);
  teacher.dispose();
});

test('inserted layer names match the model builders; the record lists them and round-trips through JSON', () => {
  const teacher = F.convNetBn();
  const data = F.randomInputs(teacher, 64, 1);
  let record: TransformRecord | undefined;
  const student = deeper(
    teacher,
    [
      { after: 'conv2/relu', kind: 'conv-pair', batchNorm: true, pairOrder: 'kx1-first', name: 'conv2/extra1' },
      { after: 'conv1/relu', kind: 'conv', batchNorm: true },
      { after: 'conv1/relu', kind: 'conv' },
      { after: 'gap', kind: 'dense' },
    ],
    { data, record: (r) => (record = r) },
  );
  const names = student.layers.map((l) => l.name);
  for (const name of [
    'conv2/extra1/3x1',
    'conv2/extra1/3x1/bn',
    'conv2/extra1/3x1/relu',
    'conv2/extra1/1x3',
    'conv2/extra1/1x3/bn',
    'conv2/extra1/1x3/relu',
    'conv1/relu/deeper1',
    'conv1/relu/deeper1/bn',
    'conv1/relu/deeper1/relu',
    'conv1/relu/deeper2',
    'conv1/relu/deeper2/relu',
    'gap/deeper1',
  ])
    assert.ok(names.includes(name), `missing ${name}`);
  assert.ok(!names.includes('gap/deeper1/relu'), 'no ReLU after a layer whose output can be negative');
  // Conv layers: no bias when followed by BN, bias otherwise; 'same' padding; stride 1.
  const withBn = student.getLayer('conv1/relu/deeper1').getConfig();
  const withoutBn = student.getLayer('conv1/relu/deeper2').getConfig();
  assert.equal(withBn['useBias'], false);
  assert.equal(withoutBn['useBias'], true);
  assert.equal(withBn['padding'], 'same');
  assert.deepEqual(student.getLayer('conv2/extra1/3x1').getConfig()['kernelSize'], [3, 1]);
  // Stacked inserts after one layer follow each other: deeper1 feeds deeper2, which feeds the old consumer.
  const readerOf = (name: string) =>
    student.layers.filter((l) => l.inboundNodes[0]?.inboundLayers.some((i) => i.name === name)).map((l) => l.name);
  assert.deepEqual(readerOf('conv1/relu/deeper1/relu'), ['conv1/relu/deeper2']);
  assert.deepEqual(readerOf('conv1/relu/deeper2/relu'), ['pool1']);
  const parsed = JSON.parse(JSON.stringify(record)) as DeeperRecord;
  assert.deepEqual(parsed, record);
  assert.equal(parsed.statistics, 'training');
  assert.equal('seed' in parsed, false, 'deeper draws nothing at random: its record names no seed');
  assert.deepEqual(parsed.inserts[0].layers.slice(0, 3), [
    'conv2/extra1/3x1',
    'conv2/extra1/3x1/bn',
    'conv2/extra1/3x1/relu',
  ]);
  assert.equal(parsed.inserts[0].statistics!.channels, 6);
  assert.equal(parsed.inserts[0].statistics!.samples, 64);
  // The BN of an insert: gamma = sqrt(var + eps), beta = mean, moving statistics = measured ones.
  const [gamma, beta, mean, variance] = student
    .getLayer('conv2/extra1/3x1/bn')
    .getWeights()
    .map((w) => Array.from(w.dataSync()));
  const stats = parsed.inserts[0].statistics!;
  stats.variance.forEach((v, i) => {
    assert.ok(Math.abs(gamma[i] - Math.sqrt(v + 1e-3)) < 1e-6);
    assert.ok(Math.abs(beta[i] - stats.mean[i]) < 1e-7);
    assert.ok(Math.abs(mean[i] - stats.mean[i]) < 1e-7);
    assert.ok(Math.abs(variance[i] - v) < 1e-7);
  });
  assert.ok(checkPreserved(teacher, student, data).ok);
  data.dispose();
  [teacher, student].forEach((m) => m.dispose());
});

test('identity conv kernels put the 1 at the centre tap k // 2 for k x k, 1 x k and k x 1', () => {
  for (const [kh, kw] of [
    [5, 5],
    [1, 5],
    [3, 1],
  ]) {
    const kernel = identityConvKernel(kh, kw, 2);
    const values = kernel.arraySync() as number[][][][];
    assert.equal(values[Math.floor(kh / 2)][Math.floor(kw / 2)][1][1], 1);
    assert.equal(values[Math.floor(kh / 2)][Math.floor(kw / 2)][0][1], 0);
    assert.equal(kernel.sum().dataSync()[0], 2);
    kernel.dispose();
  }
});

test('chains of several widen and deepen steps stay within tolerance', () => {
  const teacher = F.inceptionModule();
  const data = F.randomInputs(teacher, 128, 3);
  const inputs = F.randomInputs(teacher, 64, 4);
  const models: tf.LayersModel[] = [teacher];
  let current = teacher;
  const steps: ((m: tf.LayersModel) => tf.LayersModel)[] = [
    (m) => wider(m, { stem: 8, 'mixed/3x3': 7 }, { seed: 1, noise: 'zero-sum' }),
    (m) => deeper(m, [{ after: 'mixed/3x3/relu', kind: 'conv-pair', batchNorm: true }], { data }),
    (m) => wider(m, { 'mixed/3x3/relu/deeper1/1x3': 10, head: 9 }, { seed: 2 }),
    (m) => deeper(m, [{ after: 'head/relu', kind: 'conv', batchNorm: true }], { data }),
    (m) => wider(m, { stem: 11, 'head/relu/deeper1': 12 }, { seed: 3, noise: 'zero-sum' }),
  ];
  for (const step of steps) {
    current = step(current);
    models.push(current);
    const result = checkPreserved(teacher, current, inputs);
    assert.ok(result.ok, `after step ${models.length - 1}: maxRel ${result.maxRel}`);
  }
  console.log(`# chain of 5 steps: final maxRel ${checkPreserved(teacher, current, inputs).maxRel}`);
  assert.equal(current.getLayer('mixed/3x3/relu/deeper1/1x3').getConfig()['filters'], 10);
  assert.deepEqual(current.getLayer('mixed/3x3/relu/deeper1/3x1').getWeights()[0].shape, [3, 1, 10, 7]);
  tf.dispose([data, inputs]);
  models.forEach((m) => m.dispose());
});

test('deeper leaks no tensors and does not touch the teacher', () => {
  const teacher = F.residualBlock();
  const data = F.randomInputs(teacher, 32, 1);
  const config = JSON.stringify(teacher.getConfig());
  const before = tf.memory().numTensors;
  const student = deeper(teacher, [{ after: 'res/a/relu', kind: 'conv-pair', batchNorm: true }], { data });
  assert.equal(tf.memory().numTensors, before + student.weights.length);
  student.dispose();
  assert.equal(tf.memory().numTensors, before);
  assert.equal(JSON.stringify(teacher.getConfig()), config);
  data.dispose();
  teacher.dispose();
});
