import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../src/backend/backend.ts';
import { wider, randomPad, scaleWidth, widthTargets, checkPreserved } from '../src/index.ts';
import type { TransformRecord, WidthRecord } from '../src/index.ts';
import { concatMappings, flattenMapping, replicaCounts } from '../src/net2net/mapping.ts';
import * as F from './net2net-fixtures.ts';

await selectBackend('cpu', () => {});

type Case = { name: string; build: () => tf.LayersModel; targets: Record<string, number> };
const CASES: Case[] = [
  { name: 'functional MLP', build: F.mlp, targets: { fc1: 9, fc2: 7 } },
  { name: 'tf.sequential MLP', build: F.sequentialMlp, targets: { 'seq/fc1': 9, 'seq/fc2': 8 } },
  { name: 'conv net with BN', build: F.convNetBn, targets: { conv1: 7, conv2: 9 } },
  {
    name: 'Inception-style module',
    build: F.inceptionModule,
    targets: { stem: 9, 'mixed/1x1': 6, 'mixed/3x3_reduce': 5, 'mixed/5x5': 4, 'mixed/pool_proj': 3, head: 8 },
  },
  { name: 'residual block with Add', build: F.residualBlock, targets: { stem: 8, 'res/a': 6, post: 6 } },
  { name: 'layer with two consumers', build: F.twoConsumers, targets: { shared: 7, left: 5 } },
  { name: 'conv -> Flatten -> Dense', build: F.convFlattenDense, targets: { conv: 5, fc: 9 } },
];

function weightValues(model: tf.LayersModel): Float32Array[] {
  return model.getWeights().map((w) => new Float32Array(w.dataSync()));
}

for (const c of CASES) {
  test(`wider preserves the ${c.name} (noise none and zero-sum), inference and training mode`, () => {
    const teacher = c.build();
    const inputs = F.randomInputs(teacher, 128, 11);
    const teacherConfig = JSON.stringify(teacher.getConfig());
    const teacherWeights = weightValues(teacher);
    for (const noise of ['none', 'zero-sum'] as const) {
      const student = wider(teacher, c.targets, { seed: 5, noise });
      for (const [name, width] of Object.entries(c.targets)) {
        const config = student.getLayer(name).getConfig();
        assert.equal(config['units'] ?? config['filters'], width, `${name} width`);
      }
      assert.ok(student.countParams() > teacher.countParams());
      const inference = checkPreserved(teacher, student, inputs);
      const training = checkPreserved(teacher, student, inputs, { training: true });
      console.log(
        `# ${c.name} wider noise=${noise}: inference maxRel ${inference.maxRel}, training ${training.maxRel}`,
      );
      assert.ok(inference.ok && inference.maxRel < 1e-5, `inference maxRel ${inference.maxRel}`);
      assert.ok(training.maxRel < 1e-5, `training maxRel ${training.maxRel}`);
      student.dispose();
    }
    // The teacher is never mutated (config, weights, BN statistics after the training-mode checks).
    assert.equal(JSON.stringify(teacher.getConfig()), teacherConfig);
    weightValues(teacher).forEach((w, i) => assert.deepEqual(w, teacherWeights[i]));
    inputs.dispose();
    teacher.dispose();
  });
}

test('Gaussian noise and randomPad change the function: the check can fail', () => {
  for (const c of CASES.slice(2)) {
    const teacher = c.build();
    const inputs = F.randomInputs(teacher, 64, 3);
    const noisy = wider(teacher, c.targets, { seed: 1, noise: 0.1 });
    const padded = randomPad(teacher, c.targets, { seed: 1 });
    const a = checkPreserved(teacher, noisy, inputs);
    const b = checkPreserved(teacher, padded, inputs);
    console.log(`# ${c.name}: gaussian 0.1 maxRel ${a.maxRel}, randomPad maxRel ${b.maxRel}`);
    assert.equal(a.ok, false);
    assert.equal(b.ok, false);
    assert.ok(a.maxRel > 1e-3 && b.maxRel > 1e-3);
    tf.dispose([inputs]);
    [teacher, noisy, padded].forEach((m) => m.dispose());
  }
});

