/**
 * What happens right after growth, per run and over seeds: the post-growth dip below the teacher, the minibatches to
 * get back to the teacher's accuracy, and the validation-loss slope over the first evaluations against the teacher
 * trained further's (the run `teacher-continued` of the same seed).
 *
 * Definitions (validation accuracy and loss, as curve.csv records them; the teacher's accuracy is its final one):
 *
 * - **first evaluations** (the window): a run's evaluations at steps <= 1/4 of its last evaluated step, extended to its
 *   first 3 evaluations where the quarter holds fewer (default preset, 200 minibatches every 25: steps 0, 25, 50; cpu,
 *   250 every 50: 0, 50, 100). A student's step 0 is its evaluation right after the transform.
 * - **dip**: the largest drop of validation accuracy below the teacher's within the window, max(0, teacher - acc);
 *   0 when no evaluation of the window is below the teacher. `dipStep`: the step of the window's lowest accuracy.
 * - **stepsToRecover**: the step of the first evaluation at or after `dipStep` (anywhere in the run) whose validation
 *   accuracy is at least the teacher's; 0 when there is no dip; null ("never") when the run does not get back.
 * - **lossSlope**: the least-squares slope of validation loss against minibatches over the window's evaluations
 *   (loss per minibatch; negative: falling); null with fewer than two. `referenceLossSlope`: the same for
 *   `teacher-continued` in the same seed, over its own window.
 */
import type { RunDescription } from '../run-folder/experiment-manifest.ts';
import { methodOfRun } from '../run-folder/run-name.ts';
import type { SeedReading } from '../run-folder/seed-folders.ts';
import type { CurveRow } from '../train/curve-log.ts';
import type { Spread } from './spread.ts';
import { spread } from './spread.ts';

/** The window is the evaluations at steps <= this fraction of the last evaluated step ... */
export const RECOVERY_WINDOW_FRACTION = 0.25;
/** ... and at least this many first evaluations. */
export const RECOVERY_WINDOW_MIN_EVALUATIONS = 3;
/** The run whose loss slope every run's is set against. */
export const REFERENCE_METHOD = 'teacher-continued';

export interface GrowthRecovery {
  /** The window: evaluations at steps 0..windowEndStep (`windowEvaluations` of them). */
  windowEndStep: number;
  windowEvaluations: number;
  /** Largest drop below the teacher's final validation accuracy within the window (a fraction; 0: none). */
  dip: number;
  dipStep: number;
  /** Minibatches until validation accuracy is back at the teacher's; 0 without a dip; null: never. */
  stepsToRecover: number | null;
  /** Validation loss per minibatch over the window (least squares); null with fewer than two losses. */
  lossSlope: number | null;
  /** The teacher trained further's loss slope in the same seed; null when it has none. */
  referenceLossSlope: number | null;
  referenceRun: string | null;
}

/** The first evaluations of a curve (see the module's definitions), among rows with a validation accuracy. */
export function recoveryWindow(rows: readonly CurveRow[]): CurveRow[] {
  const evaluated = rows.filter((row) => row.val_acc !== null);
  if (evaluated.length === 0) return [];
  const end = evaluated.at(-1)!.step * RECOVERY_WINDOW_FRACTION;
  const quarter = evaluated.filter((row) => row.step <= end);
  return quarter.length >= RECOVERY_WINDOW_MIN_EVALUATIONS
    ? quarter
    : evaluated.slice(0, RECOVERY_WINDOW_MIN_EVALUATIONS);
}

/** Least-squares slope of y against x; null with fewer than two points or no spread in x. */
export function leastSquaresSlope(points: readonly { x: number; y: number }[]): number | null {
  if (points.length < 2) return null;
  const meanX = points.reduce((s, p) => s + p.x, 0) / points.length;
  const meanY = points.reduce((s, p) => s + p.y, 0) / points.length;
  let sxy = 0;
  let sxx = 0;
  for (const { x, y } of points) {
    sxy += (x - meanX) * (y - meanY);
    sxx += (x - meanX) ** 2;
  }
  return sxx === 0 ? null : sxy / sxx;
}

