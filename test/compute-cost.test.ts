/**
 * Compute accounting: multiply-adds per image against a hand count, the curve's compute columns after a smoke run,
 * old curves without them, figures against compute with the teacher charged, compute to reach and saved against
 * random init on hand-written curves, and the saves-compute claims.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../src/backend/backend.ts';
import { countMultiplyAdds, trainingMultiplyAdds } from '../src/models/counts.ts';
import { runExperiment } from '../src/experiment/run-experiment.ts';
import { readCurveFile } from '../src/train/curve-log.ts';
import type { CurveRow } from '../src/train/curve-log.ts';
import { forwardMultiplyAddsFromConfig, readExperimentCurves } from '../src/run-folder/experiment-curves.ts';
import { readRunConfig } from '../src/run-folder/run-config.ts';
import { readRunSummary } from '../src/train/run-summary.ts';
import { readSeedReadings } from '../src/run-folder/seed-folders.ts';
import { seriesAcrossSeeds } from '../src/analysis/seed-statistics.ts';
import { drawExperimentFigures } from '../src/figures/draw-experiment.ts';
import type { CostPoint } from '../src/analysis/compute-cost.ts';
import { costToReach, methodCompute, savedAgainst, savingHeld } from '../src/analysis/compute-cost.ts';
import { checkClaims } from '../src/analysis/claims.ts';
import type { RunCurves, SeedCurves } from '../src/analysis/claims.ts';
import type { ClaimSpec } from '../src/run-folder/claim-spec.ts';
import { UsageError } from '../src/usage-error.ts';
import { smokeOptions } from './experiment-fixtures.ts';

await selectBackend('wasm', () => {});

const root = mkdtempSync(join(tmpdir(), 'net2net-compute-'));
process.on('exit', () => rmSync(root, { recursive: true, force: true }));

test('multiply-adds per image of a small model equal the hand count; training is 3x forward per image', () => {
  const input = tf.input({ shape: [6, 6, 1] });
  const conv = tf.layers.conv2d({ filters: 2, kernelSize: 3, padding: 'valid' }).apply(input) as tf.SymbolicTensor;
  const flat = tf.layers.flatten().apply(conv) as tf.SymbolicTensor;
  const dense = tf.layers.dense({ units: 5 }).apply(flat) as tf.SymbolicTensor;
  const model = tf.model({ inputs: input, outputs: dense });
  // conv: 4x4 outputs x 3x3 kernel x 1 in x 2 out = 288; dense: 32 in x 5 out = 160.
  assert.equal(countMultiplyAdds(model), 288 + 160);
  assert.equal(trainingMultiplyAdds(448, 10), 3 * 448 * 10);
  model.dispose();
});

const SMOKE_OUT = 'wider';
let smokeDir = '';

test('a smoke run writes the compute columns: train_macs = steps x batch x 3 x forward multiply-adds', async () => {
  const result = await runExperiment(smokeOptions(root, SMOKE_OUT, { only: ['net2wider', 'random-init'] }));
  smokeDir = result.out;
  for (const run of ['teacher', 'net2wider', 'random-init']) {
    const dir = join(smokeDir, run);
    const { rows, problems } = readCurveFile(join(dir, 'curve.csv'));
    assert.deepEqual(problems, []);
    const config = readRunConfig(dir)!;
    const forward = forwardMultiplyAddsFromConfig(dir)!;
    assert.ok(forward > 0, `${run}: forward multiply-adds ${forward}`);
    const batch = config.train.batchSize;
    // synthetic:12x12x1:4:64:32 has 32 validation images; the 16-image training sample is measured and, for
    // precise BatchNorm, passed forward once more: 64 images per evaluation.
    const perEvaluation = (32 + 16 + 16) * forward;
    rows.forEach((row, k) => {
      assert.equal(row.train_macs, row.step * batch * 3 * forward, `${run} step ${row.step}: train_macs`);
      assert.equal(row.eval_macs, (k + 1) * perEvaluation, `${run} step ${row.step}: eval_macs`);
      assert.ok(row.eval_wall_s! >= 0 && row.train_wall_s! >= 0, `${run}: wall seconds split`);
      // Each of the three is written rounded to 0.01 s.
      assert.ok(Math.abs(row.train_wall_s! + row.eval_wall_s! - row.wall_s!) <= 0.016, `${run}: they add up to wall_s`);
    });
    const summary = readRunSummary(dir)!;
    assert.equal(summary.forward_macs_per_image, forward);
    assert.equal(summary.train_macs, rows.at(-1)!.train_macs);
    assert.equal(summary.eval_macs, rows.at(-1)!.eval_macs);
  }
});

test('an old curve.csv without the compute columns loads: train_macs from config.json, the rest unavailable', () => {
  const copy = join(smokeDir, 'net2wider', 'curve.csv');
  const original = readCurveFile(copy).rows;
  const oldColumns = 11;
  const lines = readFileSync(copy, 'utf8').trimEnd().split('\n');
  writeFileSync(copy, lines.map((line) => line.split(',').slice(0, oldColumns).join(',')).join('\n') + '\n');
  const read = readExperimentCurves(smokeDir).curves.find((c) => c.run.run === 'net2wider')!.curve;
  assert.deepEqual(read.problems, []);
  assert.deepEqual(
    read.rows.map((r) => [r.step, r.val_acc, r.train_macs, r.train_wall_s, r.eval_macs, r.eval_wall_s]),
    original.map((r) => [r.step, r.val_acc, r.train_macs, null, null, null]),
  );
  // The figures CLI (its own process, no backend chosen yet) recomputes them too: seed-curves.json carries train_macs.
  const folder = mkdtempSync(join(root, 'old-curves-'));
  cpSync(smokeDir, folder, { recursive: true });
  const cli = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/figures.ts', folder, '--quiet'], {
    encoding: 'utf8',
  });
  assert.equal(cli.status, 0, cli.stderr);
  const file = JSON.parse(readFileSync(join(folder, 'figures', 'seed-curves.json'), 'utf8')) as {
    columns: string[];
    seeds: { runs: { run: string; rows: (number | null)[][] }[] }[];
  };
  const column = file.columns.indexOf('train_macs');
  const rows = file.seeds[0]!.runs.find((r) => r.run === 'net2wider')!.rows;
  assert.deepEqual(
    rows.map((row) => row[column]),
    original.map((r) => r.train_macs),
  );
});

test('figures with --x compute --charge-teacher start the students at the teacher cost; random init at 0', async () => {
  const seeds = readSeedReadings(smokeDir);
  const teacherTotal = readCurveFile(join(smokeDir, 'teacher', 'curve.csv')).rows.at(-1)!.train_macs!;
  const labelOf = (run: string) => seeds[0]!.reading.manifest.runs.find((r) => r.run === run)!.label;
  const charged = seriesAcrossSeeds(seeds, (row) => row.val_acc, false, { axis: 'compute', chargeTeacher: true });
  const first = (run: string) => charged.find((s) => s.label === labelOf(run))!.points[0]!.step;
  assert.equal(first('net2wider'), teacherTotal);
  assert.equal(first('random-init'), 0);
  const uncharged = seriesAcrossSeeds(seeds, (row) => row.val_acc, false, { axis: 'compute', chargeTeacher: false });
  assert.equal(uncharged.find((s) => s.label === labelOf('net2wider'))!.points[0]!.step, 0);
  const drawn = await drawExperimentFigures(smokeDir, { x: 'compute', chargeTeacher: true });
  const svg = drawn.files.find((f) => f.endsWith('wider-validation-compute-charged.svg'));
  assert.ok(svg && existsSync(svg), 'the charged compute figure is written under its own name');
  assert.match(readFileSync(svg, 'utf8'), /Training multiply-adds/);
  const summary = drawn.analysis.methods.find((m) => m.run === 'net2wider')!;
  assert.equal(summary.compute!.savedAgainstRandomInit!.against, 'random-init');
});

test('--x wall on curves without wall columns (a committed seed-curves.json) is refused, naming the column', async () => {
  const committed = join('results', 'figures', 'wider-default');
  const copy = mkdtempSync(join(root, 'committed-'));
  writeFileSync(join(copy, 'seed-curves.json'), readFileSync(join(committed, 'seed-curves.json')));
  await assert.rejects(
    drawExperimentFigures(copy, { x: 'wall' }),
    (err: Error) => err instanceof UsageError && /no train_wall_s/.test(err.message),
  );
});

const points = (...pairs: [number, number][]): CostPoint[] => pairs.map(([cost, accuracy]) => ({ cost, accuracy }));

test('compute to reach and saved against random init, on hand-written curves', () => {
  const student = points([0, 0.7], [100, 0.72], [200, 0.74]);
  const randomInit = points([0, 0.1], [300, 0.65], [600, 0.73], [900, 0.8]);
  assert.equal(costToReach(student, 0.71), 100);
  assert.equal(costToReach(randomInit, 0.71), 600);
  assert.equal(costToReach(randomInit, 0.9), null);
  assert.deepEqual(savedAgainst(student, randomInit, 0.71, 0), {
    run: 100,
    reference: 600,
    referenceTotal: 900,
    saved: 500,
    atLeast: false,
  });
  const charged = savedAgainst(student, randomInit, 0.71, 1000);
  assert.equal(charged.saved, -500);
  assert.equal(savingHeld(charged), false, 'with the teacher counted the student cost more');
  const shortRandomInit = points([0, 0.1], [300, 0.5]);
  const atLeast = savedAgainst(student, shortRandomInit, 0.71, 0);
  assert.deepEqual([atLeast.saved, atLeast.atLeast, savingHeld(atLeast)], [200, true, true]);
  const unknown = savedAgainst(student, shortRandomInit, 0.71, 1000);
  assert.equal(savingHeld(unknown), null, 'random init stopped before the charged cost: undecided');
  assert.equal(
    savingHeld(savedAgainst(points([0, 0.5]), randomInit, 0.71, 0)),
    false,
    'never reached, random init did',
  );
});

const row = (step: number, val_acc: number, train_macs: number | null, train_wall_s: number | null): CurveRow =>
  ({ step, images: step * 8, val_acc, train_macs, train_wall_s }) as CurveRow;

test('a method summary: costs to teacher and teacher + margin per seed, saved with and without the teacher', () => {
  const teacherRows = [row(0, 0.1, 0, 0), row(10, 0.7, 4000, 40)];
  const rows = [row(0, 0.7, 0, 0), row(10, 0.705, 100, 1), row(20, 0.72, 200, 2)];
  const referenceRows = [row(0, 0.1, 0, 0), row(10, 0.5, 300, 3), row(20, 0.75, 600, 6)];
  const summary = methodCompute(
    { run: 'net2wider', role: 'net2net', label: 'Net2WiderNet' },
    [{ rows, teacherRows, referenceRows }],
    0.01,
    'random-init',
  )!;
  assert.deepEqual(summary.macsToTeacher.perSeed, [0]);
  assert.deepEqual(summary.macsToTeacherPlusMargin.perSeed, [200]);
  assert.deepEqual(summary.wallSecondsToTeacherPlusMargin.perSeed, [2]);
  assert.deepEqual(summary.totalMacs.perSeed, [200]);
  assert.deepEqual(
    summary.savedAgainstRandomInit!.uncharged.map((s) => s.saved),
    [400],
  );
  assert.deepEqual(
    summary.savedAgainstRandomInit!.charged.map((s) => s.saved),
    [600 - 4200],
  );
  const old = [row(0, 0.7, null, null), row(10, 0.72, null, null)];
  assert.equal(
    methodCompute(
      { run: 'net2wider', role: 'net2net', label: 'x' },
      [{ rows: old, teacherRows, referenceRows }],
      0.01,
      null,
    ),
    null,
    'no compute columns: no compute summary (old summaries recompute unchanged)',
  );
});

/** One seed: the teacher ends at 0.70 after 4000 multiply-adds; net2wider and random init as given. */
function seed(
  seedNumber: number,
  net2wider: CostPoint[] | null,
  randomInit: CostPoint[],
  teacherCosts = true,
): SeedCurves {
  const curves = (c: CostPoint[], withCosts = true): RunCurves => ({
    validation: c.map((p, i) => ({ step: i * 10, accuracy: p.accuracy })),
    training: [],
    compute: withCosts ? c : [],
  });
  const runs = new Map<string, RunCurves>([['random-init', curves(randomInit)]]);
  if (net2wider) runs.set('net2wider', curves(net2wider));
  return { seed: seedNumber, teacher: curves(points([0, 0.1], [4000, 0.7]), teacherCosts), runs };
}