test('zero-sum noise makes the copies of a unit differ while they still sum to the original', () => {
  const teacher = F.mlp();
  let record: TransformRecord | undefined;
  const student = wider(teacher, { fc1: 10 }, { seed: 2, noise: 'zero-sum', record: (r) => (record = r) });
  const group = (record as WidthRecord).groups.find((g) => g.writers.includes('fc1'))!;
  const g = group.mapping!;
  const oldKernel = teacher.getLayer('fc2').getWeights()[0].arraySync() as number[][];
  const newKernel = student.getLayer('fc2').getWeights()[0].arraySync() as number[][];
  let replicated = 0;
  for (let u = 0; u < group.oldWidth; u++) {
    const copies = g.flatMap((v, j) => (v === u ? [j] : []));
    if (copies.length < 2) continue;
    replicated++;
    for (let o = 0; o < oldKernel[0].length; o++) {
      const parts = copies.map((j) => newKernel[j][o]);
      const even = oldKernel[u][o] / copies.length;
      assert.ok(
        parts.some((p) => Math.abs(p - even) > 1e-6 * Math.max(1, Math.abs(even))),
        'copies split evenly',
      );
      const sum = parts.reduce((a, b) => Math.fround(a + b), 0);
      assert.ok(Math.abs(sum - oldKernel[u][o]) <= 1e-6 * Math.max(1, Math.abs(oldKernel[u][o])));
    }
  }
  assert.ok(replicated > 0);
  const inputs = F.randomInputs(teacher, 128, 4);
  assert.ok(checkPreserved(teacher, student, inputs).ok);
  // With noise 'none' the copies are exactly w / k: the symmetry is not broken.
  const plain = wider(teacher, { fc1: 10 }, { seed: 2 });
  const plainKernel = plain.getLayer('fc2').getWeights()[0].arraySync() as number[][];
  const counts = replicaCounts({ oldWidth: 6, g: Int32Array.from(g) });
  g.forEach((u, j) => assert.ok(Math.abs(plainKernel[j][0] - Math.fround(oldKernel[u][0] / counts[u])) < 1e-7));
  [teacher, student, plain].forEach((m) => m.dispose());
  inputs.dispose();
});

test('wider copies BatchNorm gamma, beta, moving mean and variance per replica; randomPad keeps old weights', () => {
  const teacher = F.convNetBn();
  let record: WidthRecord | undefined;
  const student = wider(teacher, { conv1: 7 }, { seed: 9, record: (r) => (record = r as WidthRecord) });
  const g = record!.groups[0].mapping!;
  const oldBn = teacher
    .getLayer('conv1/bn')
    .getWeights()
    .map((w) => Array.from(w.dataSync()));
  const newBn = student
    .getLayer('conv1/bn')
    .getWeights()
    .map((w) => Array.from(w.dataSync()));
  newBn.forEach((values, k) => g.forEach((u, j) => assert.equal(values[j], oldBn[k][u])));
  // Incoming conv kernel [kh, kw, in, out]: output channel j is channel g(j).
  const oldK = teacher.getLayer('conv1').getWeights()[0].arraySync() as number[][][][];
  const newK = student.getLayer('conv1').getWeights()[0].arraySync() as number[][][][];
  g.forEach((u, j) => assert.equal(newK[1][2][0][j], oldK[1][2][0][u]));

  const padded = randomPad(teacher, { conv1: 7 }, { seed: 9 });
  const padBn = padded
    .getLayer('conv1/bn')
    .getWeights()
    .map((w) => Array.from(w.dataSync()));
  const fresh = [1, 0, 0, 1];
  padBn.forEach((values, k) => {
    assert.deepEqual(values.slice(0, 4), oldBn[k]);
    assert.deepEqual(values.slice(4), [fresh[k], fresh[k], fresh[k]]);
  });
  const padK = padded.getLayer('conv2').getWeights()[0].arraySync() as number[][][][];
  const oldK2 = teacher.getLayer('conv2').getWeights()[0].arraySync() as number[][][][];
  assert.deepEqual(
    padK[0][0].slice(0, 4),
    oldK2[0][0],
    'outgoing weights of old units unchanged (not divided) by randomPad',
  );
  assert.ok(
    padK[0][0]
      .slice(4)
      .flat()
      .some((v) => v !== 0),
    'outgoing weights of new units are random',
  );
  [teacher, student, padded].forEach((m) => m.dispose());
});

test('the transform record round-trips through JSON and reproduces the student', () => {
  const teacher = F.inceptionModule();
  let record: TransformRecord | undefined;
  const student = wider(teacher, { stem: 9, 'mixed/1x1': 6 }, { noise: 'zero-sum', record: (r) => (record = r) });
  const parsed = JSON.parse(JSON.stringify(record)) as WidthRecord;
  assert.deepEqual(parsed, record);
  assert.equal(parsed.operator, 'wider');
  assert.equal(typeof parsed.seed, 'number');
  assert.ok(parsed.groups.some((grp) => grp.source === 'derived' && grp.derivedFrom.includes('mixed/concat')));
  const again = wider(teacher, parsed.targets, { seed: parsed.seed, noise: parsed.noise });
  const a = weightValues(student);
  weightValues(again).forEach((w, i) => assert.deepEqual(w, a[i]));
  [teacher, student, again].forEach((m) => m.dispose());
});

