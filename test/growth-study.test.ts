/**
 * The growth study (`npm run experiment -- growth`): its plan (the full grid of optimizer state x noise with no flags,
 * flags overriding; one teacher, wider's, with wider's cache key), its claims (starts-at-teacher on exact noise only),
 * short labels that keep two legend columns, and a smoke run that draws the figures against minibatches and against
 * compute (with and without the teacher charged) and a summary with the after-growth and compute tables; the figures
 * CLI redraws the same set from the experiment folder and from the figures folder.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EXPERIMENTS } from '../experiments/registry.ts';
import { PRESETS } from '../experiments/presets.ts';
import { selectBackend } from '../src/backend/backend.ts';
import { growthSettings, resolvePreset } from '../src/experiment/options.ts';
import { plannedClaims } from '../src/experiment/planned-claims.ts';
import { runExperiment } from '../src/experiment/run-experiment.ts';
import type { ExperimentPlan, PlanInput, PlannedRun } from '../src/experiment/run-plan.ts';
import { defaultGrowthSettings, planExperiment } from '../src/experiment/run-plan.ts';
import { teacherCacheKey } from '../src/experiment/teacher-cache.ts';
import { legendColumns } from '../src/figures/accuracy-chart.ts';
import { drawExperimentFigures } from '../src/figures/draw-experiment.ts';
import { readWrittenManifest } from '../src/run-folder/experiment-manifest.ts';
import type { RunConfig } from '../src/run-folder/run-config.ts';
import { readRunConfig } from '../src/run-folder/run-config.ts';
import { readTransformFile } from '../src/run-folder/transform-file.ts';
import { readCurveFile } from '../src/train/curve-log.ts';
import { smokeOptions } from './experiment-fixtures.ts';

const root = mkdtempSync(join(tmpdir(), 'net2net-growth-study-'));
process.on('exit', () => rmSync(root, { recursive: true, force: true }));

const GROWTH = EXPERIMENTS.growth;
const STATES = ['fresh', 'transfer'] as const;
const NOISES = ['none', 'zero-sum', '0.01'] as const;
const NET2WIDER_RUNS = STATES.flatMap((s) => NOISES.map((n) => `net2wider@state=${s}@noise=${n}`));
const GRID = [
  ...NET2WIDER_RUNS,
  'random-pad@state=fresh',
  'random-pad@state=transfer',
  'random-init',
  'teacher-continued',
];

const planInput = (experiment: 'growth' | 'wider', preset = PRESETS.smoke, seed = 2): PlanInput => ({
  definition: EXPERIMENTS[experiment],
  preset: resolvePreset(preset, { data: 'synthetic' }),
  seed,
  inputShape: [28, 28, 1],
  classes: 10,
  numTrain: 10_000,
  growth: defaultGrowthSettings(EXPERIMENTS[experiment]),
});

/** The teacher's cache key as the runner computes it (run-experiment.ts: the config less what the key ignores). */
function teacherKey(plan: ExperimentPlan): string {
  const run: PlannedRun = plan.teacher;
  const config = {
    experiment: plan.experiment.name,
    preset: plan.preset.name,
    run: run.run,
    role: run.role,
    label: run.label,
    model: run.model,
    data: plan.data,
    train: run.train,
    seeds: run.seeds,
    teacherCacheKey: '',
  } as unknown as RunConfig;
  return teacherCacheKey(config, 'code');
}

