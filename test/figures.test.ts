import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  writeFileSync,
  rmSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import sharp from 'sharp';
import { drawExperimentFigures } from '../src/figures/draw-experiment.ts';
import { UsageError } from '../src/usage-error.ts';
import { parseCurveCsv } from '../src/train/curve-log.ts';
import { renderPng } from '../src/figures/chart-render.ts';

const temporaryDirs: string[] = [];
function temporaryDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  temporaryDirs.push(dir);
  return dir;
}
after(() => {
  for (const dir of temporaryDirs) rmSync(dir, { recursive: true, force: true });
});

const HEADER = 'step,images,epoch,train_loss,train_acc,val_loss,val_acc,lr,wall_s';
const BATCH = 32;
const EVERY = 500;

/** Accuracy curves with known shapes: linear in the step, clipped to [0, 1], evaluated every EVERY steps. */
interface FixtureRun {
  run: string;
  role: 'teacher' | 'net2net' | 'baseline';
  label: string;
  steps: number;
  valAcc: (step: number) => number;
  trainAcc: (step: number) => number;
}

const round4 = (value: number) => Number(Math.min(1, Math.max(0, value)).toFixed(4));

const FIXTURE: FixtureRun[] = [
  {
    run: 'teacher',
    role: 'teacher',
    label: 'Teacher (small)',
    steps: 6000,
    valAcc: (s) => 0.1 + s * 0.0001,
    trainAcc: (s) => 0.12 + s * 0.0001,
  },
  {
    run: 'net2wider',
    role: 'net2net',
    label: 'Net2WiderNet',
    steps: 4000,
    valAcc: (s) => 0.7 + s * 0.00002,
    trainAcc: (s) => 0.71 + s * 0.00002,
  },
  {
    run: 'random-pad',
    role: 'baseline',
    label: 'Random pad',
    steps: 6000,
    valAcc: (s) => 0.3 + s * 0.00009,
    trainAcc: (s) => 0.32 + s * 0.00009,
  },
  {
    run: 'random-init',
    role: 'baseline',
    label: 'Random init',
    steps: 6000,
    valAcc: (s) => 0.1 + s * 0.00005,
    trainAcc: (s) => 0.1 + s * 0.00005,
  },
];

function evaluationSteps(run: FixtureRun): number[] {
  const steps: number[] = [];
  for (let step = 0; step <= run.steps; step += EVERY) steps.push(step);
  return steps;
}

function curveCsv(run: FixtureRun): string {
  const rows = evaluationSteps(run).map((step) =>
    [
      step,
      step * BATCH,
      ((step * BATCH) / 10000).toFixed(3),
      (1 - run.trainAcc(step)).toFixed(4),
      step === 0 ? '' : round4(run.trainAcc(step)),
      (1 - run.valAcc(step)).toFixed(4),
      round4(run.valAcc(step)),
      0.01,
      (step * 0.1).toFixed(1),
    ].join(','),
  );
  return [HEADER, ...rows].join('\n') + '\n';
}

function writeExperiment(runs: FixtureRun[], options: { teacherRun?: string; skipCurve?: string[] } = {}): string {
  const dir = temporaryDir('net2net-figures-');
  writeFileSync(
    join(dir, 'experiment.json'),
    JSON.stringify({
      experiment: 'wider',
      preset: 'smoke',
      teacherRun: options.teacherRun,
      runs: runs.map(({ run, role, label }) => ({ run, role, label })),
    }),
  );
  for (const run of runs) {
    mkdirSync(join(dir, run.run), { recursive: true });
    if (!options.skipCurve?.includes(run.run)) writeFileSync(join(dir, run.run, 'curve.csv'), curveCsv(run));
  }
  return dir;
}

/** The first evaluated step at or above the teacher's final validation accuracy, from the fixture's formulas. */
function expectedStepsToTeacher(run: FixtureRun, teacher: FixtureRun): number | null {
  const target = round4(teacher.valAcc(teacher.steps));
  return evaluationSteps(run).find((step) => round4(run.valAcc(step)) >= target) ?? null;
}

interface SummaryJson {
  teacher: { finalValAcc: number; finalTrainAcc: number } | null;
  runs: {
    run: string;
    stepsToTeacherValAcc: number | null;
    finalValAcc: number | null;
    stepZeroValAcc: number | null;
    evaluations: number;
    problems: string[];
  }[];
  files: string[];
}

