import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../src/backend/backend.ts';
import { checkPreserved } from '../src/index.ts';
import * as F from './net2net-fixtures.ts';

await selectBackend('cpu', () => {});

/** y = x W + b with fixed weights, as a one-layer model. */
function linear(weights: number[][], bias: number[]): tf.LayersModel {
  const input = tf.input({ shape: [weights.length] });
  const layer = tf.layers.dense({ units: bias.length, name: 'lin' });
  const model = tf.model({ inputs: input, outputs: layer.apply(input) as tf.SymbolicTensor });
  const values = [tf.tensor2d(weights), tf.tensor1d(bias)];
  layer.setWeights(values);
  tf.dispose(values);
  return model;
}

test('checkPreserved takes the maximum absolute difference (errors of opposite signs never cancel), relative to the teacher scale', () => {
  const teacher = linear([[1, 0]], [0, 0]);
  const student = linear([[1, 0]], [0.5, -0.5]);
  const inputs = tf.tensor2d([[2], [-4]]);
  const result = checkPreserved(teacher, student, inputs);
  assert.equal(result.maxAbs, 0.5);
  assert.equal(result.maxRel, 0.5 / 4);
  assert.equal(result.ok, false);
  assert.equal(checkPreserved(teacher, student, inputs, { tolerance: 0.2 }).ok, true);
  assert.deepEqual(checkPreserved(teacher, teacher, inputs), { maxAbs: 0, maxRel: 0, ok: true });
  [teacher, student].forEach((m) => m.dispose());
  inputs.dispose();
});

test("the scale is the Dense output's term magnitude where it exceeds the outputs: near-zero logits do not inflate maxRel", () => {
  // Teacher logit 1 - (1 - 2^-10) = 2^-10 from terms of magnitude 2 - 2^-10; the student's differs by 2^-20.
  const teacher = linear([[1], [-1 + 2 ** -10]], [0]);
  const student = linear([[1], [-1 + 2 ** -10 + 2 ** -20]], [0]);
  const inputs = tf.tensor2d([[1, 1]]);
  const result = checkPreserved(teacher, student, inputs);
  assert.equal(result.maxAbs, 2 ** -20);
  assert.equal(result.maxRel, 2 ** -20 / (2 - 2 ** -10));
  // The same difference behind a ReLU output layer is judged against the outputs alone (2^-10).
  const relu = (m: tf.LayersModel) =>
    tf.model({ inputs: m.inputs, outputs: tf.layers.reLU().apply(m.outputs[0]!) as tf.SymbolicTensor });
  const behindRelu = checkPreserved(relu(teacher), relu(student), inputs);
  assert.equal(behindRelu.maxRel, 2 ** -10);
  assert.equal(behindRelu.ok, false);
  [teacher, student].forEach((m) => m.dispose());
  inputs.dispose();
});

test('a training-mode check restores the BatchNorm moving statistics of both models', () => {
  const teacher = F.convNetBn();
  const student = F.convNetBn();
  const inputs = F.randomInputs(teacher, 16, 1);
  const snapshot = (m: tf.LayersModel) => m.getWeights().map((w) => Array.from(w.dataSync()));
  const [t0, s0] = [snapshot(teacher), snapshot(student)];
  const result = checkPreserved(teacher, student, inputs, { training: true });
  assert.ok(result.maxRel > 0, 'two independently initialized nets differ');
  assert.deepEqual(snapshot(teacher), t0);
  assert.deepEqual(snapshot(student), s0);
  [teacher, student].forEach((m) => m.dispose());
  inputs.dispose();
});
