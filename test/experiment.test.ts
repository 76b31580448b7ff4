import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { selectBackend } from '../src/backend/backend.ts';
import { makeImageFolder } from '../src/data/synthetic-folder.ts';
import { readCurveFile } from '../src/train/curve-log.ts';
import type { CurveRow } from '../src/train/curve-log.ts';
import { runExperiment } from '../src/experiment/run-experiment.ts';
import type { ExperimentOptions } from '../src/experiment/options.ts';
import type { ExperimentName } from '../experiments/names.ts';
import { EXPERIMENTS } from '../experiments/registry.ts';
import { readWrittenManifest } from '../src/run-folder/experiment-manifest.ts';
import { readFiguresSummary, readSessionSummary } from '../src/analysis/experiment-summary.ts';
import { readRunConfig } from '../src/run-folder/run-config.ts';
import { readTransformFile } from '../src/run-folder/transform-file.ts';
import { readRunSummary } from '../src/train/run-summary.ts';
import { PRESETS } from '../experiments/presets.ts';
import { withoutWall } from './curve-fixtures.ts';

await selectBackend('wasm', () => {});

const root = mkdtempSync(join(tmpdir(), 'net2net-experiment-'));
process.on('exit', () => rmSync(root, { recursive: true, force: true }));
const cacheDir = join(root, 'cache');

const smoke = (experiment: ExperimentName, out: string, extra: Partial<ExperimentOptions> = {}): ExperimentOptions => ({
  experiment: EXPERIMENTS[experiment],
  preset: PRESETS.smoke,
  backend: 'wasm',
  resume: false,
  seed: 1,
  out: join(root, out),
  cacheDir,
  progress: false,
  log: () => {},
  ...extra,
});

const json = (path: string) => JSON.parse(readFileSync(path, 'utf8'));
const readCurve = (path: string): CurveRow[] => {
  const { rows, problems } = readCurveFile(path);
  assert.deepEqual(problems, [], path);
  return rows;
};

const EXPECTED_RUNS: Record<ExperimentName, string[]> = {
  wider: ['teacher', 'net2wider', 'random-pad', 'random-init', 'teacher-continued'],
  deeper: ['teacher', 'net2deeper', 'random-init', 'teacher-continued'],
  explore: ['teacher', 'net2wider', 'net2deeper', 'teacher-continued', 'random-init-wider', 'random-init-deeper'],
  // Not run by the loop below (test/growth-study.test.ts runs it): the full grid of what happens at growth.
  growth: [
    'teacher',
    ...['fresh', 'transfer'].flatMap((s) => ['none', 'zero-sum', '0.01'].map((n) => `net2wider@state=${s}@noise=${n}`)),
    'random-pad@state=fresh',
    'random-pad@state=transfer',
    'random-init',
    'teacher-continued',
  ],
};

