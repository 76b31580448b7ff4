/**
 * What happens at growth, swept: `--optimizer-state fresh,transfer` and `--noise none,zero-sum,<scale>` lists (run
 * names, plan, CLI errors), a smoke experiment with fresh and transferred optimizer state (and its resume), and the
 * growth-recovery statistics on hand-written curves.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EXPERIMENTS } from '../experiments/registry.ts';
import { PRESETS } from '../experiments/presets.ts';
import { growthRecovery, growthRecoveryAcrossSeeds, recoveryWindow } from '../src/analysis/growth-recovery.ts';
import { selectBackend } from '../src/backend/backend.ts';
import type { ExperimentSummary } from '../src/analysis/experiment-summary.ts';
import { growthRecoverySection } from '../src/figures/growth-recovery-table.ts';
import { growthSettings, resolvePreset } from '../src/experiment/options.ts';
import { runExperiment } from '../src/experiment/run-experiment.ts';
import type { PlanInput } from '../src/experiment/run-plan.ts';
import { planExperiment, selectMethodRuns } from '../src/experiment/run-plan.ts';
import type { ExperimentManifest, RunDescription } from '../src/run-folder/experiment-manifest.ts';
import { readRunConfig } from '../src/run-folder/run-config.ts';
import { methodOfRun, parseRunName, runName } from '../src/run-folder/run-name.ts';
import type { RunNameParts } from '../src/run-folder/run-name.ts';
import type { SeedReading } from '../src/run-folder/seed-folders.ts';
import { readTransformFile } from '../src/run-folder/transform-file.ts';
import type { CurveRow } from '../src/train/curve-log.ts';
import { CURVE_COLUMNS, readCurveFile } from '../src/train/curve-log.ts';
import { UsageError } from '../src/usage-error.ts';
import { smokeOptions } from './experiment-fixtures.ts';
import { withoutWall } from './curve-fixtures.ts';

const root = mkdtempSync(join(tmpdir(), 'net2net-growth-sweep-'));
process.on('exit', () => rmSync(root, { recursive: true, force: true }));

test('run names: every combination of settings round-trips; malformed or non-canonical names are refused', () => {
  const cases: [RunNameParts, string][] = [
    [{ method: 'net2wider' }, 'net2wider'],
    [{ method: 'net2wider', learningRate: 0.005 }, 'net2wider@lr0.005'],
    [{ method: 'net2wider', optimizerState: 'transfer' }, 'net2wider@state=transfer'],
    [{ method: 'net2wider', noise: 'zero-sum' }, 'net2wider@noise=zero-sum'],
    [{ method: 'random-pad', learningRate: 0.002, optimizerState: 'fresh' }, 'random-pad@lr0.002@state=fresh'],
    [
      { method: 'net2wider', learningRate: 0.01, optimizerState: 'transfer', noise: 0.01 },
      'net2wider@lr0.01@state=transfer@noise=0.01',
    ],
    [{ method: 'net2wider', noise: 'none' }, 'net2wider@noise=none'],
  ];
  for (const [parts, name] of cases) {
    assert.equal(runName(parts), name);
    assert.deepEqual(parseRunName(name), parts, name);
    assert.equal(methodOfRun(name), parts.method);
  }
  for (const bad of [
    'net2wider@state=stale',
    'net2wider@noise=-1',
    'net2wider@noise=',
    'net2wider@lrx',
    'net2wider@seed=3',
    'net2wider@noise=none@state=fresh', // out of order
    'net2wider@lr0.0050', // not as the runner writes it
  ])
    assert.throws(() => parseRunName(bad), new RegExp(`run name '${bad.replace(/[.$]/g, '\\$&')}'`), bad);
});

const planInput = (growth: PlanInput['growth'], experiment: 'wider' | 'deeper' = 'wider'): PlanInput => ({
  definition: EXPERIMENTS[experiment],
  preset: resolvePreset(PRESETS.smoke, { studentLearningRates: [0.002, 0.005] }),
  seed: 3,
  inputShape: [12, 12, 1],
  classes: 4,
  numTrain: 64,
  growth,
});

test('the plan of a combined sweep: one run per value of each list, where the method takes the setting', () => {
  const plain = planExperiment(planInput(undefined));
  const plan = planExperiment(planInput({ optimizerStates: ['fresh', 'transfer'], noises: ['none', 0.01] }));
  const wider = plan.students.filter((s) => s.run.startsWith('net2wider'));
  const pad = plan.students.filter((s) => s.run.startsWith('random-pad'));
  assert.equal(wider.length, 8, 'Net2WiderNet: 2 rates x 2 states x 2 noises');
  assert.equal(pad.length, 4, 'random pad: 2 rates x 2 states (it takes no noise)');
  assert.deepEqual(
    plan.students.map((s) => s.run).filter((r) => !r.startsWith('net2wider') && !r.startsWith('random-pad')),
    ['random-init', 'teacher-continued'],
    'the runs that take neither setting run once',
  );
  const byName = new Map(plan.students.map((s) => [s.run, s]));
  const combined = byName.get('net2wider@lr0.005@state=transfer@noise=0.01')!;
  assert.equal(combined.optimizerState, 'transfer');
  assert.equal(combined.noise, 0.01);
  assert.equal(combined.train.optimizer.learningRate, 0.005);
  assert.equal(combined.label, 'Net2WiderNet, lr 0.005, transfer state, noise 0.01');
  assert.equal(byName.get('random-pad@lr0.002@state=fresh')!.optimizerState, 'fresh');
  assert.equal(byName.get('random-init')!.optimizerState, undefined);
  assert.equal(byName.get('teacher-continued')!.optimizerState, undefined);
  for (const student of plan.students) {
    assert.deepEqual(parseRunName(student.run).method, student.method!.run);
    assert.deepEqual(student.seeds, plain.students[0]!.seeds, 'one seed: the same data order and transform seed');
  }
  assert.deepEqual(plan.teacher, plain.teacher, 'the teacher (and so its cache key) does not depend on the sweep');
  // One value of each: today's run names, the value applied.
  const single = planExperiment(planInput({ optimizerStates: ['transfer'], noises: [0.05] }));
  assert.deepEqual(
    single.students.map((s) => s.run),
    plain.students.map((s) => s.run),
  );
  assert.equal(single.students.find((s) => s.run === 'net2wider@lr0.002')!.noise, 0.05);
  assert.equal(single.students.find((s) => s.run === 'random-pad@lr0.002')!.optimizerState, 'transfer');
  const defaults = growthSettings(smokeOptions(root, 'unused'));
  assert.deepEqual(defaults, { optimizerStates: ['fresh'], noises: ['zero-sum'] }, "fresh and the experiment's noise");
  assert.equal(plain.students.find((s) => s.run === 'net2wider@lr0.002')!.noise, 'zero-sum');
  // Deeper: Net2DeeperNet takes optimizer state; no run takes noise, so a noise list is refused.
  const deeper = planExperiment(planInput({ optimizerStates: ['fresh', 'transfer'], noises: ['none'] }, 'deeper'));
  assert.deepEqual(
    deeper.students.map((s) => s.run),
    ['net2deeper@state=fresh', 'net2deeper@state=transfer', 'random-init', 'teacher-continued'],
  );
  assert.throws(
    () =>
      selectMethodRuns(EXPERIMENTS.deeper, PRESETS.smoke, undefined, {
        optimizerStates: ['fresh'],
        noises: ['none', 0.1],
      }),
    (err: Error) => err instanceof UsageError && /--noise 'none,0.1'/.test(err.message) && /deeper/.test(err.message),
  );
  assert.throws(
    () =>
      selectMethodRuns(EXPERIMENTS.wider, PRESETS.smoke, undefined, { optimizerStates: ['fresh'], noises: [0.1, 0.1] }),
    (err: Error) => err instanceof UsageError && /lists '0.1' twice/.test(err.message),
  );
  assert.deepEqual(
    selectMethodRuns(EXPERIMENTS.wider, PRESETS.smoke, ['net2wider@state=transfer'], {
      optimizerStates: ['fresh', 'transfer'],
      noises: ['zero-sum'],
    }).map((r) => r.run),
    ['net2wider@state=transfer'],
    '--runs takes a swept run by name',
  );
});

function runCli(args: string[]): Promise<{ status: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/experiment.ts', ...args], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (status) => resolve({ status, stderr }));
  });
}

test('bad --optimizer-state and --noise lists exit with status 2 and name the value', async () => {
  const out = join(root, 'never-written');
  const cases: [string[], RegExp][] = [
    [
      ['wider', '--optimizer-state', 'stale'],
      /--optimizer-state 'stale' is invalid: accepted values are fresh, transfer/,
    ],
    [['wider', '--optimizer-state', 'fresh,fresh'], /--optimizer-state 'fresh,fresh' lists 'fresh' twice/],
    [['wider', '--optimizer-state', ','], /--optimizer-state ',' is invalid/],
    [['wider', '--noise', 'none,-0.1'], /--noise '-0.1' is invalid: accepted values are zero-sum, none/],
    [['wider', '--noise', 'zero-sum,none,zero-sum'], /lists 'zero-sum' twice/],
    [['deeper', '--preset', 'smoke', '--out', out, '--noise', 'none,zero-sum'], /no run of experiment 'deeper'/],
  ];
  const results = await Promise.all(cases.map(([args]) => runCli(args)));
  results.forEach(({ status, stderr }, i) => {
    const [args, pattern] = cases[i]!;
    assert.equal(status, 2, `${args.join(' ')}: exit ${status}, stderr: ${stderr}`);
    assert.match(stderr, pattern, args.join(' '));
  });
});

const row = (step: number, valAcc: number, valLoss: number | null = null): CurveRow => ({
  ...(Object.fromEntries(CURVE_COLUMNS.map((c) => [c, null])) as Omit<CurveRow, 'step'>),
  step,
  val_acc: valAcc,
  val_loss: valLoss,
});

test('growth recovery on hand-written curves: window, dip, recovery, loss slope against the teacher trained further', () => {
  // 200 minibatches evaluated every 25: the window is steps 0, 25, 50 (a quarter of 200).
  const accs = [0.8, 0.76, 0.78, 0.79, 0.81, 0.82, 0.82, 0.83, 0.83];
  const losses = [1.0, 1.2, 1.1, 1.0, 0.9, 0.9, 0.8, 0.8, 0.8];
  const student = accs.map((a, i) => row(i * 25, a, losses[i]!));
  const continued = accs.map((_, i) => row(i * 25, 0.8, 1.0 - 0.05 * i));
  assert.deepEqual(
    recoveryWindow(student).map((r) => r.step),
    [0, 25, 50],
  );
  const r = growthRecovery(student, 0.8, { run: 'teacher-continued', rows: continued })!;
  assert.equal(r.windowEndStep, 50);
  assert.equal(r.windowEvaluations, 3);
  assert.ok(Math.abs(r.dip - 0.04) < 1e-12, `dip ${r.dip}`);
  assert.equal(r.dipStep, 25);
  assert.equal(r.stepsToRecover, 100, 'first evaluation at or above 0.80 after the dip (0.79 at 75 is not)');
  // Losses 1.0, 1.2, 1.1 at 0, 25, 50: slope 2.5 / 1250 = 0.002 per minibatch; the control's falls 0.002.
  assert.ok(Math.abs(r.lossSlope! - 0.002) < 1e-12, `slope ${r.lossSlope}`);
  assert.ok(Math.abs(r.referenceLossSlope! + 0.002) < 1e-12, `reference slope ${r.referenceLossSlope}`);
  assert.equal(r.referenceRun, 'teacher-continued');

  const never = growthRecovery(
    accs.map((_, i) => row(i * 25, 0.7)),
    0.8,
    null,
  )!;
  assert.ok(Math.abs(never.dip - 0.1) < 1e-12);
  assert.equal(never.dipStep, 0, 'the first of equal lowest evaluations');
  assert.equal(never.stepsToRecover, null, 'never back at the teacher');
  assert.equal(never.lossSlope, null, 'no losses recorded');
  assert.equal(never.referenceLossSlope, null);

  const lateDrop = growthRecovery([row(0, 0.8), row(25, 0.85), row(50, 0.6)], 0.8, null)!;
  assert.ok(Math.abs(lateDrop.dip - 0.2) < 1e-12, `dip ${lateDrop.dip}`);
  assert.equal(lateDrop.dipStep, 50, 'a drop in the window counts even after a rise');
  assert.equal(lateDrop.stepsToRecover, null);
  const above = growthRecovery([row(0, 0.8), row(25, 0.85), row(50, 0.9), row(75, 0.7)], 0.8, null)!;
  assert.equal(above.dip, 0, 'never below the teacher in the window (a later drop is outside it)');
  assert.equal(above.stepsToRecover, 0);
  // 250 minibatches evaluated every 50: a quarter holds 0 and 50 only, so the window is the first three.
  assert.deepEqual(
    recoveryWindow([0, 50, 100, 150, 200, 250].map((s) => row(s, 0.5))).map((w) => w.step),
    [0, 50, 100],
  );
  assert.equal(growthRecovery([row(0, 0.5)], null, null), null, 'no teacher accuracy');
  assert.equal(growthRecovery([], 0.8, null), null, 'no evaluations');
});

test('growth recovery over seeds: per-seed values and their spread, against each seed’s own teacher', () => {
  const reading = (teacherAcc: number, studentAccs: number[]): SeedReading['reading'] => ({
    manifest: {
      experiment: 'wider',
      teacherRun: 'teacher',
      runs: [
        { run: 'teacher', role: 'teacher', label: 'T' },
        { run: 'net2wider', role: 'net2net', label: 'N' },
        { run: 'teacher-continued', role: 'baseline', label: 'C' },
      ],
      notes: [],
    } as unknown as ExperimentManifest,
    curves: [
      { run: { run: 'teacher', role: 'teacher', label: 'T' }, rows: [row(0, 0.1), row(100, teacherAcc)] },
      {
        run: { run: 'net2wider', role: 'net2net', label: 'N' },
        rows: studentAccs.map((a, i) => row(i * 10, a, 1 - a)),
      },
      {
        run: { run: 'teacher-continued', role: 'baseline', label: 'C' },
        rows: [0, 1, 2, 3].map((i) => row(i * 10, teacherAcc, 1 - i * 0.01)),
      },
    ].map(({ run, rows }) => ({ run: run as RunDescription, curve: { path: run.run, problems: [], rows } })),
  });
  const seeds: SeedReading[] = [
    { seed: 1, dir: 'a', reading: reading(0.8, [0.8, 0.75, 0.82, 0.83]) },
    { seed: 2, dir: 'b', reading: reading(0.7, [0.7, 0.69, 0.68, 0.69]) },
  ];
  const across = growthRecoveryAcrossSeeds(seeds, { run: 'net2wider', role: 'net2net', label: 'N' })!;
  assert.deepEqual(across.seeds, [1, 2]);
  assert.deepEqual(across.stepsToRecover, [20, null]);
  assert.ok(Math.abs(across.dip!.min - 0.02) < 1e-12 && Math.abs(across.dip!.max - 0.05) < 1e-12);
  assert.equal(across.dip!.n, 2);
  assert.equal(across.perSeed[1]!.dipStep, 20);
  assert.ok(Math.abs(across.referenceLossSlope!.mean + 0.001) < 1e-12, 'teacher trained further: -0.01 per 10');
  assert.equal(growthRecoveryAcrossSeeds(seeds, { run: 'teacher', role: 'teacher', label: 'T' }), null);
});

test("summary.md's After growth table: dip with its step, recovery or never, slopes per 100 minibatches", () => {
  const recovery = growthRecovery(
    [0.8, 0.76, 0.78, 0.79, 0.81].map((a, i) => row(i * 25, a, 1 - i * 0.01)),
    0.8,
    { run: 'teacher-continued', rows: [0, 1, 2].map((i) => row(i * 25, 0.8, 1 - i * 0.02)) },
  );
  const summary = {
    experiment: 'wider',
    teacher: null,
    notes: [],
    runs: [
      { run: 'teacher', label: 'T', growthRecovery: null },
      { run: 'net2wider@state=transfer', label: 'Net2WiderNet, transfer state', growthRecovery: recovery },
    ],
  } as unknown as ExperimentSummary;
  const lines = growthRecoverySection(summary);
  assert.equal(lines[0], '## After growth');
  assert.equal(lines.at(-1), '| Net2WiderNet, transfer state | 4.00 pt (step 25) | 100 | -0.0400 | -0.0800 |');
  assert.equal(lines.filter((l) => l.startsWith('| ')).length, 3, 'header, rule and one run: the teacher has none');
  assert.deepEqual(growthRecoverySection({ ...summary, runs: [] }), [], 'older summaries: no section');
});

const curveOf = (out: string, run: string) => withoutWall(readCurveFile(join(root, out, run, 'curve.csv')).rows);

test('a smoke experiment with --optimizer-state fresh,transfer: both runs from one teacher, transfer changes the first step', async () => {
  await selectBackend('wasm', () => {});
  const logs: string[] = [];
  const swept = {
    optimizerState: ['fresh', 'transfer'] as const,
    only: ['net2wider', 'teacher-continued'],
    figures: false,
  };
  const result = await runExperiment(smokeOptions(root, 'sweep', { ...swept, log: (l) => logs.push(l) }));
  const out = join(root, 'sweep');
  assert.deepEqual(
    result.runs.map((r) => r.run),
    ['teacher', 'net2wider@state=fresh', 'net2wider@state=transfer', 'teacher-continued'],
  );
  const config = (run: string) => readRunConfig(join(out, run))!;
  assert.equal(config('net2wider@state=fresh').optimizerState, 'fresh');
  assert.equal(config('net2wider@state=transfer').optimizerState, 'transfer');
  assert.equal(config('teacher-continued').optimizerState, undefined, 'the control takes no optimizer state');
  assert.equal(config('teacher').optimizerState, undefined);
  const keys = new Set(['teacher', ...result.runs.map((r) => r.run)].map((run) => config(run).teacherCacheKey));
  assert.equal(keys.size, 1, 'every run grew from the one cached teacher');
  assert.equal(config('net2wider@state=fresh').train.dataSeed, config('net2wider@state=transfer').train.dataSeed);
  assert.equal(readTransformFile(join(out, 'net2wider@state=transfer'))!.noise, 'zero-sum');
  const transferLogs = logs.filter((l) => /starts from the given optimizer state/.test(l));
  assert.equal(transferLogs.length, 1);
  assert.match(transferLogs[0]!, /net2wider@state=transfer/);

  const teacher = curveOf('sweep', 'teacher');
  const fresh = curveOf('sweep', 'net2wider@state=fresh');
  const transfer = curveOf('sweep', 'net2wider@state=transfer');
  assert.equal(fresh[0]!.step, 0);
  assert.equal(fresh[0]!.val_acc, teacher.at(-1)!.val_acc, "fresh starts at the teacher's accuracy");
  assert.deepEqual(transfer[0], fresh[0], 'step 0: the same student, evaluated before any training');
  assert.equal(fresh[1]!.step, 2);
  assert.notEqual(transfer[1]!.val_loss, fresh[1]!.val_loss, 'the transferred state moves the first steps differently');
  assert.notEqual(transfer[1]!.running_loss, fresh[1]!.running_loss);

  const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as {
    runs: { run: string; growthRecovery: { referenceRun: string | null; lossSlope: number | null } | null }[];
  };
  for (const run of summary.runs) {
    if (run.run === 'teacher') assert.equal(run.growthRecovery, null);
    else {
      assert.equal(run.growthRecovery!.referenceRun, 'teacher-continued', run.run);
      assert.equal(typeof run.growthRecovery!.lossSlope, 'number', run.run);
    }
  }

  // The same teacher serves an unswept experiment: the student-side settings are not part of its cache key.
  const plainLogs: string[] = [];
  await runExperiment(
    smokeOptions(root, 'plain', { only: ['teacher-continued'], figures: false, log: (l) => plainLogs.push(l) }),
  );
  assert.equal(
    readRunConfig(join(root, 'plain', 'teacher'))!.teacherCacheKey,
    config('teacher').teacherCacheKey,
    'the same cache key',
  );
  assert.ok(plainLogs.some((l) => /reusing the cached teacher/.test(l)));
});

test('a swept experiment killed in its transferred run resumes to the curves of an uninterrupted one', async () => {
  await selectBackend('wasm', () => {});
  const swept = {
    optimizerState: ['fresh', 'transfer'] as const,
    only: ['net2wider', 'teacher-continued'],
    figures: false,
  };
  const options = smokeOptions(root, 'sweep-killed', swept);
  await assert.rejects(
    runExperiment({
      ...options,
      afterStep: (run, step) => {
        if (run === 'net2wider@state=transfer' && step === 3) throw new Error('simulated kill');
      },
    }),
    /simulated kill/,
  );
  await runExperiment({ ...options, resume: true });
  for (const run of ['net2wider@state=fresh', 'net2wider@state=transfer', 'teacher-continued'])
    assert.deepEqual(curveOf('sweep-killed', run), curveOf('sweep', run), run);
  assert.equal(readRunConfig(join(root, 'sweep-killed', 'net2wider@state=transfer'))!.optimizerState, 'transfer');
});