test('a widened Concatenate feeding an Add forces the Add\u2019s other producer to adopt its mapping', () => {
  const input = tf.input({ shape: [5, 5, 2] });
  const a = F.convBnRelu(input, 2, 'a');
  const b = F.convBnRelu(input, 3, 'b');
  const cat = tf.layers.concatenate({ name: 'cat' }).apply([a, b]) as tf.SymbolicTensor;
  const c = F.bn(F.conv(input, 5, 'c'), 'c/bn');
  const sum = tf.layers.add({ name: 'sum' }).apply([cat, c]) as tf.SymbolicTensor;
  const dw = tf.layers
    .depthwiseConv2d({
      kernelSize: 3,
      depthMultiplier: 2,
      padding: 'same',
      name: 'dw',
      biasInitializer: 'randomNormal',
    })
    .apply(F.relu(sum, 'sum/relu')) as tf.SymbolicTensor;
  const pooled = tf.layers.globalAveragePooling2d({ name: 'gap' }).apply(dw) as tf.SymbolicTensor;
  const teacher = F.randomizeBatchNorm(tf.model({ inputs: input, outputs: F.dense(pooled, 3, 'logits') }), 21);
  let record: WidthRecord | undefined;
  const student = wider(teacher, { a: 4 }, { seed: 3, noise: 'zero-sum', record: (r) => (record = r as WidthRecord) });
  assert.equal(student.getLayer('c').getConfig()['filters'], 7, 'c adopts the concatenation width');
  assert.equal((student.getLayer('dw').outputShape as number[])[3], 14);
  assert.ok(record!.groups.some((grp) => grp.writers.includes('c') && grp.source === 'derived'));
  const inputs = F.randomInputs(teacher, 64, 2);
  const result = checkPreserved(teacher, student, inputs);
  assert.ok(result.ok, `maxRel ${result.maxRel}`);
  [teacher, student].forEach((m) => m.dispose());
  inputs.dispose();
});

test('SeparableConv2D widens on both sides (depthwise copies, pointwise divided) and preserves', () => {
  const input = tf.input({ shape: [6, 6, 2] });
  const a = F.convBnRelu(input, 3, 'a');
  const sep = tf.layers
    .separableConv2d({
      filters: 4,
      kernelSize: 3,
      padding: 'same',
      name: 'sep',
      biasInitializer: 'randomNormal',
    })
    .apply(a) as tf.SymbolicTensor;
  const x = F.relu(F.bn(sep, 'sep/bn'), 'sep/relu');
  const pooled = tf.layers.globalAveragePooling2d({ name: 'gap' }).apply(x) as tf.SymbolicTensor;
  const teacher = F.randomizeBatchNorm(tf.model({ inputs: input, outputs: F.dense(pooled, 3, 'logits') }), 8);
  const inputs = F.randomInputs(teacher, 64, 3);
  for (const noise of ['none', 'zero-sum'] as const) {
    const student = wider(teacher, { a: 5, sep: 7 }, { seed: 2, noise });
    assert.deepEqual(student.getLayer('sep').getWeights()[1].shape, [1, 1, 5, 7]);
    const result = checkPreserved(teacher, student, inputs);
    assert.ok(result.ok, `noise ${noise}: maxRel ${result.maxRel}`);
    student.dispose();
  }
  const padded = randomPad(teacher, { a: 5, sep: 7 }, { seed: 2 });
  assert.equal(checkPreserved(teacher, padded, inputs).ok, false);
  [teacher, padded].forEach((m) => m.dispose());
  inputs.dispose();
});