const UNCHARGED: ClaimSpec = { kind: 'saves-compute', run: 'net2wider', than: 'random-init', chargeTeacher: false };
const CHARGED: ClaimSpec = { ...UNCHARGED, chargeTeacher: true };

test('saves-compute claims: held, did not hold, undecided and not tested', () => {
  const fast = points([0, 0.7], [100, 0.72]);
  const randomInit = points([0, 0.1], [3000, 0.6], [6000, 0.75]);
  const seeds = [seed(1, fast, randomInit), seed(2, fast, randomInit)];
  const [uncharged, charged] = checkClaims([UNCHARGED, CHARGED], seeds, { margin: 0.01 });
  assert.equal(uncharged!.verdict, 'held');
  assert.match(uncharged!.evidence[0]!, /saved 5\.90 k multiply-adds/);
  assert.equal(charged!.verdict, 'held', '100 + 4000 < 6000');
  const slow = [seed(1, fast, randomInit), seed(2, fast, points([0, 0.1], [1000, 0.72]))];
  const [, chargedSlow] = checkClaims([UNCHARGED, CHARGED], slow, { margin: 0.01 });
  assert.equal(chargedSlow!.verdict, 'did not hold', 'seed 2: 4100 against 1000');
  const neither = [seed(1, points([0, 0.7]), points([0, 0.1], [1000, 0.5]))];
  assert.equal(checkClaims([UNCHARGED], neither, { margin: 0.01 })[0]!.verdict, 'undecided');
  const lacking = [seed(1, fast, randomInit), seed(2, null, randomInit)];
  const untested = checkClaims([UNCHARGED], lacking, { margin: 0.01 })[0]!;
  assert.equal(untested.verdict, 'not tested', 'never held on fewer seeds than the experiment ran');
  assert.match(untested.detail, /seed 2 lacks net2wider/);
  const noTeacherCost = [seed(1, fast, randomInit, false)];
  assert.equal(checkClaims([UNCHARGED], noTeacherCost, { margin: 0.01 })[0]!.verdict, 'held');
  const chargedNoCost = checkClaims([CHARGED], noTeacherCost, { margin: 0.01 })[0]!;
  assert.equal(chargedNoCost.verdict, 'not tested', "the teacher's cost is missing");
  assert.match(chargedNoCost.detail, /teacher's training multiply-adds/);
});
