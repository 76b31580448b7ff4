import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { selectBackend } from '../src/backend/backend.ts';
import { runExperimentSeeds } from '../src/experiment/run-seeds.ts';
import type { ExperimentOptions } from '../src/experiment/options.ts';
import { smokeOptions } from './experiment-fixtures.ts';
import { WIDER } from '../experiments/wider.ts';
import { drawExperimentFigures } from '../src/figures/draw-experiment.ts';
import { readFiguresSummary } from '../src/analysis/experiment-summary.ts';
import { readCurveFile } from '../src/train/curve-log.ts';
import { withoutWall } from './curve-fixtures.ts';

await selectBackend('wasm', () => {});

const root = mkdtempSync(join(tmpdir(), 'net2net-seeds-'));
process.on('exit', () => rmSync(root, { recursive: true, force: true }));

const options = (out: string, extra: Partial<ExperimentOptions> = {}): ExperimentOptions =>
  smokeOptions(root, out, extra);
const RUNS = ['teacher', 'net2wider', 'random-pad', 'random-init', 'teacher-continued'];

test('--seeds: one folder per seed, figures with bands, every run and seed in the summary, the claims checked', async () => {
  const result = await runExperimentSeeds(options('two'), [1, 2]);
  for (const seed of [1, 2])
    for (const run of RUNS) assert.ok(existsSync(join(result.out, `seed-${seed}`, run, 'curve.csv')), `${seed}/${run}`);
  const teacher1 = readCurveFile(join(result.out, 'seed-1', 'teacher', 'curve.csv')).rows;
  const teacher2 = readCurveFile(join(result.out, 'seed-2', 'teacher', 'curve.csv')).rows;
  assert.notDeepEqual(withoutWall(teacher1), withoutWall(teacher2), 'each seed trains its own teacher');

  const summary = readFiguresSummary(join(result.out, 'figures'))!;
  assert.deepEqual(summary.seeds, [1, 2]);
  for (const run of RUNS)
    assert.deepEqual(
      summary.runs.filter((r) => r.run === run).map((r) => r.seed),
      [1, 2],
      run,
    );
  const net2wider = summary.methods!.find((m) => m.run === 'net2wider')!;
  assert.equal(net2wider.finalValAcc!.n, 2);
  assert.equal(net2wider.stepsToTeacher.length, 2);
  assert.equal(summary.claims!.length, WIDER.claims!.length);
  assert.deepEqual(
    summary.claims!.map((c) => c.evidence.length),
    WIDER.claims!.map(() => 2),
    'each claim is judged on both seeds',
  );
  const faster = summary.claims!.find((c) => c.claim.includes('validation accuracy in fewer minibatches'))!;
  assert.match(faster.claim, /random-pad, random-init, teacher-continued/, 'compared with every baseline');
  assert.deepEqual(summary.experimentSeeds, [1, 2]);

  // The per-seed numbers recompute from the committed-style curves file alone.
  const alone = join(root, 'curves-only');
  mkdirSync(alone);
  copyFileSync(join(result.out, 'figures', 'seed-curves.json'), join(alone, 'seed-curves.json'));
  await drawExperimentFigures(alone);
  const recomputed = readFiguresSummary(alone)!;
  assert.deepEqual(recomputed.runs, summary.runs, 'every run of every seed');
  assert.deepEqual(recomputed.methods, summary.methods);
  assert.deepEqual(recomputed.claims, summary.claims);
  const markdown = readFileSync(join(result.out, 'figures', 'summary.md'), 'utf8');
  assert.match(markdown, /## Paper claims/);
  assert.match(markdown, /\*\*(held|did not hold)\*\*: net2wider starts at the teacher's accuracy/);
  assert.match(markdown, /## Convergence over seeds 1, 2/);
  const svg = readFileSync(join(result.out, 'figures', 'wider-validation.svg'), 'utf8');
  assert.match(svg, /mark-area/, 'min-max bands are drawn');
  assert.match(svg, /seeds 1, 2/, 'the caption names the seeds');
});

test('--seeds resumes: a run killed in its second seed continues to the curves of an uninterrupted one', async () => {
  let killing = true;
  let seen = 0;
  const kill = options('killed', {
    // Killed in seed 2 (random-pad's step 3 is met once per seed): seed 1 is finished, seed 2 half done.
    afterStep: (run, step) => {
      if (killing && run === 'random-pad' && step === 3 && ++seen === 2) throw new Error('simulated kill');
    },
  });
  await assert.rejects(runExperimentSeeds(kill, [1, 2]), /simulated kill/);
  assert.ok(existsSync(join(root, 'killed', 'seed-1', 'teacher-continued', 'summary.json')), 'seed 1 finished');
  assert.ok(!existsSync(join(root, 'killed', 'seed-2', 'teacher-continued')), 'seed 2 did not get that far');
  await assert.rejects(runExperimentSeeds({ ...kill, afterStep: undefined }, [1, 2]), /--resume or --overwrite/);
  killing = false;
  await runExperimentSeeds({ ...kill, resume: true }, [1, 2]);
  for (const seed of [1, 2])
    for (const run of RUNS) {
      const expected = readCurveFile(join(root, 'two', `seed-${seed}`, run, 'curve.csv')).rows;
      const resumed = readCurveFile(join(root, 'killed', `seed-${seed}`, run, 'curve.csv')).rows;
      assert.deepEqual(withoutWall(resumed), withoutWall(expected), `seed ${seed} ${run}`);
    }
});
