/**
 * What an experiment's seeds say together: each method's curve as the mean over seeds with its min-max band, each
 * method's numbers with their spread (final accuracy, minibatches to the teacher and to the teacher plus a margin,
 * accuracy after a few minibatch counts). The claims: experiment-claims.ts.
 */
import type { RunDescription } from '../run-folder/experiment-manifest.ts';
import type { SeedReading } from '../run-folder/seed-folders.ts';
import type { CurveRow } from '../train/curve-log.ts';
import type { CurvePoint } from './convergence.ts';
import type { MethodGrowthRecovery } from './growth-recovery.ts';
import { growthRecoveryAcrossSeeds } from './growth-recovery.ts';
import { accuracyAfter, stepsToReach } from './convergence.ts';
import type { FigureAxis, MethodCompute } from './compute-cost.ts';
import { finalPosition, methodCompute, positionOf, randomInitFor, startsFromTeacher } from './compute-cost.ts';
import type { Spread } from './spread.ts';
import { spread } from './spread.ts';

export const DEFAULT_CLAIM_MARGIN = 0.01;

/** One point of a method's curve: the mean over seeds (or the one seed's value), with the lowest and highest. */
export interface AccuracyPoint {
  /** Minibatches, or the series' x on another axis (seriesAcrossSeeds). */
  step: number;
  accuracy: number;
  low?: number;
  high?: number;
}

export interface AccuracySeries {
  label: string;
  points: AccuracyPoint[];
}

/** Every run of the experiment, in the first seed's order, with those only later seeds have after them. */
export function runsOf(seeds: readonly SeedReading[]): RunDescription[] {
  const seen = new Map<string, RunDescription>();
  for (const { reading } of seeds)
    for (const run of reading.manifest.runs) if (!seen.has(run.run)) seen.set(run.run, run);
  return [...seen.values()];
}

function rowsOf(seed: SeedReading, run: string): readonly CurveRow[] {
  return seed.reading.curves.find((c) => c.run.run === run)?.curve.rows ?? [];
}

/** The mean curve of `run` over the seeds that have it, at the steps every one of them evaluated. */
function meanCurve(
  seeds: readonly SeedReading[],
  run: string,
  pick: (row: CurveRow) => number | null,
): AccuracyPoint[] {
  const perSeed = seeds
    .map((seed) => new Map(rowsOf(seed, run).flatMap((row) => (pick(row) === null ? [] : [[row.step, pick(row)!]]))))
    .filter((byStep) => byStep.size > 0);
  if (perSeed.length === 0) return [];
  const steps = [...perSeed[0]!.keys()].filter((step) => perSeed.every((byStep) => byStep.has(step)));
  return steps.map((step) => {
    const s = spread(perSeed.map((byStep) => byStep.get(step)!))!;
    return perSeed.length > 1 ? { step, accuracy: s.mean, low: s.min, high: s.max } : { step, accuracy: s.mean };
  });
}

/** What a series' x is: `axis` (compute-cost.ts), with a run that starts from the teacher starting at its total. */
export interface SeriesAxis {
  axis: FigureAxis;
  chargeTeacher: boolean;
}

/**
 * Each step of `run` on `x.axis`: the mean over the seeds that have it at that step (on the compute axis every seed
 * gives the same number; wall seconds differ), plus, charged, the mean of those seeds' teachers' totals.
 */
function positionsOf(seeds: readonly SeedReading[], run: RunDescription, x: SeriesAxis): Map<number, number> {
  const perSeed = seeds
    .filter((seed) => rowsOf(seed, run.run).length > 0)
    .map((seed) => {
      const charge = x.chargeTeacher && startsFromTeacher(run) ? finalPosition(teacherRows(seed), x.axis) : 0;
      return new Map(
        rowsOf(seed, run.run).flatMap((row) => {
          const position = positionOf(row, x.axis);
          return position === null || charge === null ? [] : [[row.step, position + charge] as const];
        }),
      );
    });
  const steps = [...(perSeed[0]?.keys() ?? [])].filter((step) => perSeed.every((byStep) => byStep.has(step)));
  return new Map(steps.map((step) => [step, spread(perSeed.map((byStep) => byStep.get(step)!))!.mean]));
}

/**
 * One series per run (the teacher's only when `withTeacher`), mean over seeds with a band when there are several;
 * its points' `step` is the x of `x` (default: minibatches, nothing charged). A run without positions on that axis
 * (a curve written before the compute columns) gets no points.
 */
