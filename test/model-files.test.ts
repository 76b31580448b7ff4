import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../src/backend/backend.ts';
import { saveModel, loadModel } from '../src/models/model-files.ts';

await selectBackend('cpu', () => {});

function smallModel(): tf.LayersModel {
  const input = tf.input({ shape: [6, 6, 2] });
  let x = tf.layers
    .conv2d({ filters: 3, kernelSize: 3, padding: 'same', name: 'conv' })
    .apply(input) as tf.SymbolicTensor;
  x = tf.layers.batchNormalization({ name: 'bn' }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.flatten().apply(x) as tf.SymbolicTensor;
  const out = tf.layers.dense({ units: 4, name: 'fc' }).apply(x) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: out });
}

test('saveModel writes the standard layers format and loadModel restores the same function', async () => {
  const model = smallModel();
  const dir = mkdtempSync(join(tmpdir(), 'n2n-model-'));
  await saveModel(model, dir, { note: 'x' });
  const json = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8'));
  assert.equal(json.format, 'layers-model');
  assert.deepEqual(json.weightsManifest[0].paths, ['./weights.bin']);
  assert.equal(json.userDefinedMetadata.note, 'x');
  const loaded = await loadModel(dir);
  const x = tf.randomNormal([5, 6, 6, 2]);
  const diff = tf
    .sub(model.predict(x) as tf.Tensor, loaded.predict(x) as tf.Tensor)
    .abs()
    .max()
    .dataSync()[0];
  assert.equal(diff, 0);
  assert.deepEqual(
    loaded.layers.map((l) => l.name),
    model.layers.map((l) => l.name),
  );
});

test('loadModel names the problem for a missing folder, bad JSON and truncated weights', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'n2n-model-'));
  await assert.rejects(loadModel(join(dir, 'nope')), /no model\.json/);
  await saveModel(smallModel(), dir);
  truncateSync(join(dir, 'weights.bin'), 10);
  await assert.rejects(loadModel(dir), /truncated or corrupt/);
  writeFileSync(join(dir, 'model.json'), '{oops');
  await assert.rejects(loadModel(dir), /not valid JSON/);
});