test('draws validation and training figures (SVG + PNG) and a summary with minibatches to reach the teacher', async () => {
  const dir = writeExperiment(FIXTURE, { teacherRun: 'teacher' });
  const lines: string[] = [];
  const result = await drawExperimentFigures(dir, { log: (line) => lines.push(line) });

  const figures = join(dir, 'figures');
  for (const name of ['wider-validation', 'wider-training']) {
    const svg = readFileSync(join(figures, `${name}.svg`), 'utf8');
    assert.match(svg, /^<svg/);
    for (const run of FIXTURE) assert.ok(svg.includes(run.label), `${name}.svg lacks the label ${run.label}`);
    assert.match(svg, /stroke-dasharray="7,4"/, `${name}.svg has no dashed teacher line`);
    const metadata = await sharp(join(figures, `${name}.png`)).metadata();
    assert.equal(metadata.format, 'png');
    assert.ok((metadata.width ?? 0) > 0 && (metadata.height ?? 0) > 0);
  }
  const teacher = FIXTURE[0]!;
  const validationSvg = readFileSync(join(figures, 'wider-validation.svg'), 'utf8');
  const teacherVal = round4(teacher.valAcc(teacher.steps));
  assert.ok(validationSvg.includes(`Teacher (small): ${(teacherVal * 100).toFixed(2)}%`), 'teacher line caption');
  const trainingSvg = readFileSync(join(figures, 'wider-training.svg'), 'utf8');
  const teacherTrain = round4(teacher.trainAcc(teacher.steps));
  assert.ok(trainingSvg.includes(`Teacher (small): ${(teacherTrain * 100).toFixed(2)}%`), 'teacher training caption');

  const summary = JSON.parse(readFileSync(join(figures, 'summary.json'), 'utf8')) as SummaryJson;
  assert.equal(summary.teacher?.finalValAcc, teacherVal);
  const expectations = FIXTURE.slice(1).map((run) => [run.run, expectedStepsToTeacher(run, teacher)] as const);
  // The fixture has one method reaching the teacher at once, one part-way, one never: make sure that stays true.
  assert.deepEqual(
    expectations.map(([, steps]) => steps),
    [0, 4500, null],
  );
  for (const [run, steps] of expectations) {
    const stats = summary.runs.find((entry) => entry.run === run)!;
    assert.equal(stats.stepsToTeacherValAcc, steps, run);
    assert.equal(stats.problems.length, 0, run);
  }
  const pad = summary.runs.find((entry) => entry.run === 'random-pad')!;
  assert.equal(pad.stepZeroValAcc, 0.3);
  assert.equal(pad.finalValAcc, round4(0.3 + 6000 * 0.00009));

  assert.equal(readFileSync(join(figures, 'summary.md'), 'utf8'), result.summaryMarkdown);
  const randomPadRow = result.summaryMarkdown.split('\n').find((line) => line.startsWith('| Random pad |'))!;
  assert.ok(randomPadRow.includes('| 4,500 |'), randomPadRow);
  const randomInitRow = result.summaryMarkdown.split('\n').find((line) => line.startsWith('| Random init |'))!;
  assert.match(randomInitRow, /not reached/);
  assert.equal(result.files.length, 9, 'three panels as SVG and PNG, seed-curves.json, summary.md and .json');
  assert.ok(result.files.some((file) => file.endsWith('wider-validation-zoom.png')));
  for (const file of result.files) assert.ok(existsSync(file), file);
  // summary.json names them relative to its own folder (no machine paths in committed summaries).
  assert.deepEqual(
    (JSON.parse(readFileSync(join(figures, 'summary.json'), 'utf8')) as { files: string[] }).files,
    result.files.map((file) => basename(file)),
  );
  assert.ok(lines.some((line) => line.includes('wrote')));
});

test('seed-curves.json alone redraws the figures and recomputes the same summary, a truncated run included', async () => {
  const dir = writeExperiment(FIXTURE, { teacherRun: 'teacher' });
  const padCurve = join(dir, 'random-pad', 'curve.csv');
  writeFileSync(padCurve, readFileSync(padCurve, 'utf8').split('\n').slice(0, 8).join('\n') + '\n3500,11');
  await drawExperimentFigures(dir);
  const alone = temporaryDir('net2net-curves-only-');
  copyFileSync(join(dir, 'figures', 'seed-curves.json'), join(alone, 'seed-curves.json'));
  const redrawn = await drawExperimentFigures(alone);
  assert.equal(redrawn.figuresDir, alone, 'drawn in place, beside the curves file');
  const original = readFileSync(join(dir, 'figures', 'summary.json'), 'utf8');
  assert.equal(readFileSync(join(alone, 'summary.json'), 'utf8'), original);
  assert.equal(
    readFileSync(join(alone, 'summary.md'), 'utf8'),
    readFileSync(join(dir, 'figures', 'summary.md'), 'utf8'),
  );
  assert.deepEqual(readdirSync(alone).sort(), readdirSync(join(dir, 'figures')).sort());
  const pad = (JSON.parse(original) as SummaryJson).runs.find((r) => r.run === 'random-pad')!;
  assert.match(pad.problems.join('\n'), /truncated/, 'the problems travel with the curves');
});

for (const name of existsSync(join('results', 'figures')) ? readdirSync(join('results', 'figures')) : [])
  test(`committed results/figures/${name}: summary.json recomputes from its seed-curves.json`, async () => {
    const committed = join('results', 'figures', name);
    assert.ok(
      existsSync(join(committed, 'seed-curves.json')),
      `${committed} has no seed-curves.json: its numbers cannot be recomputed from committed data`,
    );
    const copy = temporaryDir('net2net-committed-');
    copyFileSync(join(committed, 'seed-curves.json'), join(copy, 'seed-curves.json'));
    await drawExperimentFigures(copy);
    assert.deepEqual(
      JSON.parse(readFileSync(join(copy, 'summary.json'), 'utf8')),
      JSON.parse(readFileSync(join(committed, 'summary.json'), 'utf8')),
    );
  });

