import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { figuresSummaryMarkdown } from '../src/figures/summary-table.ts';
import { readExperimentManifest, writeExperimentManifest } from '../src/run-folder/experiment-manifest.ts';
import { readFiguresSummary } from '../src/analysis/experiment-summary.ts';
import type { RunConfig } from '../src/run-folder/run-config.ts';
import { readRunConfig, resumeKey, writeRunConfig } from '../src/run-folder/run-config.ts';
import { CurveLog, parseCurveCsv, readCurveFile } from '../src/train/curve-log.ts';
import type { CurveRow } from '../src/train/curve-log.ts';
import { UsageError } from '../src/usage-error.ts';

const root = mkdtempSync(join(tmpdir(), 'net2net-run-folder-'));
process.on('exit', () => rmSync(root, { recursive: true, force: true }));

const row = (step: number, trained: boolean): CurveRow => ({
  step,
  images: step * 8,
  epoch: step / 100,
  train_loss: trained ? 1.25 - step / 100 : null,
  train_acc: trained ? 0.5 + step / 1000 : null,
  val_loss: 1.5 - step / 200,
  val_acc: 0.25 + step / 500,
  lr: 0.01 * 0.99 ** step,
  wall_s: step * 0.5,
  running_loss: trained ? 1.3 - step / 100 : null,
  running_acc: trained ? 0.45 + step / 1000 : null,
  train_macs: step * 8 * 3 * 123_456_789,
  train_wall_s: step * 0.4,
  eval_macs: (step / 2 + 1) * 40 * 123_456_789,
  eval_wall_s: step * 0.1 + 0.1,
});

test('curve.csv: what CurveLog writes, readCurveFile reads back; resuming keeps the rows the checkpoint recorded', async () => {
  const path = join(root, 'curve.csv');
  const log = new CurveLog(path, null);
  const rows = [row(0, false), row(2, true), row(4, true)];
  for (const r of rows) await log.append(r);
  const read = readCurveFile(path);
  assert.deepEqual(read.problems, []);
  assert.deepEqual(
    read.rows.map((r) => [r.step, r.train_loss, r.val_acc, r.lr]),
    rows.map((r) => [r.step, r.train_loss, r.val_acc, Number(r.lr!.toPrecision(6))]),
  );
  assert.deepEqual(
    read.rows.map((r) => [r.train_macs, r.train_wall_s, r.eval_macs, r.eval_wall_s]),
    rows.map((r) => [r.train_macs, Number(r.train_wall_s!.toFixed(2)), r.eval_macs, Number(r.eval_wall_s!.toFixed(2))]),
    'the compute columns read back (multiply-adds as whole numbers)',
  );
  const resumed = new CurveLog(path, 2);
  assert.equal(resumed.rowCount, 2);
  assert.deepEqual(
    readCurveFile(path).rows.map((r) => r.step),
    [0, 2],
  );
  assert.throws(() => new CurveLog(path, 3), /recorded 3 rows but the file has 2/);
});

test('curve.csv written before the compute columns loads: those columns read as null, nothing reported', () => {
  const old =
    'step,images,epoch,train_loss,train_acc,val_loss,val_acc,lr,wall_s,running_loss,running_acc\n' +
    '0,0,0.000000,,,2.302585,0.100000,0.0450000,1.00,,\n' +
    '2,64,0.100000,2.000000,0.300000,2.100000,0.250000,0.0450000,3.50,2.050000,0.280000\n';
  const read = parseCurveCsv(old, 'old/curve.csv');
  assert.deepEqual(read.problems, []);
  assert.deepEqual(
    read.rows.map((r) => [r.step, r.val_acc, r.train_macs, r.train_wall_s, r.eval_macs, r.eval_wall_s]),
    [
      [0, 0.1, null, null, null, null],
      [2, 0.25, null, null, null, null],
    ],
  );
});

test('config.json: --resume refuses a run started with another configuration, with a UsageError', () => {
  const runDir = join(root, 'run');
  mkdirSync(join(runDir, 'checkpoint'), { recursive: true });
  const config = {
    run: 'net2wider',
    role: 'net2net',
    model: { family: 'inception-bn-small', options: { width: 1 } },
    data: { spec: 'fashion-mnist', options: {} },
    train: { steps: 4, checkpointEvery: 2 },
    teacherCacheKey: 'abc',
  } as unknown as RunConfig;
  writeRunConfig(runDir, config, false);
  writeRunConfig(runDir, { ...config, train: { ...config.train, checkpointEvery: 1 } }, true);
  assert.equal(readRunConfig(runDir)!.train.checkpointEvery, 1, 'the checkpoint interval may change');
  assert.throws(
    () => writeRunConfig(runDir, { ...config, teacherCacheKey: 'other' }, true),
    (err: Error) => err instanceof UsageError && /different configuration/.test(err.message),
  );
  // Fresh optimizer state is how runs recorded before the setting started: they resume; transferred state does not.
  writeRunConfig(runDir, { ...config, optimizerState: 'fresh' }, true);
  assert.equal(resumeKey({ ...config, optimizerState: 'fresh' }), resumeKey(config));
  assert.throws(
    () => writeRunConfig(runDir, { ...config, optimizerState: 'transfer' }, true),
    (err: Error) => err instanceof UsageError && /different configuration/.test(err.message),
  );
  // The noise decides the student: a run recorded with one refuses another; one recorded before noise was (the
  // config above) cannot be checked on it and resumes.
  writeRunConfig(runDir, { ...config, noise: 'zero-sum' }, true);
  writeRunConfig(runDir, { ...config, noise: 'zero-sum' }, true);
  assert.throws(
    () => writeRunConfig(runDir, { ...config, noise: 0.01 }, true),
    (err: Error) => err instanceof UsageError && /different configuration/.test(err.message),
  );
});

test('experiment.json: what the runner writes, the figures read', () => {
  const dir = join(root, 'experiment');
  const runs = [
    { run: 'teacher', role: 'teacher' as const, label: 'Teacher' },
    { run: 'net2wider', role: 'net2net' as const, label: 'Net2WiderNet' },
  ];
  writeExperimentManifest(dir, { experiment: 'wider', preset: 'smoke', teacherRun: 'teacher', runs, data: 'x' });
  const read = readExperimentManifest(dir);
  assert.deepEqual(read.runs, runs);
  assert.equal(read.teacherRun, 'teacher');
  assert.equal(read.data, 'x');
  writeFileSync(join(dir, 'experiment.json'), '{"experiment": "wider", "runs": [{"run": "a", "role": "student"}]}');
  assert.throws(
    () => readExperimentManifest(dir),
    (err: Error) => err instanceof UsageError && /role/.test(err.message),
  );
});

for (const experiment of ['wider', 'deeper'])
  test(`the committed results/figures/${experiment}-default/ summary reads back into the same table`, () => {
    const dir = join('results', 'figures', `${experiment}-default`);
    const summary = readFiguresSummary(dir);
    assert.ok(summary !== null);
    assert.equal(summary.experiment, experiment);
    assert.equal(figuresSummaryMarkdown(summary), readFileSync(join(dir, 'summary.md'), 'utf8'));
  });
