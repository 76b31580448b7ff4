/**
 * The operators on the project's real model family: widening a narrow Inception-BN-small to the builder's wider
 * variant (widthTargets) and deepening a factorized one to the builder's extra-pairs variant must give exactly the
 * builders' architectures (same layer names and weight shapes) and preserve the function.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../src/backend/backend.ts';
import { buildModel } from '../src/models/registry.ts';
import { checkPreserved, deeper, wider, widthTargets } from '../src/index.ts';
import type { DeeperSpec } from '../src/index.ts';
import { randomizeBatchNorm } from './net2net-fixtures.ts';

await selectBackend('cpu', () => {});

const OPTIONS = { inputShape: [12, 12, 1] as [number, number, number], classes: 10 };

function architecture(model: tf.LayersModel): Record<string, number[][]> {
  return Object.fromEntries(model.layers.map((l) => [l.name, l.weights.map((w) => w.shape as number[])]));
}

test('wider(teacher, widthTargets(teacher, builder variant)) has the builder variant architecture and preserves', () => {
  const teacher = randomizeBatchNorm(
    buildModel('inception-bn-small', { ...OPTIONS, width: Math.sqrt(0.3), seed: 1 }),
    1,
  );
  const target = buildModel('inception-bn-small', { ...OPTIONS, width: 1, seed: 1 });
  const student = wider(teacher, widthTargets(teacher, target), { seed: 1, noise: 'zero-sum' });
  assert.deepEqual(architecture(student), architecture(target));
  const x = tf.randomNormal([4, ...OPTIONS.inputShape], 0, 1, 'float32', 2);
  const result = checkPreserved(teacher, student, x);
  assert.ok(result.ok, `maxRel ${result.maxRel}`);
  x.dispose();
  [teacher, target, student].forEach((m) => m.dispose());
});

test('deeper with builder names (N/extra1, kx1-first) gives the extra-pairs variant and preserves', () => {
  const teacher = randomizeBatchNorm(buildModel('inception-bn-small', { ...OPTIONS, factorized: true, seed: 2 }), 2);
  const target = buildModel('inception-bn-small', { ...OPTIONS, factorized: true, extraPairs: 1, seed: 2 });
  const pairs = teacher.layers
    .filter((l) => l.name.endsWith('/1x3/relu'))
    .map((l) => l.name.slice(0, -'/1x3/relu'.length));
  assert.ok(pairs.length > 0);
  const inserts: DeeperSpec[] = pairs.map((n) => ({
    after: `${n}/1x3/relu`,
    kind: 'conv-pair',
    pairOrder: 'kx1-first',
    batchNorm: true,
    name: `${n}/extra1`,
  }));
  const data = tf.randomNormal([8, ...OPTIONS.inputShape], 0, 1, 'float32', 3);
  const student = deeper(teacher, inserts, { data });
  assert.deepEqual(architecture(student), architecture(target));
  const result = checkPreserved(teacher, student, data);
  assert.ok(result.ok, `maxRel ${result.maxRel}`);
  data.dispose();
  [teacher, target, student].forEach((m) => m.dispose());
});
