/**
 * The Net2Net operators and the smoke experiments on torch: widening and deepening preserve the function on torch
 * (checkPreserved in inference and training mode), and `npm run experiment -- <exp> --preset smoke --backend torch`
 * runs each of the three experiments end to end (skips without the addon, fails in CI without it).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { checkPreserved, deeper, wider, widthTargets } from '../src/index.ts';
import { buildModel } from '../src/models/registry.ts';
import { extraPairInserts } from '../src/models/student-inserts.ts';
import { randomizeBatchNorm } from './net2net-fixtures.ts';
import { SKIP_REASON, randomTensor, registerTorch, torchBuilt } from './torch-fixtures.ts';

const built = torchBuilt();
if (built) {
  await registerTorch();
  await tf.setBackend('torch');
}
const opts = built ? {} : { skip: SKIP_REASON };
const SMALL = 'inception-bn-small';
const INPUT: [number, number, number] = [8, 8, 1];

function assertPreserved(teacher: tf.LayersModel, student: tf.LayersModel): void {
  const inputs = randomTensor([6, ...INPUT], 9);
  const result = checkPreserved(teacher, student, inputs);
  inputs.dispose();
  assert.ok(result.maxRel < 1e-5, `maxRel ${result.maxRel} (maxAbs ${result.maxAbs}) >= 1e-5`);
}

test('Net2WiderNet preserves the small family on torch', opts, () => {
  assert.equal(tf.getBackend(), 'torch');
  const teacher = randomizeBatchNorm(buildModel(SMALL, { inputShape: INPUT, seed: 11, width: Math.sqrt(0.3) }), 11);
  const studentLike = buildModel(SMALL, { inputShape: INPUT });
  const student = wider(teacher, widthTargets(teacher, studentLike), { seed: 5 });
  assertPreserved(teacher, student);
  for (const m of [teacher, student, studentLike]) m.dispose();
});

test('Net2DeeperNet (2 extra pairs after each factorized pair) preserves the small family on torch', opts, () => {
  const teacher = randomizeBatchNorm(buildModel(SMALL, { inputShape: INPUT, seed: 12, factorized: true }), 12);
  const data = randomTensor([8, ...INPUT], 3);
  const student = deeper(teacher, extraPairInserts(teacher, 2), { data });
  data.dispose();
  assertPreserved(teacher, student);
  for (const m of [teacher, student]) m.dispose();
});

function runExperiment(args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/experiment.ts', ...args], {
      env: { ...process.env, NET2NET_THREADS: '1' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('close', (code) => resolve({ code, stderr }));
  });
}

for (const experiment of ['wider', 'deeper', 'explore']) {
  test(`the ${experiment} smoke experiment runs on torch`, opts, async () => {
    const out = mkdtempSync(join(tmpdir(), `torch-${experiment}-`));
    try {
      const folder = join(out, experiment);
      const { code, stderr } = await runExperiment([
        experiment,
        '--preset',
        'smoke',
        '--backend',
        'torch',
        '--out',
        folder,
        '--figures',
        'false',
      ]);
      assert.equal(code, 0, stderr.slice(-2000));
      assert.match(stderr, /\[backend\] torch /);
      const summary = JSON.parse(readFileSync(join(folder, 'summary.json'), 'utf8')) as {
        runs: { run: string; problems: string[]; finalStep: number }[];
      };
      assert.ok(summary.runs.length >= 2, 'a teacher and at least one student ran');
      for (const run of summary.runs) {
        assert.deepEqual(run.problems, [], `${run.run} problems`);
        assert.ok(run.finalStep > 0, `${run.run} trained`);
      }
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
}
