import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { EXPERIMENTS } from '../experiments/registry.ts';
import { PRESETS } from '../experiments/presets.ts';
import { choiceArgument, integerArgument, listArgument, positiveNumberArgument } from '../src/cli/arguments.ts';
import { resolvePreset } from '../src/experiment/options.ts';
import { planExperiment } from '../src/experiment/run-plan.ts';
import { buildModel } from '../src/models/registry.ts';
import type { ModelOptions } from '../src/models/registry.ts';
import { learningRateAt } from '../src/train/schedule.ts';
import type { PlanInput } from '../src/experiment/run-plan.ts';
import { listCachedTeachers, pruneCachedTeachers } from '../src/experiment/teacher-cache.ts';
import { topPairInserts } from '../src/models/student-inserts.ts';
import { UsageError } from '../src/usage-error.ts';
import { withEarlierRuns } from '../src/experiment/out-folder.ts';
import { writeExperimentManifest } from '../src/run-folder/experiment-manifest.ts';

await tf.setBackend('cpu');

const root = mkdtempSync(join(tmpdir(), 'net2net-plan-'));
process.on('exit', () => rmSync(root, { recursive: true, force: true }));

const input = (experiment: keyof typeof EXPERIMENTS, preset = PRESETS.smoke, seed = 5): PlanInput => ({
  definition: EXPERIMENTS[experiment],
  preset: resolvePreset(preset),
  seed,
  inputShape: [12, 12, 1],
  classes: 4,
  numTrain: 64,
});

test('the run plan: one teacher, the methods as runs, named seeds and learning rates from the method data', () => {
  const plan = planExperiment(input('explore'));
  assert.deepEqual(
    [plan.teacher, ...plan.students].map((r) => [r.run, r.role]),
    [
      ['teacher', 'teacher'],
      ['net2wider', 'net2net'],
      ['net2deeper', 'net2net'],
      ['teacher-continued', 'baseline'],
      ['random-init-wider', 'baseline'],
      ['random-init-deeper', 'baseline'],
    ],
  );
  assert.deepEqual(plan.teacher.seeds, { model: 5, data: 5, transform: null });
  assert.equal(plan.teacher.model.options.seed, 5);
  assert.equal(plan.teacher.train.dataSeed, 5);
  assert.equal(plan.transformBatchSeed, 7);
  for (const student of plan.students) {
    assert.deepEqual(student.seeds, { model: 8, data: 6, transform: 8 }, student.run);
    assert.equal(student.model.options.seed, 8);
    assert.equal(student.train.dataSeed, 6);
    const lr = PRESETS.smoke.learningRate * student.learningRateMultiplier;
    assert.equal(student.train.optimizer.learningRate, lr, student.run);
    assert.deepEqual(student.train.evaluation, { ...PRESETS.smoke.evaluation, sampleSeed: 9 });
  }
  const byRun = Object.fromEntries(plan.students.map((s) => [s.run, s]));
  assert.equal(byRun['random-init-wider']!.learningRateMultiplier, 1, 'from scratch at the teacher recipe');
  assert.equal(byRun['net2wider']!.learningRateMultiplier, 0.1);
  // "Continue the teacher" is a property of the method: that run keeps the teacher's architecture.
  const { seed: _t, ...teacherArch } = plan.teacher.model.options;
  const { seed: _c, ...continuedArch } = byRun['teacher-continued']!.model.options;
  assert.deepEqual(continuedArch, teacherArch);
});