/** Validation loss per minibatch over the curve's first evaluations. */
export function windowLossSlope(rows: readonly CurveRow[]): number | null {
  const points = recoveryWindow(rows).flatMap((row) =>
    row.val_loss === null ? [] : [{ x: row.step, y: row.val_loss }],
  );
  return leastSquaresSlope(points);
}

/**
 * A run's recovery after growth against the teacher's final validation accuracy; `reference` is the teacher trained
 * further's curve in the same seed (or null). Null without a teacher accuracy or without evaluations.
 */
export function growthRecovery(
  rows: readonly CurveRow[],
  teacherValAcc: number | null,
  reference: { run: string; rows: readonly CurveRow[] } | null,
): GrowthRecovery | null {
  const window = recoveryWindow(rows);
  if (teacherValAcc === null || window.length === 0) return null;
  const lowest = window.reduce((low, row) => (row.val_acc! < low.val_acc! ? row : low));
  const dip = Math.max(0, teacherValAcc - lowest.val_acc!);
  const back = rows.find((row) => row.step >= lowest.step && row.val_acc !== null && row.val_acc >= teacherValAcc);
  return {
    windowEndStep: window.at(-1)!.step,
    windowEvaluations: window.length,
    dip,
    dipStep: lowest.step,
    stepsToRecover: dip === 0 ? 0 : (back?.step ?? null),
    lossSlope: windowLossSlope(rows),
    referenceLossSlope: reference === null ? null : windowLossSlope(reference.rows),
    referenceRun: reference?.run ?? null,
  };
}

/** The teacher trained further among an experiment's curves, or null. */
export function referenceCurve(
  curves: readonly { run: RunDescription; curve: { rows: readonly CurveRow[] } }[],
): { run: string; rows: readonly CurveRow[] } | null {
  const found = curves.find(({ run }) => methodOfRun(run.run) === REFERENCE_METHOD);
  return found ? { run: found.run.run, rows: found.curve.rows } : null;
}

/** One run's recovery statistics in each seed, with their spread (the experiment summary's per-method entry). */
export interface MethodGrowthRecovery {
  /** Per seed, in the order of `seeds` (null where the seed has no statistics). */
  seeds: number[];
  perSeed: (GrowthRecovery | null)[];
  dip: Spread | null;
  /** Per seed (null: never). */
  stepsToRecover: (number | null)[];
  lossSlope: Spread | null;
  referenceLossSlope: Spread | null;
}

/** `run`'s recovery in every seed that has its curve (teacher: null). */
export function growthRecoveryAcrossSeeds(
  seeds: readonly SeedReading[],
  run: RunDescription,
): MethodGrowthRecovery | null {
  if (run.role === 'teacher') return null;
  const having = seeds.flatMap(({ seed, reading }) => {
    const rows = reading.curves.find((c) => c.run.run === run.run)?.curve.rows ?? [];
    if (rows.length === 0) return [];
    const teacherRows = reading.curves.find((c) => c.run.run === reading.manifest.teacherRun)?.curve.rows ?? [];
    const teacherValAcc = [...teacherRows].reverse().find((row) => row.val_acc !== null)?.val_acc ?? null;
    return [{ seed: seed ?? 0, recovery: growthRecovery(rows, teacherValAcc, referenceCurve(reading.curves)) }];
  });
  if (having.length === 0) return null;
  const perSeed = having.map((h) => h.recovery);
  return {
    seeds: having.map((h) => h.seed),
    perSeed,
    dip: spread(perSeed.map((r) => r?.dip ?? null)),
    stepsToRecover: perSeed.map((r) => r?.stepsToRecover ?? null),
    lossSlope: spread(perSeed.map((r) => r?.lossSlope ?? null)),
    referenceLossSlope: spread(perSeed.map((r) => r?.referenceLossSlope ?? null)),
  };
}