test('the growth plan: the full grid with no flags, one shared teacher equal to wider’s (the same cache key)', () => {
  for (const preset of [PRESETS.smoke, PRESETS.default, PRESETS.cpu]) {
    const plan = planExperiment(planInput('growth', preset));
    const wider = planExperiment(planInput('wider', preset));
    assert.deepEqual(
      plan.students.map((s) => s.run),
      GRID,
      preset.name,
    );
    assert.deepEqual(plan.teacher.model, wider.teacher.model, `${preset.name}: wider's narrow teacher`);
    assert.deepEqual(plan.teacher.train, wider.teacher.train, preset.name);
    assert.deepEqual(plan.data, wider.data, preset.name);
    assert.equal(teacherKey(plan), teacherKey(wider), `${preset.name}: the cached teacher of wider is reused`);
    const { seed: _s, ...student } = plan.students[0]!.model.options;
    const { seed: _w, ...widerStudent } = wider.students.find((s) => s.run === 'net2wider')!.model.options;
    assert.deepEqual(student, widerStudent, `${preset.name}: grown to wider's student, the standard network`);
    for (const s of plan.students) assert.deepEqual(s.seeds, plan.students[0]!.seeds, `${s.run}: one data order`);
  }
  const byRun = new Map(planExperiment(planInput('growth')).students.map((s) => [s.run, s]));
  // Which runs take which setting: Net2WiderNet both, random pad the state, the others neither.
  assert.equal(byRun.get('net2wider@state=transfer@noise=0.01')!.optimizerState, 'transfer');
  assert.equal(byRun.get('net2wider@state=transfer@noise=0.01')!.noise, 0.01);
  assert.equal(byRun.get('net2wider@state=fresh@noise=none')!.noise, 'none');
  assert.equal(byRun.get('random-pad@state=transfer')!.optimizerState, 'transfer');
  assert.equal(byRun.get('random-init')!.optimizerState, undefined);
  assert.equal(byRun.get('teacher-continued')!.optimizerState, undefined);
  assert.equal(
    byRun.get('teacher-continued')!.model.options.width,
    planInput('growth').preset.baseWidth * Math.sqrt(0.3),
  );
  // Short labels: every one distinct, two legend columns for all of them and the teacher.
  const labels = [...byRun.values()].map((s) => s.label);
  assert.equal(byRun.get('net2wider@state=transfer@noise=0.01')!.label, 'Net2WiderNet, transfer, Gaussian 0.01');
  assert.equal(byRun.get('net2wider@state=fresh@noise=none')!.label, 'Net2WiderNet, fresh, no noise');
  assert.equal(byRun.get('random-pad@state=fresh')!.label, 'Random pad, fresh');
  assert.equal(new Set(labels).size, labels.length);
  assert.equal(legendColumns([...labels, GROWTH.teacherLabel(PRESETS.default)]), 2);
});

test('growth: flags override the grid; with no flags the options give the definition’s lists', () => {
  const options = smokeOptions(root, 'unused', { experiment: GROWTH });
  assert.deepEqual(growthSettings(options), {
    optimizerStates: ['fresh', 'transfer'],
    noises: ['none', 'zero-sum', 0.01],
  });
  assert.deepEqual(growthSettings({ ...options, optimizerState: 'transfer', noise: ['zero-sum', 0.05] }), {
    optimizerStates: ['transfer'],
    noises: ['zero-sum', 0.05],
  });
  const overridden = planExperiment({
    ...planInput('growth'),
    growth: growthSettings({ ...options, optimizerState: 'transfer', noise: ['zero-sum', 0.05] }),
  });
  assert.deepEqual(
    overridden.students.map((s) => s.run),
    ['net2wider@noise=zero-sum', 'net2wider@noise=0.05', 'random-pad', 'random-init', 'teacher-continued'],
  );
  assert.ok(
    overridden.students.filter((s) => s.method?.takesOptimizerState).every((s) => s.optimizerState === 'transfer'),
  );
  // wider keeps its defaults: one value each, its run names unchanged.
  assert.deepEqual(growthSettings(smokeOptions(root, 'unused')), { optimizerStates: ['fresh'], noises: ['zero-sum'] });
});

test('growth claims: starts-at-teacher on the exact-noise runs only; the others on every swept run', () => {
  const claims = plannedClaims(GROWTH, PRESETS.default);
  const starts = claims.filter((c) => c.kind === 'starts-at-teacher').map((c) => c.run);
  assert.deepEqual(
    starts,
    NET2WIDER_RUNS.filter((r) => !r.endsWith('0.01')),
  );
  assert.deepEqual(
    claims.filter((c) => c.kind !== 'starts-at-teacher').map((c) => [c.kind, c.run]),
    [
      ['ahead-at-every-evaluation', 'net2wider'],
      ['saves-compute', 'net2wider'],
      ['saves-compute', 'net2wider'],
    ],
  );
  const only = (noises: (typeof GROWTH.noise)[]) =>
    plannedClaims(GROWTH, PRESETS.default, { optimizerStates: ['fresh'], noises }).filter(
      (c) => c.kind === 'starts-at-teacher',
    );
  assert.deepEqual(only([0.01]), [], 'all Gaussian: no run to start at the teacher');
  assert.deepEqual(only(['zero-sum']), [{ kind: 'starts-at-teacher', run: 'net2wider' }], 'exact: as wider lists it');
  assert.deepEqual(
    plannedClaims(EXPERIMENTS.wider, PRESETS.default).find((c) => c.kind === 'starts-at-teacher'),
    { kind: 'starts-at-teacher', run: 'net2wider' },
    "wider's claims as before",
  );
});

function figuresCli(dir: string): Promise<{ status: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/figures.ts', dir, '--quiet'], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (status) => resolve({ status, stderr }));
  });
}

const PANELS = ['validation', 'training', 'validation-zoom'];
const EXPECTED_FIGURES = PANELS.flatMap((p) =>
  ['', '-compute', '-compute-charged'].flatMap((x) => [`growth-${p}${x}.svg`, `growth-${p}${x}.png`]),
).sort();