test('explore grows two networks, as the paper did: wider x sqrt(2) at no extra depth, deeper +4 pairs at the same width', () => {
  for (const preset of [PRESETS.smoke, PRESETS.cpu]) {
    const plan = planExperiment({ ...input('explore', preset), preset: resolvePreset(preset, { data: 'synthetic' }) });
    const byRun = Object.fromEntries(plan.students.map((s) => [s.run, s]));
    const params = (options: ModelOptions) => {
      const model = buildModel(plan.preset.model, options);
      const count = model.countParams();
      model.dispose();
      return count;
    };
    const common = {
      widthScope: preset.widthScope,
      factorized: true,
      inputShape: [12, 12, 1] as [number, number, number],
      classes: 4,
    };
    const teacher = params(plan.teacher.model.options);
    const widened = params(byRun['net2wider']!.model.options);
    const deepened = params(byRun['net2deeper']!.model.options);
    // The builders' own networks: the standard one at sqrt(2) of its width; the standard one with 4 top pairs.
    assert.equal(widened, params({ ...common, width: preset.baseWidth * Math.SQRT2 }), preset.name);
    assert.equal(deepened, params({ ...common, width: preset.baseWidth, topPairs: 4 }), preset.name);
    assert.equal(teacher, params({ ...common, width: preset.baseWidth }), preset.name);
    assert.ok(widened / teacher > 1.6 && widened / teacher < 2.4, `${preset.name}: wider ${widened} vs ${teacher}`);
    assert.ok(deepened > teacher, `${preset.name}: deeper ${deepened}`);
    if (preset === PRESETS.smoke) {
      assert.deepEqual(byRun['random-init-wider']!.model.options, byRun['net2wider']!.model.options);
      assert.deepEqual(byRun['random-init-deeper']!.model.options, byRun['net2deeper']!.model.options);
    }
  }
});

test("one standard network, as in the paper: wider's (and growth's) student, deeper's teacher and explore's original model", () => {
  for (const preset of [PRESETS.smoke, PRESETS.default, PRESETS.cpu, PRESETS.paper]) {
    const resolved = resolvePreset(preset, { data: 'synthetic' });
    const options = (
      name: keyof typeof EXPERIMENTS,
      pick: (plan: ReturnType<typeof planExperiment>) => ModelOptions,
    ) => {
      const { seed: _seed, ...rest } = pick(planExperiment({ ...input(name), preset: resolved }));
      return rest;
    };
    const widerStudent = options('wider', (p) => p.students.find((s) => s.run.startsWith('net2wider'))!.model.options);
    const deeperTeacher = options('deeper', (p) => p.teacher.model.options);
    const exploreTeacher = options('explore', (p) => p.teacher.model.options);
    assert.equal(widerStudent.factorized, true, preset.name);
    assert.deepEqual(deeperTeacher, widerStudent, preset.name);
    assert.deepEqual(exploreTeacher, widerStudent, preset.name);
    const widerTeacher = options('wider', (p) => p.teacher.model.options);
    assert.deepEqual({ ...widerTeacher, width: widerStudent.width }, widerStudent, `${preset.name}: narrow standard`);
    // The growth study grows wider's teacher into the same standard network, every run of its grid.
    const growth = planExperiment({ ...input('growth'), preset: resolved });
    assert.deepEqual(
      options('growth', (p) => p.teacher.model.options),
      widerTeacher,
      `${preset.name}: growth teacher`,
    );
    const grown = growth.students.filter((s) => !s.method!.continuesTeacher);
    const rates = preset.studentLearningRates?.length ?? 1;
    assert.equal(grown.length, rates * 8 + 1, `${preset.name}: 6 Net2WiderNet, 2 random pad per rate, random init`);
    for (const student of grown) {
      const { seed: _seed, ...rest } = student.model.options;
      assert.deepEqual(rest, widerStudent, `${preset.name}: ${student.run}`);
    }
  }
});