test('mappings pass through activations, dropout, padding, upsampling, pooling and element-wise merges', () => {
  const input = tf.input({ shape: [4, 4, 2] });
  let x = F.conv(input, 3, 'c1');
  x = tf.layers.activation({ activation: 'tanh', name: 'tanh' }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.leakyReLU({ name: 'leaky' }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.dropout({ rate: 0.5, name: 'drop' }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.zeroPadding2d({ padding: 1, name: 'pad' }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.upSampling2d({ size: [2, 2], name: 'up' }).apply(x) as tf.SymbolicTensor;
  const other = F.conv(
    tf.layers
      .upSampling2d({ size: [2, 2], name: 'up0' })
      .apply(
        tf.layers.zeroPadding2d({ padding: 1, name: 'pad0' }).apply(input) as tf.SymbolicTensor,
      ) as tf.SymbolicTensor,
    3,
    'c2',
  );
  const merged = [
    tf.layers.multiply({ name: 'mul' }).apply([x, other]),
    tf.layers.maximum({ name: 'max' }).apply([x, other]),
    tf.layers.average({ name: 'avg' }).apply([x, other]),
  ] as tf.SymbolicTensor[];
  const cat = tf.layers.concatenate({ name: 'cat' }).apply(merged) as tf.SymbolicTensor;
  const pooled = tf.layers.globalMaxPooling2d({ name: 'gmp' }).apply(cat) as tf.SymbolicTensor;
  const teacher = tf.model({ inputs: input, outputs: F.dense(pooled, 2, 'logits') });
  const student = wider(teacher, { c1: 5 }, { seed: 3, noise: 'zero-sum' });
  assert.equal(student.getLayer('c2').getConfig()['filters'], 5, 'the other producer of the merges follows');
  const inputs = F.randomInputs(teacher, 32, 5);
  const result = checkPreserved(teacher, student, inputs);
  assert.ok(result.ok, `maxRel ${result.maxRel}`);
  [teacher, student].forEach((m) => m.dispose());
  inputs.dispose();
});

test('randomPad is reproducible from its seed', () => {
  const teacher = F.convNetBn();
  const padded = (seed: number) => {
    const student = randomPad(teacher, { conv1: 6 }, { seed });
    const values = weightValues(student);
    student.dispose();
    return values;
  };
  const [a, b, c] = [padded(4), padded(4), padded(5)];
  a.forEach((w, i) => assert.deepEqual(w, b[i]));
  assert.ok(a.some((w, i) => w.some((v, j) => v !== c[i][j])));
  teacher.dispose();
});

test('concat and flatten mappings: values shift by old widths, positions by new widths', () => {
  const a = { oldWidth: 2, g: Int32Array.from([0, 1, 0]) };
  const b = { oldWidth: 3, g: Int32Array.from([0, 1, 2, 2]) };
  assert.deepEqual(Array.from(concatMappings([a, b]).g), [0, 1, 0, 2, 3, 4, 4]);
  assert.deepEqual(Array.from(flattenMapping(a, 2).g), [0, 1, 0, 2, 3, 2]);
});

test('scaleWidth widens every independent layer and preserves; widthTargets reads a wider architecture', () => {
  const teacher = F.inceptionModule();
  let record: WidthRecord | undefined;
  const student = scaleWidth(teacher, Math.SQRT2, { seed: 4, record: (r) => (record = r as WidthRecord) });
  assert.equal(record!.operator, 'scaleWidth');
  assert.equal(student.getLayer('stem').getConfig()['filters'], 8);
  assert.equal(student.getLayer('mixed/3x3').getConfig()['filters'], 7);
  assert.equal(student.getLayer('logits').getConfig()['units'], 4, 'the output layer never widens');
  const inputs = F.randomInputs(teacher, 64, 8);
  assert.ok(checkPreserved(teacher, student, inputs).ok);
  assert.deepEqual(widthTargets(teacher, student), record!.targets);
  const only = scaleWidth(teacher, 2, { filter: (l) => l.name.startsWith('mixed/1x1'), seed: 1 });
  assert.deepEqual(widthTargets(teacher, only), { 'mixed/1x1': 8 });
  [teacher, student, only].forEach((m) => m.dispose());
  inputs.dispose();
});

test('a student from wider trains: fit runs and its loss goes down', async () => {
  const teacher = F.convNetBn();
  const student = wider(teacher, { conv1: 8, conv2: 12 }, { seed: 6, noise: 'zero-sum' });
  const x = F.randomInputs(teacher, 16, 1);
  const y = tf.oneHot(
    tf.tensor1d(
      Array.from({ length: 16 }, (_, i) => i % 4),
      'int32',
    ),
    4,
  );
  student.compile({ optimizer: tf.train.adam(0.01), loss: 'meanSquaredError' });
  const history = await student.fit(x, y, { epochs: 5, batchSize: 16, verbose: 0 });
  const losses = history.history['loss'] as number[];
  console.log(`# wider student fit losses ${losses.map((l) => l.toFixed(4)).join(' ')}`);
  assert.ok(losses.every(Number.isFinite));
  assert.ok(losses.at(-1)! < losses[0], `loss ${losses[0]} -> ${losses.at(-1)}`);
  tf.dispose([x, y]);
  [teacher, student].forEach((m) => m.dispose());
});

test('wider, randomPad, scaleWidth and checkPreserved leak no tensors', () => {
  const teacher = F.inceptionModule();
  const inputs = F.randomInputs(teacher, 16, 1);
  const before = tf.memory().numTensors;
  const students = [
    wider(teacher, { stem: 9 }, { noise: 'zero-sum' }),
    randomPad(teacher, { stem: 9 }),
    scaleWidth(teacher, 1.5, { noise: 0.05 }),
  ];
  const own = students.reduce((s, m) => s + m.weights.length, 0);
  assert.equal(tf.memory().numTensors, before + own);
  checkPreserved(teacher, students[0], inputs, { training: true });
  checkPreserved(teacher, students[0], inputs);
  assert.equal(tf.memory().numTensors, before + own);
  students.forEach((m) => m.dispose());
  assert.equal(tf.memory().numTensors, before);
  teacher.dispose();
  inputs.dispose();
});
