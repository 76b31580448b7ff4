/**
 * The full 224x224x3 BN-Inception runs: a forward pass on one image (wasm backend: the cpu backend takes ~40 s for
 * it, wasm ~3 s), its logits are the dense head on the global average of inception_5b, and widening the sqrt(0.3)
 * teacher to width 1 gives the builder's full network with the teacher's function.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../src/backend/backend.ts';
import { checkPreserved, wider, widthTargets } from '../src/index.ts';
import { architectureDifference } from '../src/models/architecture.ts';
import { buildModel } from '../src/models/registry.ts';
import { randomizeBatchNorm } from './net2net-fixtures.ts';

await selectBackend('wasm', () => {});

test('the full network forwards a 224x224x3 image to 1000 logits: fc(global average of inception_5b)', () => {
  const model = randomizeBatchNorm(buildModel('inception-bn', { seed: 1 }), 1);
  const before = tf.memory().numTensors;
  const image = tf.randomNormal([1, 224, 224, 3], 0, 1, 'float32', 1);
  const probe = tf.model({
    inputs: model.inputs,
    outputs: [model.getLayer('inception_5b/output').output as tf.SymbolicTensor, model.outputs[0]],
  });
  const [features, logits] = probe.predict(image) as tf.Tensor[];
  assert.deepEqual(features.shape, [1, 7, 7, 1024]);
  assert.deepEqual(logits.shape, [1, 1000]);
  const values = logits.dataSync();
  assert.ok(values.every(Number.isFinite), 'finite logits');
  assert.ok(Math.max(...values) - Math.min(...values) > 1e-3, 'logits differ between classes');
  const [kernel, bias] = model.getLayer('fc').getWeights();
  const expected = tf.tidy(() => tf.add(tf.matMul(tf.mean(features, [1, 2]), kernel), bias));
  const maxAbs = tf.tidy(() => tf.max(tf.abs(tf.sub(expected, logits))).dataSync()[0]);
  assert.ok(maxAbs < 1e-4, `logits differ from fc(global average pool) by ${maxAbs}: the head must be linear`);
  tf.dispose([image, features, logits, expected]);
  assert.equal(tf.memory().numTensors, before);
  model.dispose();
});

test('widening the full sqrt(0.3) teacher to width 1 gives the builder network and the same function at 224', () => {
  const teacher = randomizeBatchNorm(buildModel('inception-bn', { seed: 2, width: Math.sqrt(0.3) }), 2);
  const studentLike = buildModel('inception-bn', { seed: 3 });
  const student = wider(teacher, widthTargets(teacher, studentLike), { seed: 4 });
  const { unexpected, missing } = architectureDifference(student, studentLike);
  assert.deepEqual(
    { unexpected: unexpected.slice(0, 3), missing: missing.slice(0, 3) },
    { unexpected: [], missing: [] },
  );
  const image = tf.randomNormal([1, 224, 224, 3], 0, 1, 'float32', 5);
  const result = checkPreserved(teacher, student, image);
  image.dispose();
  assert.ok(result.maxRel < 1e-5, `maxRel ${result.maxRel} (maxAbs ${result.maxAbs})`);
  for (const m of [teacher, studentLike, student]) m.dispose();
});