test('student learning-rate sweep: Net2Net and random pad at every rate, random init and the control once', () => {
  const preset = resolvePreset(PRESETS.smoke, { studentLearningRates: [0.002, 0.005, 0.01] });
  const plan = planExperiment({ ...input('wider'), preset });
  assert.deepEqual(
    plan.students.map((s) => [s.run, s.train.optimizer.learningRate]),
    [
      ['net2wider@lr0.002', 0.002],
      ['net2wider@lr0.005', 0.005],
      ['net2wider@lr0.01', 0.01],
      ['random-pad@lr0.002', 0.002],
      ['random-pad@lr0.005', 0.005],
      ['random-pad@lr0.01', 0.01],
      ['random-init', PRESETS.smoke.learningRate],
      ['teacher-continued', PRESETS.smoke.learningRate * 0.1],
    ],
  );
  assert.equal(new Set(plan.students.map((s) => s.label)).size, plan.students.length, 'labels name the rate');
  const only = planExperiment({ ...input('wider'), preset, only: ['net2wider', 'random-pad@lr0.005'] });
  assert.deepEqual(
    only.students.map((s) => s.run),
    ['net2wider@lr0.002', 'net2wider@lr0.005', 'net2wider@lr0.01', 'random-pad@lr0.005'],
  );
  assert.deepEqual(PRESETS.paper.studentLearningRates, [0.002, 0.005, 0.01]);
});

test("paper's teacher is annealed to 1/10 over its own steps; the students continue at the same decay", () => {
  const preset = resolvePreset(PRESETS.paper, { data: 'imagenet:/x' });
  const plan = planExperiment({ ...input('wider'), preset, numTrain: 1_281_167, classes: 1000 });
  const teacherEpochs = (preset.teacherSteps * preset.batchSize) / 1_281_167;
  const schedule = plan.teacher.train.schedule;
  assert.ok(Math.abs(learningRateAt(0.045, schedule, teacherEpochs) / 0.045 - 0.1) < 1e-12);
  const net2wider = plan.students.find((s) => s.run === 'net2wider@lr0.005')!;
  assert.deepEqual(net2wider.train.schedule, schedule);
});

test('preset overrides: given values replace the preset, absent ones keep it; paper needs --data', () => {
  const resolved = resolvePreset(PRESETS.default, { studentSteps: 7, batchSize: undefined, learningRate: 0.5 });
  assert.equal(resolved.studentSteps, 7);
  assert.equal(resolved.teacherSteps, PRESETS.default.teacherSteps);
  assert.equal(resolved.batchSize, PRESETS.default.batchSize);
  assert.equal(resolved.learningRate, 0.5);
  assert.throws(
    () => resolvePreset(PRESETS.paper),
    (err: Error) => err instanceof UsageError && /--data/.test(err.message),
  );
});

test('the CLIs share their number and name checks, each failure a UsageError quoting the value', () => {
  assert.equal(integerArgument('steps', '12'), 12);
  assert.equal(integerArgument('steps', undefined), undefined);
  assert.equal(integerArgument('seed', '0', 0), 0);
  for (const bad of ['0', '1.5', 'x', '', ' '])
    assert.throws(() => integerArgument('steps', bad), new RegExp(`--steps '${bad}' is invalid: expected a positive`));
  assert.throws(() => integerArgument('seed', '-1', 0), /integer >= 0/);
  assert.throws(() => integerArgument('steps', ['1', '2']), /more than once/);
  assert.equal(positiveNumberArgument('lr', '0.01'), 0.01);
  assert.throws(() => positiveNumberArgument('lr', '-1'), UsageError);
  assert.equal(choiceArgument('backend', 'wasm', ['wasm', 'cpu'] as const), 'wasm');
  assert.throws(() => choiceArgument('backend', 'tpu', ['wasm', 'cpu'] as const), /'tpu'.*wasm, cpu/);
  assert.deepEqual(listArgument('runs', 'a, b,,c'), ['a', 'b', 'c']);
  assert.throws(() => listArgument('runs', ','), UsageError);
});

