import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { enforceDevicePolicy, GpuNotInUseError } from '../src/backend/device-policy.ts';
import type { BackendInfo } from '../src/backend/backend.ts';
import { trainingCodeVersion } from '../src/train/code-version.ts';
import { stratifiedValSample } from '../src/data/stratified-sample.ts';
import { createSyntheticDataset } from '../src/data/synthetic.ts';

const info = (over: Partial<BackendInfo>): BackendInfo => ({
  requested: 'auto',
  choice: 'wasm',
  tfBackend: 'wasm',
  gpuInUse: null,
  notes: [],
  ...over,
});

test('device policy: tensorflow-gpu on the CPU and a GPU preset on a CPU are refused; --allow-cpu lets the preset run', () => {
  const cpuFallback = info({ requested: 'tensorflow-gpu', choice: 'tensorflow-gpu', gpuInUse: false });
  assert.throws(() => enforceDevicePolicy(cpuFallback, { presetNeedsGpu: false, allowCpu: true }), GpuNotInUseError);
  assert.throws(
    () => enforceDevicePolicy(info({}), { presetNeedsGpu: true, allowCpu: false }),
    /sized for a GPU, but backend 'wasm' runs on the CPU.*--allow-cpu/,
  );
  enforceDevicePolicy(info({}), { presetNeedsGpu: true, allowCpu: true });
  enforceDevicePolicy(info({}), { presetNeedsGpu: false, allowCpu: false });
  const gpu = info({ requested: 'tensorflow-gpu', choice: 'tensorflow-gpu', gpuInUse: true });
  enforceDevicePolicy(gpu, { presetNeedsGpu: true, allowCpu: false });
});

test('training code version: stable for the same sources, changes when a builder or a torch kernel changes', () => {
  const root = mkdtempSync(join(tmpdir(), 'code-version-'));
  try {
    cpSync(join(import.meta.dirname, '..', 'src'), join(root, 'src'), { recursive: true });
    cpSync(join(import.meta.dirname, '..', 'native', 'torch-backend'), join(root, 'native', 'torch-backend'), {
      recursive: true,
    });
    const here = trainingCodeVersion(join(root, 'src'));
    assert.match(here, /^[0-9a-f]{16}$/);
    assert.equal(trainingCodeVersion(join(import.meta.dirname, '..', 'src')), here);
    writeFileSync(join(root, 'src', 'cli', 'unrelated.ts'), '// the CLI does not decide what a run computes\n');
    assert.equal(trainingCodeVersion(join(root, 'src')), here);
    writeFileSync(join(root, 'src', 'models', 'inception-bn.ts'), '// changed builder\n', { flag: 'a' });
    const changedBuilder = trainingCodeVersion(join(root, 'src'));
    assert.notEqual(changedBuilder, here);
    writeFileSync(join(root, 'native', 'torch-backend', 'conv-pool-ops.cc'), '// changed kernel\n', { flag: 'a' });
    assert.notEqual(trainingCodeVersion(join(root, 'src')), changedBuilder, 'the torch kernels count');
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('stratified validation sample: every class gets its share, numTensors unchanged', async () => {
  await tf.setBackend('cpu');
  const dataset = createSyntheticDataset({ inputShape: [4, 4, 1], classes: 5, numTrain: 10, numVal: 50, seed: 3 });
  const before = tf.memory().numTensors;
  const sample = await stratifiedValSample(dataset, 3, 8);
  assert.deepEqual(sample.perClassTaken, [3, 3, 3, 3, 3]);
  assert.deepEqual(sample.x.shape, [15, 4, 4, 1]);
  const counts = new Array(5).fill(0);
  for (const label of sample.y.dataSync()) counts[label]++;
  assert.deepEqual(counts, [3, 3, 3, 3, 3]);
  tf.dispose([sample.x, sample.y]);
  assert.equal(tf.memory().numTensors, before);
  await dataset.close();
});