for (const experiment of ['wider', 'deeper', 'explore'] as const) {
  test(`the smoke preset of '${experiment}' runs end to end: every curve, transform, summary and figure`, async () => {
    const logs: string[] = [];
    // --cudnn-benchmark is recorded in every run's config.json and logged (on wasm it has no effect).
    const cudnnBenchmark = experiment === 'deeper';
    const result = await runExperiment(
      smoke(experiment, experiment, { cudnnBenchmark, log: (line) => logs.push(line) }),
    );
    const cudnnLine = `[experiment] cuDNN benchmark ${cudnnBenchmark ? 'on' : 'off'} (recorded; no effect on the wasm backend)`;
    assert.ok(logs.includes(cudnnLine), cudnnLine);
    const out = result.out;
    const deeperLine = logs.find((line) => line.startsWith('[experiment] net2deeper:'));
    if (experiment !== 'wider')
      assert.match(deeperLine ?? '', /inserted BatchNorm statistics from \d+ training images in batches of \d+/);
    const widerLine = logs.find((line) => line.startsWith('[experiment] net2wider:'));
    if (experiment !== 'deeper') assert.doesNotMatch(widerLine ?? '', /BatchNorm statistics from/);
    const manifest = readWrittenManifest(out)!;
    assert.equal(manifest.experiment, experiment);
    assert.equal(manifest.teacherRun, 'teacher');
    assert.deepEqual(
      manifest.runs.map((r: { run: string }) => r.run),
      EXPECTED_RUNS[experiment],
    );
    const teacherRows = readCurve(join(out, 'teacher', 'curve.csv'));
    assert.deepEqual(
      teacherRows.map((r) => r.step),
      [0, 2, 4],
    );
    const teacherFinal = teacherRows[teacherRows.length - 1];
    const teacherLr = readRunConfig(join(out, 'teacher'))!.train.optimizer.learningRate;
    for (const { run, role } of manifest.runs as { run: string; role: string }[]) {
      const dir = join(out, run);
      const rows = readCurve(join(dir, 'curve.csv'));
      assert.deepEqual(
        rows.map((r) => r.step),
        [0, 2, 4],
        run,
      );
      assert.ok(existsSync(join(dir, 'checkpoint', 'model.json')), `${run} checkpoint`);
      const summary = readRunSummary(dir)!;
      assert.equal(summary.steps, 4);
      assert.equal(summary.final_val_acc, rows[2].val_acc);
      const config = readRunConfig(dir)!;
      assert.equal(config.experiment, experiment);
      assert.equal(config.backend, 'wasm');
      assert.equal(config.threads, null, 'recorded: wasm has no intra-op thread setting');
      assert.equal(config.cudnnBenchmark, cudnnBenchmark, `${run}: cudnnBenchmark recorded`);
      if (role === 'teacher') continue;
      const transform = readTransformFile(dir)!;
      assert.equal(rows[0].running_loss, null, `${run}: step 0 is the evaluation right after the transform`);
      const { inference, training, enforced, perClass } = transform.preservation;
      assert.equal(perClass, 4, 'a stratified sample: 16 check images over 4 classes');
      assert.ok(training.maxRel >= 0, 'the training-mode check is recorded');
      if (role === 'net2net') {
        assert.ok(inference.maxRel < 1e-4, `${run} preserves the function: ${inference.maxRel}`);
        assert.equal(enforced, true);
        assert.ok(transform.records.length > 0, `${run} records its transform`);
        const smokePreset = PRESETS.smoke;
        for (const record of transform.records)
          if (record.operator === 'deeper')
            for (const insert of record.inserts)
              assert.equal(
                insert.statistics?.samples,
                smokePreset.statisticsImages,
                `${run}: inserted BatchNorm statistics from the preset's statisticsImages`,
              );
        // Evaluated the way the teacher's last evaluation was (BatchNorm re-estimated on the same training sample):
        // exact for Net2WiderNet; Net2DeeperNet's inserted BatchNorm layers are identities only up to the sampling
        // difference between the transform batch and the sample's batches.
        const gap = Math.abs(rows[0].val_acc! - teacherFinal.val_acc!);
        assert.ok(
          run.startsWith('net2wider') ? gap === 0 : gap <= 0.05,
          `${run} starts at the teacher's accuracy (${gap})`,
        );
        assert.ok(Math.abs(config.train.optimizer.learningRate - 0.1 * teacherLr) < 1e-12, 'students use lr / 10');
      }
      if (run === 'random-pad' || run.startsWith('random-init')) {
        assert.ok(inference.maxRel > 1e-2, `${run} is not function-preserving`);
        assert.equal(enforced, false);
      }
    }
    for (const panel of ['validation', 'training'])
      for (const ext of ['svg', 'png'])
        assert.ok(existsSync(join(out, 'figures', `${experiment}-${panel}.${ext}`)), `${panel}.${ext}`);
    const overall = readSessionSummary(out)!;
    assert.equal(overall.threads, null);
    assert.equal(overall.runs.length, EXPECTED_RUNS[experiment].length);
    assert.deepEqual(overall.runs, readFiguresSummary(join(out, 'figures'))!.runs, 'one set of statistics');
    assert.deepEqual(overall.runs, result.statistics);
  });
}

test('a later experiment reuses the cached teacher; a killed experiment resumes to the same curves', async () => {
  const logs: string[] = [];
  const options = smoke('wider', 'wider-killed', { log: (l) => logs.push(l) });
  await assert.rejects(
    runExperiment({
      ...options,
      afterStep: (run, step) => {
        if (run === 'random-pad' && step === 3) throw new Error('simulated kill');
      },
    }),
    /simulated kill/,
  );
  assert.ok(
    logs.some((l) => /reusing the cached teacher/.test(l)),
    'the teacher of the first wider run is reused',
  );
  await assert.rejects(runExperiment(options), /--resume/, 'an existing experiment folder is not overwritten silently');
  await runExperiment({ ...options, resume: true });
  for (const run of EXPECTED_RUNS.wider) {
    const reference = readCurve(join(root, 'wider', run, 'curve.csv'));
    const resumed = readCurve(join(root, 'wider-killed', run, 'curve.csv'));
    assert.deepEqual(withoutWall(resumed), withoutWall(reference), run);
  }
});