test('src/ below the CLI never imports the experiments/ folder', () => {
  const offenders: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (path.endsWith('.ts') && /from '(\.\.\/)+experiments\//.test(readFileSync(path, 'utf8')))
        offenders.push(path);
    }
  };
  for (const dir of readdirSync('src'))
    if (dir !== 'cli' && statSync(join('src', dir)).isDirectory()) walk(join('src', dir));
  assert.deepEqual(offenders, []);
  assert.match(
    readFileSync('src/cli/experiment.ts', 'utf8'),
    /experiments\/registry\.ts/,
    'the CLI is where they meet',
  );
});

test('top pairs go on Inception modules only (M/concat + M/output), not on any layer named */output', () => {
  const input = tf.input({ shape: [8, 8, 2] });
  const stem = tf.layers.reLU({ name: 'stem/output' }).apply(input) as tf.SymbolicTensor;
  const a = tf.layers.conv2d({ filters: 2, kernelSize: 1, name: 'm/a' }).apply(stem) as tf.SymbolicTensor;
  const b = tf.layers.conv2d({ filters: 2, kernelSize: 1, name: 'm/b' }).apply(stem) as tf.SymbolicTensor;
  const concat = tf.layers.concatenate({ name: 'm/concat' }).apply([a, b]) as tf.SymbolicTensor;
  const output = tf.layers.reLU({ name: 'm/output' }).apply(concat) as tf.SymbolicTensor;
  const model = tf.model({ inputs: input, outputs: output });
  assert.deepEqual(
    topPairInserts(model, 2).map((spec) => [spec.after, spec.name]),
    [
      ['m/output', 'm/top1'],
      ['m/output', 'm/top2'],
    ],
  );
  model.dispose();
});

function fakeCachedTeacher(cacheDir: string, key: string, steps: number, done: number | null): string {
  const dir = join(cacheDir, 'teachers', key);
  mkdirSync(join(dir, 'checkpoint'), { recursive: true });
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ experiment: 'wider', preset: 'smoke', train: { steps } }));
  if (done !== null) writeFileSync(join(dir, 'summary.json'), JSON.stringify({ steps: done }));
  return dir;
}

test('the teacher cache is listed and pruned (all, or only unfinished); a teacher in training is kept', () => {
  const cacheDir = join(root, 'cache');
  fakeCachedTeacher(cacheDir, 'aaaa', 4, 4);
  fakeCachedTeacher(cacheDir, 'bbbb', 4, null);
  const busy = fakeCachedTeacher(cacheDir, 'cccc', 4, null);
  writeFileSync(`${busy}.lock`, JSON.stringify({ pid: process.pid, host: hostname(), since: 'now' }));
  const listed = listCachedTeachers(cacheDir);
  assert.deepEqual(
    listed.map((t) => [t.key, t.finished, t.inUseBy !== null]),
    [
      ['aaaa', true, false],
      ['bbbb', false, false],
      ['cccc', false, true],
    ],
  );
  assert.deepEqual(
    pruneCachedTeachers(cacheDir, { unfinishedOnly: true }).map((t) => t.key),
    ['bbbb'],
  );
  const cacheCommand = (action: 'list' | 'prune') =>
    spawnSync(
      process.execPath,
      ['--import', 'tsx', 'src/cli/experiment.ts', 'cache', action, '--cache-dir', cacheDir],
      {
        encoding: 'utf8',
      },
    );
  const cli = cacheCommand('prune');
  assert.equal(cli.status, 0, cli.stderr);
  assert.deepEqual(JSON.parse(cli.stdout).removed, ['aaaa']);
  assert.deepEqual(
    listCachedTeachers(cacheDir).map((t) => t.key),
    ['cccc'],
  );
  const list = cacheCommand('list');
  assert.equal(list.status, 0, list.stderr);
  assert.match(list.stderr, /cccc .*unfinished.*in use by pid/);
});

function runCommand(script: string, args: string[]): Promise<{ status: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', `src/cli/${script}.ts`, ...args], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (status) => resolve({ status, stderr }));
  });
}