export function seriesAcrossSeeds(
  seeds: readonly SeedReading[],
  pick: (row: CurveRow) => number | null,
  withTeacher: boolean,
  x: SeriesAxis = { axis: 'minibatches', chargeTeacher: false },
): AccuracySeries[] {
  return runsOf(seeds)
    .filter((run) => withTeacher || run.role !== 'teacher')
    .map((run) => {
      const points = meanCurve(seeds, run.run, pick);
      if (x.axis === 'minibatches' && !x.chargeTeacher) return { label: run.label, points };
      const positions = positionsOf(seeds, run, x);
      return {
        label: run.label,
        points: points.flatMap((p) => (positions.has(p.step) ? [{ ...p, step: positions.get(p.step)! }] : [])),
      };
    });
}

export interface MethodSummary {
  run: string;
  label: string;
  role: string;
  seeds: number[];
  finalValAcc: Spread | null;
  stepZeroValAcc: Spread | null;
  /** Minibatches to each seed's teacher's final validation accuracy (null: not reached), per seed. */
  stepsToTeacher: (number | null)[];
  /** ... and to that accuracy plus the margin. */
  stepsToTeacherPlusMargin: (number | null)[];
  /** Validation accuracy after N minibatches, for a few N. */
  accuracyAfter: { steps: number; accuracy: Spread | null }[];
  /** Dip, recovery and loss slope after growth per seed, with their spread (growth-recovery.ts); null: the teacher. */
  growthRecovery?: MethodGrowthRecovery | null;
  /** Training multiply-adds and wall seconds (compute-cost.ts); absent where the curves have no compute columns. */
  compute?: MethodCompute;
}

const valCurve = (rows: readonly CurveRow[]): CurvePoint[] =>
  rows.flatMap((row) => (row.val_acc === null ? [] : [{ step: row.step, accuracy: row.val_acc }]));

function teacherRows(seed: SeedReading): readonly CurveRow[] {
  const teacherRun = seed.reading.manifest.teacherRun;
  return teacherRun === undefined ? [] : rowsOf(seed, teacherRun);
}

/** The method's compute summary over the seeds that have its curve, or null (see compute-cost.ts). */
function computeOf(seeds: readonly SeedReading[], run: RunDescription, margin: number): MethodCompute | null {
  const reference = randomInitFor(
    run.run,
    runsOf(seeds).map((r) => r.run),
  );
  const having = seeds.filter((seed) => rowsOf(seed, run.run).length > 0);
  return methodCompute(
    run,
    having.map((seed) => ({
      rows: rowsOf(seed, run.run),
      teacherRows: teacherRows(seed),
      referenceRows: reference === null ? null : rowsOf(seed, reference),
    })),
    margin,
    reference,
  );
}

export function methodSummaries(seeds: readonly SeedReading[], margin: number): MethodSummary[] {
  return runsOf(seeds).map((run) => {
    const compute = computeOf(seeds, run, margin);
    const having = seeds.filter((seed) => rowsOf(seed, run.run).length > 0);
    const curves = having.map((seed) => valCurve(rowsOf(seed, run.run)));
    const targets = having.map((seed) => valCurve(teacherRows(seed)).at(-1)?.accuracy ?? null);
    const reach = (extra: number) =>
      run.role === 'teacher'
        ? []
        : curves.map((curve, i) => (targets[i] === null ? null : stepsToReach(curve, targets[i]! + extra)));
    const lastStep = Math.max(0, ...curves.map((c) => c.at(-1)?.step ?? 0));
    const marks = [...new Set([Math.round(lastStep / 4), Math.round(lastStep / 2), lastStep])].filter((n) => n > 0);
    return {
      run: run.run,
      label: run.label,
      role: run.role,
      seeds: having.map((seed) => seed.seed ?? 0),
      finalValAcc: spread(curves.map((c) => c.at(-1)?.accuracy ?? null)),
      stepZeroValAcc: spread(curves.map((c) => c.find((p) => p.step === 0)?.accuracy ?? null)),
      stepsToTeacher: reach(0),
      stepsToTeacherPlusMargin: reach(margin),
      accuracyAfter: marks.map((steps) => ({ steps, accuracy: spread(curves.map((c) => accuracyAfter(c, steps))) })),
      growthRecovery: growthRecoveryAcrossSeeds(seeds, run),
      ...(compute === null ? {} : { compute }),
    };
  });
}