test("the paper preset's code path: full Inception-BN at 224 on an ImageNet-layout JPEG folder", async () => {
  const folder = join(root, 'imagenet');
  await makeImageFolder(folder, { classes: 2, perClass: 2, valPerClass: 1, width: 40, height: 32 });
  const logs: string[] = [];
  const result = await runExperiment({
    ...smoke('wider', 'wider-paper', { log: (line) => logs.push(line) }),
    // The paper's own evaluation sample (1,024 training images at 224) would dominate a CPU test: 2 images.
    preset: { ...PRESETS.paper, evaluation: { batchNorm: 'precise', trainSampleExamples: 2 } },
    overrides: { data: `imagenet:${folder}`, teacherSteps: 2, studentSteps: 1, batchSize: 1 },
    only: ['net2wider@lr0.002'],
    allowCpu: true,
    decodeThreads: 2,
  });
  const teacher = json(join(result.out, 'teacher', 'config.json'));
  assert.equal(teacher.model.family, 'inception-bn');
  assert.deepEqual(teacher.model.options.inputShape, [224, 224, 3]);
  assert.equal(teacher.train.optimizer.learningRate, 0.045);
  assert.equal(teacher.train.schedule.rate, 0.1, 'annealed to 1/10 over its own steps');
  assert.deepEqual(
    readCurve(join(result.out, 'teacher', 'curve.csv')).map((r) => r.step),
    [0, 2],
  );
  const transform = readTransformFile(join(result.out, 'net2wider@lr0.002'))!;
  const { maxRel } = transform.preservation.inference;
  assert.ok(maxRel < 1e-4, `full-size Net2WiderNet preserves: ${maxRel}`);
  assert.ok(transform.params.student > 3 * transform.params.teacher * 0.9, 'the student has the standard width');
  // The check asks for the transform batch spread over the classes; the folder has 1 validation image per class.
  assert.equal(transform.preservation.images, 2);
  assert.equal(transform.preservation.perClass, 1);
  assert.ok(
    logs.some((line) => /teacher vs initial student on 2 validation images \(1 per class\)/.test(line)),
    'the log says what the check used',
  );
  assert.deepEqual(
    readCurve(join(result.out, 'net2wider@lr0.002', 'curve.csv')).map((r) => r.step),
    [0, 1],
  );
});

function runCli(args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/experiment.ts', ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let [stdout, stderr] = ['', ''];
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

test('two experiment processes with the same teacher at once: it is trained once, the other reuses it', async () => {
  const sharedCache = join(root, 'shared-cache');
  const args = (out: string) => [
    'wider',
    '--preset',
    'smoke',
    '--out',
    join(root, out),
    '--cache-dir',
    sharedCache,
    '--runs',
    'net2wider',
    '--no-figures',
    '--seed',
    '7',
  ];
  const [a, b] = await Promise.all([runCli(args('together-a')), runCli([...args('together-b'), '--json'])]);
  assert.equal(a.status, 0, a.stderr);
  assert.equal(b.status, 0, b.stderr);
  assert.match(a.stdout, /^Done in \d+s; runs in .*together-a \(no figures drawn\)\n$/, 'a report for a person');
  assert.equal(JSON.parse(b.stdout).out, join(root, 'together-b'), '--json: the result as JSON');
  const logs = [a.stderr, b.stderr];
  // Whether the second process finds the lock held or the teacher already finished depends on the machine's load
  // (a smoke teacher trains in a second); waiting on a held lock is tested in wait-lock.test.ts.
  const reused = logs.filter((l) => /reusing the cached teacher/.test(l));
  assert.equal(reused.length, 1, 'one process reused the teacher the other trained');
  const waited = logs.filter((l) => /\[lock\] teacher \w+: waiting for pid \d+/.test(l));
  assert.ok(waited.length <= 1 && waited.every((l) => reused.includes(l)), 'only the reusing process may wait');
  const teacherA = readCurve(join(root, 'together-a', 'teacher', 'curve.csv'));
  const teacherB = readCurve(join(root, 'together-b', 'teacher', 'curve.csv'));
  assert.deepEqual(teacherB, teacherA, 'both copies are the one trained teacher');
  assert.deepEqual(
    teacherA.map((r) => r.step),
    [...new Set(teacherA.map((r) => r.step))],
    'trained once: no step twice',
  );
  assert.deepEqual(
    readdirSync(join(sharedCache, 'teachers')).filter((f) => f.endsWith('.lock')),
    [],
    'lock released',
  );
});

test('bad arguments exit with status 2 and name the bad value and the accepted ones', async () => {
  const cases: [string[], RegExp[]][] = [
    [['bogus'], [/bogus/, /wider/, /explore/]],
    [
      ['wider', '--preset', 'huge'],
      [/huge/, /smoke/, /paper/],
    ],
    [
      ['wider', '--steps', '0'],
      [/--steps '0'/, /positive integer/],
    ],
    [['deeper', '--frobnicate', '3'], [/frobnicate/]],
    [
      ['wider', '--decode-threads', '-1'],
      [/--decode-threads '-1'/, /integer >= 0/],
    ],
    [
      ['wider', '--backend', 'tpu'],
      [/tpu/, /wasm/, /tensorflow-gpu/],
    ],
    [['explore', '--preset', 'paper'], [/--data/]],
    [
      ['wider', '--data', 'nonsense'],
      [/nonsense/, /fashion-mnist/],
    ],
  ];
  const results = await Promise.all(cases.map(([args]) => runCli(args)));
  results.forEach(({ status, stderr }, i) => {
    const [args, patterns] = cases[i];
    assert.equal(status, 2, `${args.join(' ')}: exit ${status}, stderr: ${stderr}`);
    for (const p of patterns) assert.match(stderr, p, args.join(' '));
  });
});