test('one usage error class: every command exits with status 2 and names the bad value', async () => {
  const cases: [string, string[], RegExp][] = [
    ['batch', ['experiments/jobs.example.json', '--gpus', '0,0', '--dry-run'], /--gpus 0,0 names a GPU twice/],
    ['figures', [join(root, 'no-such-experiment')], /no-such-experiment does not exist/],
    ['experiment', ['wider', '--cache-dir', root, '--runs', 'net2wider,bogus'], /--runs 'bogus'.*net2wider/],
    ['data', ['make-folder', join(root, 'f'), '--classes', '0'], /--classes '0' is invalid/],
    ['models', ['summary', 'inception-bn', '--seed', '-2'], /--seed '-2' is invalid: expected an integer >= 0/],
    ['experiment', ['wider', '--noise', 'loud'], /--noise 'loud' is invalid: accepted values are zero-sum, none/],
    ['experiment', ['wider', '--bn-momentum', '1.5'], /--bn-momentum '1.5' is invalid: expected a number in \(0, 1\)/],
    ['experiment', ['wider', '--student-lr', '0.01,-1'], /--student-lr '-1' is invalid/],
    ['experiment', ['wider', '--val-labels', join(root, 'none.txt')], /--val-labels '.*none\.txt' does not exist/],
  ];
  const results = await Promise.all(cases.map(([script, args]) => runCommand(script, args)));
  results.forEach(({ status, stderr }, i) => {
    const [script, args, pattern] = cases[i]!;
    assert.equal(status, 2, `${script} ${args.join(' ')}: ${stderr}`);
    assert.match(stderr, pattern, script);
  });
});

test('BatchNorm momentum is a preset setting: absent, the builders keep 0.99; set, every BatchNorm layer has it', () => {
  const momenta = (options: ModelOptions) => {
    const model = buildModel('inception-bn-small', { ...options, inputShape: [12, 12, 1], classes: 4, width: 0.1 });
    const values = new Set(
      model.layers
        .filter((l) => l.getClassName() === 'BatchNormalization')
        .map((l) => (l.getConfig() as { momentum: number }).momentum),
    );
    model.dispose();
    return [...values];
  };
  const plain = planExperiment(input('wider'));
  assert.equal('batchNormMomentum' in plain.teacher.model.options, false, 'configs (and cache keys) unchanged');
  assert.deepEqual(momenta(plain.teacher.model.options), [0.99]);
  const preset = resolvePreset(PRESETS.smoke, { batchNormMomentum: 0.9 });
  const tuned = planExperiment({ ...input('wider'), preset });
  for (const run of [tuned.teacher, ...tuned.students]) assert.equal(run.model.options.batchNormMomentum, 0.9, run.run);
  assert.deepEqual(momenta(tuned.teacher.model.options), [0.9]);
  assert.throws(() => buildModel('inception-bn-small', { batchNormMomentum: 1 }), /batchNormMomentum = 1 is invalid/);
});

test("experiment.json keeps an earlier session's runs, a learning-rate sweep's included, in definition order", () => {
  const WIDER = EXPERIMENTS.wider;
  const dir = mkdtempSync(join(tmpdir(), 'net2net-earlier-runs-'));
  try {
    const teacher = { run: 'teacher', role: 'teacher' as const, label: 'Teacher' };
    const sweep = (method: string, role: 'net2net' | 'baseline', rate: string) => ({
      run: `${method}@lr${rate}`,
      role,
      label: `${method} (lr ${rate})`,
    });
    writeExperimentManifest(dir, {
      experiment: 'wider',
      runs: [teacher, sweep('random-pad', 'baseline', '0.002'), { run: 'random-init', role: 'baseline', label: 'RI' }],
    });
    const merged = withEarlierRuns(dir, WIDER, [teacher, sweep('net2wider', 'net2net', '0.002')]);
    assert.deepEqual(
      merged.map((r) => r.run),
      ['teacher', 'net2wider@lr0.002', 'random-pad@lr0.002', 'random-init'],
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