test('a run killed mid-way (truncated curve.csv) and one that never started are drawn as far as they go', async () => {
  const dir = writeExperiment(FIXTURE, { teacherRun: 'teacher', skipCurve: ['random-init'] });
  const padCurve = join(dir, 'random-pad', 'curve.csv');
  const fullText = readFileSync(padCurve, 'utf8');
  // Keep the header, the evaluations up to step 3000 and half of the next line, without its newline.
  const lines = fullText.split('\n');
  writeFileSync(padCurve, [...lines.slice(0, 8), lines[8]!.slice(0, 10)].join('\n'));

  const log: string[] = [];
  const result = await drawExperimentFigures(dir, { log: (line) => log.push(line) });
  const summary = JSON.parse(readFileSync(join(dir, 'figures', 'summary.json'), 'utf8')) as SummaryJson;
  const pad = summary.runs.find((entry) => entry.run === 'random-pad')!;
  assert.equal(pad.evaluations, 7);
  assert.equal(pad.stepsToTeacherValAcc, null);
  assert.match(pad.problems.join('\n'), /truncated/);
  const init = summary.runs.find((entry) => entry.run === 'random-init')!;
  assert.equal(init.evaluations, 0);
  assert.match(init.problems.join('\n'), /does not exist/);
  assert.match(result.summaryMarkdown, /Random pad \*/);
  assert.match(result.summaryMarkdown, /no evaluations/);
  const svg = readFileSync(join(dir, 'figures', 'wider-validation.svg'), 'utf8');
  assert.match(svg, /Incomplete data: Random pad, Random init/);
  assert.ok(log.some((line) => line.includes('truncated')));
});

test('without a teacher run there is no teacher line and no minibatches-to-teacher', async () => {
  const dir = writeExperiment(FIXTURE.slice(1));
  const result = await drawExperimentFigures(dir);
  const svg = readFileSync(join(dir, 'figures', 'wider-validation.svg'), 'utf8');
  assert.doesNotMatch(svg, /stroke-dasharray="7,4"/);
  const summary = JSON.parse(readFileSync(join(dir, 'figures', 'summary.json'), 'utf8')) as SummaryJson;
  assert.equal(summary.teacher, null);
  assert.ok(summary.runs.every((run) => run.stepsToTeacherValAcc === null));
  assert.match(result.summaryMarkdown, /No teacher run/);
});

test('curve.csv parsing keeps the last row of a repeated step and reports malformed lines', () => {
  const text =
    [
      HEADER,
      '0,0,0,2,,2,0.1,0.1,0',
      '100,3200,0.1,1,0.5,1,0.4,0.1,5',
      'x,1,1,1,1,1,1,1,1',
      '100,3200,0.1,1,0.5,1,0.45,0.1,6',
      '200,6400',
    ].join('\n') + '\n';
  const curve = parseCurveCsv(text, 'curve.csv');
  assert.deepEqual(
    curve.rows.map((row) => [row.step, row.val_acc, row.train_acc]),
    [
      [0, 0.1, null],
      [100, 0.45, 0.5],
    ],
  );
  assert.equal(curve.problems.length, 3, curve.problems.join('\n'));
  assert.equal(parseCurveCsv('', 'empty.csv').rows.length, 0);
  assert.match(parseCurveCsv(HEADER + '\n', 'h.csv').problems[0]!, /no evaluations/);
});

test('a missing folder is a UsageError, and the CLI exits with status 2 naming it', async () => {
  const missing = join(tmpdir(), 'net2net-figures-does-not-exist');
  await assert.rejects(drawExperimentFigures(missing), UsageError);
  const empty = temporaryDir('net2net-figures-empty-');
  await assert.rejects(drawExperimentFigures(empty), /not an experiment folder/);

  const cli = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/figures.ts', missing], { encoding: 'utf8' });
  assert.equal(cli.status, 2, cli.stderr);
  assert.ok(cli.stderr.includes(missing), cli.stderr);
  const noArgs = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/figures.ts'], { encoding: 'utf8' });
  assert.equal(noArgs.status, 2, noArgs.stderr);
});

test('PNG text is drawn with the bundled font (resvg ships none)', async () => {
  const textOnly =
    '<svg xmlns="http://www.w3.org/2000/svg" width="200" height="50"><text x="10" y="35" font-family="DejaVu Sans" font-size="28">Net2Net</text></svg>';
  const noText = '<svg xmlns="http://www.w3.org/2000/svg" width="200" height="50"></svg>';
  const darkest = async (svg: string) => (await sharp(renderPng(svg, 1)).stats()).channels[0]!.min;
  assert.equal(await darkest(noText), 255);
  assert.ok((await darkest(textOnly)) < 100, 'the text left no dark pixels: no font was found');
});
