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

test('deeper with builder names (N/extra1..2 and M/top1, kx1-first) gives the builder variants and preserves', () => {
  const teacher = randomizeBatchNorm(buildModel('inception-bn-small', { ...OPTIONS, factorized: true, seed: 2 }), 2);
  const target = buildModel('inception-bn-small', {
    ...OPTIONS,
    factorized: true,
    extraPairs: 2,
    topPairs: 1,
    seed: 2,
  });
  const pairs = teacher.layers
    .filter((l) => l.name.endsWith('/1x3/relu'))
    .map((l) => l.name.slice(0, -'/1x3/relu'.length));
  const modules = teacher.layers
    .filter((l) => l.name.endsWith('/output'))
    .map((l) => l.name.slice(0, -'/output'.length));
  assert.ok(pairs.length > 0 && modules.length > 0);
  const pair = (after: string, name: string): DeeperSpec => ({
    after,
    kind: 'conv-pair',
    pairOrder: 'kx1-first',
    batchNorm: true,
    name,
  });
  const inserts = [
    ...pairs.flatMap((n) => [pair(`${n}/1x3/relu`, `${n}/extra1`), pair(`${n}/1x3/relu`, `${n}/extra2`)]),
    ...modules.map((m) => pair(`${m}/output`, `${m}/top1`)),
  ];
  const data = tf.randomNormal([8, ...OPTIONS.inputShape], 0, 1, 'float32', 3);
  const student = deeper(teacher, inserts, { data });
  assert.deepEqual(architecture(student), architecture(target));
  // Same wiring: every layer reads the same layers as in the builder's model.
  const inbound = (m: tf.LayersModel) =>
    Object.fromEntries(m.layers.map((l) => [l.name, (l.inboundNodes[0]?.inboundLayers ?? []).map((i) => i.name)]));
  const studentInbound = inbound(student);
  for (const [name, inputs] of Object.entries(inbound(target)))
    assert.deepEqual(studentInbound[name], inputs, `inputs of ${name}`);
  const result = checkPreserved(teacher, student, data);
  assert.ok(result.ok, `maxRel ${result.maxRel}`);
  data.dispose();
  [teacher, target, student].forEach((m) => m.dispose());
});