const figureFiles = (dir: string) =>
  readdirSync(dir)
    .filter((f) => /\.(svg|png)$/.test(f))
    .sort();

test('a smoke growth study: every run of the grid, the compute figures, the after-growth and compute tables', async () => {
  await selectBackend('wasm', () => {});
  const logs: string[] = [];
  const overrides = { studentSteps: 2 };
  const result = await runExperiment(
    smokeOptions(root, 'growth', { experiment: GROWTH, overrides, log: (l) => logs.push(l) }),
  );
  const out = join(root, 'growth');
  assert.deepEqual(
    result.runs.map((r) => r.run),
    ['teacher', ...GRID],
  );
  const manifest = readWrittenManifest(out)!;
  assert.equal(manifest.noise, 'none,zero-sum,0.01');
  assert.deepEqual(manifest.figureAxes, [
    { x: 'compute', chargeTeacher: false },
    { x: 'compute', chargeTeacher: true },
  ]);
  const key = readRunConfig(join(out, 'teacher'))!.teacherCacheKey;
  for (const run of GRID) {
    const rows = readCurveFile(join(out, run, 'curve.csv')).rows;
    assert.deepEqual(
      rows.map((r) => r.step),
      [0, 2],
      run,
    );
    assert.ok(
      rows.every((r) => r.train_macs !== null),
      `${run}: compute columns`,
    );
    assert.equal(readRunConfig(join(out, run))!.teacherCacheKey, key, `${run}: grown from the one teacher`);
  }
  const preserved = (run: string) => readTransformFile(join(out, run))!.preservation;
  assert.equal(preserved('net2wider@state=fresh@noise=zero-sum').enforced, true);
  assert.equal(preserved('net2wider@state=transfer@noise=0.01').enforced, false, 'Gaussian noise: recorded only');
  assert.equal(logs.filter((l) => /starts from the given optimizer state/.test(l)).length, 4, '3 Net2WiderNet + pad');

  const figuresDir = join(out, 'figures');
  assert.deepEqual(figureFiles(figuresDir), EXPECTED_FIGURES);
  const summary = readFileSync(join(figuresDir, 'summary.md'), 'utf8');
  assert.match(summary, /^## After growth$/m);
  assert.match(summary, /^## Training compute$/m);
  assert.match(summary, /\| Net2WiderNet, transfer, Gaussian 0\.01 \|/);
  const claims = (
    JSON.parse(readFileSync(join(figuresDir, 'summary.json'), 'utf8')) as { claims: { claim: string }[] }
  ).claims.map((c) => c.claim);
  const judged = (pattern: RegExp) => claims.filter((c) => pattern.test(c)).map((c) => c.split(' ')[0]);
  assert.deepEqual(
    judged(/starts at the teacher/),
    NET2WIDER_RUNS.filter((r) => !r.endsWith('0.01')),
  );
  assert.deepEqual(judged(/ahead of random-pad/), NET2WIDER_RUNS);
  assert.ok(
    claims.includes(
      'net2wider@state=transfer@noise=0.01 is ahead of random-pad@state=transfer and random-init at every evaluation of every seed',
    ),
    'each swept run against random pad at its own optimizer state',
  );
  assert.deepEqual(judged(/teacher's training not counted/), NET2WIDER_RUNS);
  assert.deepEqual(judged(/teacher's training counted/), NET2WIDER_RUNS);

  // The same teacher serves wider: the cache key is wider's, and wider reuses it.
  const widerLogs: string[] = [];
  await runExperiment(
    smokeOptions(root, 'wider', {
      overrides,
      only: ['teacher-continued'],
      figures: false,
      log: (l) => widerLogs.push(l),
    }),
  );
  assert.equal(readRunConfig(join(root, 'wider', 'teacher'))!.teacherCacheKey, key);
  assert.ok(widerLogs.some((l) => /reusing the cached teacher/.test(l)));

  // `npm run figures` redraws the same set: from the experiment folder, and from the figures folder alone.
  const drawn = await drawExperimentFigures(out);
  assert.deepEqual(drawn.files.filter((f) => /\.(svg|png)$/.test(f)).length, EXPECTED_FIGURES.length);
  const copy = join(root, 'figures-copy');
  mkdirSync(copy);
  copyFileSync(join(figuresDir, 'seed-curves.json'), join(copy, 'seed-curves.json'));
  const cli = await figuresCli(copy);
  assert.equal(cli.status, 0, cli.stderr);
  assert.deepEqual(figureFiles(copy), EXPECTED_FIGURES);
  assert.equal(readFileSync(join(copy, 'summary.md'), 'utf8'), summary, 'the same summary from seed-curves.json');
});
