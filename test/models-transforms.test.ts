/**
 * The model family and the Net2Net operators agree: widening a narrow teacher and deepening a factorized one give
 * exactly the architecture `buildModel` makes for the student (same layer names, classes, shapes, wiring), and the
 * student computes the teacher's function (inference mode, random BatchNorm parameters and statistics).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../src/backend/backend.ts';
import { checkPreserved, deeper, wider, widthTargets } from '../src/index.ts';
import { architectureDifference } from '../src/models/architecture.ts';
import { buildModel } from '../src/models/registry.ts';
import type { ModelOptions } from '../src/models/registry.ts';
import { INCEPTION_BN_SMALL_MODULES } from '../src/models/inception-bn-small.ts';
import { extraPairInserts, topPairInserts } from '../src/models/student-inserts.ts';
import { randomizeBatchNorm } from './net2net-fixtures.ts';

await selectBackend('cpu', () => {});

const SMALL = 'inception-bn-small';
const INPUT: [number, number, number] = [8, 8, 1];

function assertSameArchitecture(actual: tf.LayersModel, expected: tf.LayersModel): void {
  const { unexpected, missing } = architectureDifference(actual, expected);
  assert.deepEqual(
    { unexpected: unexpected.slice(0, 5), missing: missing.slice(0, 5) },
    { unexpected: [], missing: [] },
    'the student differs from the builder',
  );
  assert.equal(actual.layers.length, expected.layers.length);
}

function teacherWithRandomBatchNorm(options: ModelOptions, seed: number): tf.LayersModel {
  return randomizeBatchNorm(buildModel(SMALL, { inputShape: INPUT, seed, ...options }), seed);
}

function assertPreserved(teacher: tf.LayersModel, student: tf.LayersModel, seed: number): void {
  const inputs = tf.randomNormal([6, ...INPUT], 0, 1, 'float32', seed);
  const result = checkPreserved(teacher, student, inputs);
  inputs.dispose();
  assert.ok(result.maxRel < 1e-5, `maxRel ${result.maxRel} (maxAbs ${result.maxAbs}) >= 1e-5`);
}

test('widening the small family width sqrt(0.3) -> 1 (modules only) gives the builder model and the same function', () => {
  const teacher = teacherWithRandomBatchNorm({ width: Math.sqrt(0.3) }, 11);
  const studentLike = buildModel(SMALL, { inputShape: INPUT });
  const targets = widthTargets(teacher, studentLike);
  assert.ok(!('conv1' in targets), 'the stem must keep its width in the modules scope');
  assert.equal(targets['inception_3a/1x1'], 32);
  const student = wider(teacher, targets, { seed: 5 });
  assert.ok(architectureDifference(teacher, studentLike).missing.length > 0, 'the comparison sees widths');
  assertSameArchitecture(student, studentLike);
  assertPreserved(teacher, student, 1);
  for (const m of [teacher, student, studentLike]) m.dispose();
});

test('deepening the factorized small model by 2 pairs after each pair gives the extraPairs: 2 builder model', () => {
  const teacher = teacherWithRandomBatchNorm({ factorized: true }, 12);
  const specs = extraPairInserts(teacher, 2);
  assert.equal(specs.length, 8 * 2, 'one factorized pair per Simple module, two inserts each');
  // Two inserts after one layer stack in order: extra1 right after the pair, extra2 after extra1.
  assert.deepEqual(specs.slice(0, 2), [
    {
      after: 'inception_3a/3x3/1x3/relu',
      kind: 'conv-pair',
      kernel: 3,
      batchNorm: true,
      pairOrder: 'kx1-first',
      name: 'inception_3a/3x3/extra1',
    },
    {
      after: 'inception_3a/3x3/1x3/relu',
      kind: 'conv-pair',
      kernel: 3,
      batchNorm: true,
      pairOrder: 'kx1-first',
      name: 'inception_3a/3x3/extra2',
    },
  ]);
  const data = tf.randomNormal([8, ...INPUT], 0, 1, 'float32', 3);
  const student = deeper(teacher, specs, { data });
  data.dispose();
  const studentLike = buildModel(SMALL, { inputShape: INPUT, factorized: true, extraPairs: 2 });
  assertSameArchitecture(student, studentLike);
  assertPreserved(teacher, student, 2);
  for (const m of [teacher, student, studentLike]) m.dispose();
});

test('the exploration: width 1 -> sqrt(2) then 4 pairs on top of every module gives the topPairs: 4 builder model', () => {
  const teacher = teacherWithRandomBatchNorm({ factorized: true }, 13);
  const widerLike = buildModel(SMALL, { inputShape: INPUT, factorized: true, width: Math.SQRT2 });
  const widened = wider(teacher, widthTargets(teacher, widerLike), { seed: 7 });
  assertSameArchitecture(widened, widerLike);
  const specs = topPairInserts(widened, 4);
  assert.deepEqual(
    [...new Set(specs.map((spec) => spec.after))],
    INCEPTION_BN_SMALL_MODULES.map((m) => `${m.name}/output`),
  );
  // Several inserts after one layer stack in order, so all 40 pairs go in one call.
  const data = tf.randomNormal([8, ...INPUT], 0, 1, 'float32', 4);
  const student = deeper(widened, specs, { data });
  data.dispose();
  const studentLike = buildModel(SMALL, { inputShape: INPUT, factorized: true, width: Math.SQRT2, topPairs: 4 });
  assertSameArchitecture(student, studentLike);
  assertPreserved(teacher, student, 3);
  for (const m of [teacher, widened, widerLike, student, studentLike]) m.dispose();
});
