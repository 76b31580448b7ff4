import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { selectBackend } from '../src/backend/backend.ts';
import { runExperiment } from '../src/experiment/run-experiment.ts';
import type { ExperimentOptions } from '../src/experiment/options.ts';
import { EXPERIMENTS } from '../experiments/registry.ts';
import { PRESETS } from '../experiments/presets.ts';
import { smokeOptions } from './experiment-fixtures.ts';
import { readTransformFile } from '../src/run-folder/transform-file.ts';

await selectBackend('wasm', () => {});

const root = mkdtempSync(join(tmpdir(), 'net2net-checks-'));
process.on('exit', () => rmSync(root, { recursive: true, force: true }));

const options = (out: string, extra: Partial<ExperimentOptions> = {}): ExperimentOptions =>
  smokeOptions(root, out, { figures: false, ...extra });

test('a Net2Net student that loses the function stops the run with the numbers; transform.json keeps them', async () => {
  const randomPad = EXPERIMENTS.wider.methods.find((m) => m.run === 'random-pad')!;
  // A "Net2Net" method whose transform is broken: new units random, outgoing weights not divided.
  const broken = { ...EXPERIMENTS.wider, methods: [{ ...randomPad, run: 'broken', role: 'net2net' as const }] };
  await assert.rejects(
    runExperiment(options('broken', { experiment: broken })),
    /broken: the Net2Net student does not compute the teacher's function: on 16 validation images \(inference mode\) max abs .*max rel/,
  );
  const transform = readTransformFile(join(root, 'broken', 'broken'))!;
  assert.equal(transform.preservation.enforced, true);
  assert.equal(transform.preservation.inference.ok, false);
});

test("--noise <scale>: the paper's Gaussian noise is applied and recorded, and not enforced", async () => {
  await runExperiment(options('gaussian', { noise: 0.05, only: ['net2wider'] }));
  const transform = readTransformFile(join(root, 'gaussian', 'net2wider'))!;
  assert.equal(transform.noise, 0.05);
  assert.equal(transform.preservation.enforced, false);
  assert.ok(
    transform.preservation.inference.maxRel > 1e-4,
    `noise changes the function: ${transform.preservation.inference.maxRel}`,
  );
  await runExperiment(options('exact', { only: ['net2wider'] }));
  assert.ok(readTransformFile(join(root, 'exact', 'net2wider'))!.preservation.inference.maxRel < 1e-5);
});

test('a preset sized for a GPU is refused on a CPU backend unless --allow-cpu', async () => {
  const gpuSized = { ...PRESETS.smoke, needsGpu: true };
  await assert.rejects(
    runExperiment(options('gpu-sized', { preset: gpuSized })),
    /sized for a GPU, but backend 'wasm' runs on the CPU.*--allow-cpu/,
  );
  await runExperiment(options('gpu-sized-allowed', { preset: gpuSized, allowCpu: true, only: ['net2wider'] }));
});
