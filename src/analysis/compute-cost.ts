/**
 * What training costs, counted two ways: training multiply-adds (curve.csv's `train_macs`: 3 x the model's forward
 * multiply-adds per image trained) and training wall seconds (`train_wall_s`: the run's wall time less its
 * evaluations). Evaluation is never counted here (its cost is `eval_macs`, `eval_wall_s`).
 *
 * Charging the teacher: a run that starts from the teacher's trained weights (a Net2Net student, random pad, the
 * teacher trained further) has cost, besides its own training, the teacher's whole training (its last curve row);
 * "charged", its costs start there instead of at 0. The teacher and the random-init runs start from nothing.
 *
 * Compute to reach an accuracy: the cost at the first evaluation at or above it (null: never within the run).
 * Compute saved against random init: the random-init run's cost to reach the target less the run's (charged or not).
 * When random init never gets there its cost to reach is more than its whole training, so the saving is at least
 * that total less the run's (`atLeast`); a lower bound that is not positive decides nothing.
 */
import type { RunDescription } from '../run-folder/experiment-manifest.ts';
import type { CurveRow } from '../train/curve-log.ts';
import type { Spread } from './spread.ts';
import { spread } from './spread.ts';

/** What a figure's x-axis counts: minibatches (the paper's), training multiply-adds, or training wall seconds. */
export type FigureAxis = 'minibatches' | 'compute' | 'wall';
export const FIGURE_AXES: readonly FigureAxis[] = ['minibatches', 'compute', 'wall'];
export type CostAxis = Exclude<FigureAxis, 'minibatches'>;

/** The curve column a cost axis reads. */
export const COST_COLUMN = { compute: 'train_macs', wall: 'train_wall_s' } as const;

export function costOf(row: CurveRow, axis: CostAxis): number | null {
  return row[COST_COLUMN[axis]];
}

/** A row's position on a figure's x-axis: its step, or its cost on a cost axis. */
export function positionOf(row: CurveRow, axis: FigureAxis): number | null {
  return axis === 'minibatches' ? row.step : costOf(row, axis);
}

/** The last row's position on `axis` (the teacher's total, for a charged figure); null when no row has one. */
export function finalPosition(rows: readonly CurveRow[], axis: FigureAxis): number | null {
  for (let i = rows.length - 1; i >= 0; i--) {
    const position = positionOf(rows[i]!, axis);
    if (position !== null) return position;
  }
  return null;
}

/** The method of a run without its sweep suffix: `random-pad@lr0.002` -> `random-pad`. */
const methodOf = (run: string) => run.split('@')[0]!;

const isRandomInit = (run: string) => methodOf(run).startsWith('random-init');

/** Whether a run starts from the teacher's trained weights (and so is charged with its cost): all but the teacher and random init. */
export function startsFromTeacher(run: RunDescription): boolean {
  return run.role !== 'teacher' && !isRandomInit(run.run);
}

/**
 * The random-init run a run's savings are measured against: the only one, or (explore: `random-init-wider`,
 * `random-init-deeper`) the one whose suffix the run's method names (`net2wider`); null when there is none.
 */
export function randomInitFor(run: string, runs: readonly string[]): string | null {
  const candidates = runs.filter(isRandomInit);
  if (candidates.length <= 1) return candidates[0] ?? null;
  const method = methodOf(run);
  return (
    candidates.find((c) => c.startsWith('random-init-') && method.endsWith(c.slice('random-init-'.length))) ?? null
  );
}

/** A run's total training cost: the last row that has it; null when the curve has none. */
export function totalCost(rows: readonly CurveRow[], axis: CostAxis): number | null {
  for (let i = rows.length - 1; i >= 0; i--) {
    const cost = costOf(rows[i]!, axis);
    if (cost !== null) return cost;
  }
  return null;
}

/** One evaluation with what it cost to get there. */
export interface CostPoint {
  accuracy: number;
  cost: number;
}

/** The evaluations with a validation accuracy and a cost on `axis`. */
export function costCurve(rows: readonly CurveRow[], axis: CostAxis): CostPoint[] {
  return rows.flatMap((row) => {
    const cost = costOf(row, axis);
    return row.val_acc === null || cost === null ? [] : [{ accuracy: row.val_acc, cost }];
  });
}

/** The cost at the first evaluation at or above `target`; null when the curve never gets there. */
export function costToReach(curve: readonly CostPoint[], target: number): number | null {
  return curve.find((p) => p.accuracy >= target)?.cost ?? null;
}

export interface Saving {
  /** The run's cost to reach the target, plus the teacher's when charged; null: it never got there. */
  run: number | null;
  /** The random-init run's cost to reach it; null: it never got there. */
  reference: number | null;
  /** The random-init run's whole training cost. */
  referenceTotal: number | null;
  /** reference - run, or referenceTotal - run when the reference never got there (then `atLeast`); null: unknown. */
  saved: number | null;
  atLeast: boolean;
}

/** Compute saved by `run` against `reference` to reach `target`, the run's costs offset by `charge` (0 or the teacher's). */
export function savedAgainst(
  run: readonly CostPoint[],
  reference: readonly CostPoint[],
  target: number,
  charge: number,
): Saving {
  const own = costToReach(run, target);
  const mine = own === null ? null : own + charge;
  const theirs = costToReach(reference, target);
  const referenceTotal = reference.at(-1)?.cost ?? null;
  const base = { run: mine, reference: theirs, referenceTotal };
  if (mine === null) return { ...base, saved: null, atLeast: false };
  if (theirs !== null) return { ...base, saved: theirs - mine, atLeast: false };
  return referenceTotal === null
    ? { ...base, saved: null, atLeast: false }
    : { ...base, saved: referenceTotal - mine, atLeast: true };
}

/**
 * Whether the run saved compute, for a claim: true (it got there for less), false (it never got there and random init
 * did, or it cost more), null (neither got there, or random init stopped short before the run's cost).
 */
export function savingHeld(saving: Saving): boolean | null {
  if (saving.run === null) return saving.reference === null ? null : false;
  if (saving.saved === null) return null;
  if (saving.atLeast) return saving.saved > 0 ? true : null;
  return saving.saved > 0;
}

/** Per seed (null: never reached or no cost) and its spread. */
export interface CostPerSeed {
  perSeed: (number | null)[];
  spread: Spread | null;
}

const perSeed = (values: (number | null)[]): CostPerSeed => ({ perSeed: values, spread: spread(values) });

/** A method's costs over the seeds, in summary.json's `methods[].compute` (absent where the curves have no costs). */
export interface MethodCompute {
  /** Whether the run starts from the teacher's weights: its charged costs add the teacher's total. */
  startsFromTeacher: boolean;
  /** Training multiply-adds and wall seconds of the whole run (the teacher's: what a charged run adds). */
  totalMacs: CostPerSeed;
  totalWallSeconds: CostPerSeed;
  /** Training multiply-adds and wall seconds to the teacher's final validation accuracy, and to that plus the margin. */
  macsToTeacher: CostPerSeed;
  macsToTeacherPlusMargin: CostPerSeed;
  wallSecondsToTeacher: CostPerSeed;
  wallSecondsToTeacherPlusMargin: CostPerSeed;
  /** Multiply-adds saved against the random-init run to teacher + margin, without and with the teacher's cost. */
  savedAgainstRandomInit?: { against: string; uncharged: Saving[]; charged: Saving[] };
}

/** One seed's curves of a method, with its teacher's and its random-init run's, as the summary needs them. */
export interface SeedCostInput {
  rows: readonly CurveRow[];
  teacherRows: readonly CurveRow[];
  referenceRows: readonly CurveRow[] | null;
}

export function hasCosts(rows: readonly CurveRow[]): boolean {
  return rows.some((row) => row.train_macs !== null || row.train_wall_s !== null);
}

/** A method's compute summary over its seeds; null when none of its curves has a cost column. */
export function methodCompute(
  run: RunDescription,
  seeds: readonly SeedCostInput[],
  margin: number,
  reference: string | null,
): MethodCompute | null {
  if (!seeds.some((s) => hasCosts(s.rows))) return null;
  const teacherAccuracy = (s: SeedCostInput) => {
    for (let i = s.teacherRows.length - 1; i >= 0; i--)
      if (s.teacherRows[i]!.val_acc !== null) return s.teacherRows[i]!.val_acc;
    return null;
  };
  const toReach = (axis: CostAxis, extra: number) =>
    perSeed(
      run.role === 'teacher'
        ? []
        : seeds.map((s) => {
            const target = teacherAccuracy(s);
            return target === null ? null : costToReach(costCurve(s.rows, axis), target + extra);
          }),
    );
  const result: MethodCompute = {
    startsFromTeacher: startsFromTeacher(run),
    totalMacs: perSeed(seeds.map((s) => totalCost(s.rows, 'compute'))),
    totalWallSeconds: perSeed(seeds.map((s) => totalCost(s.rows, 'wall'))),
    macsToTeacher: toReach('compute', 0),
    macsToTeacherPlusMargin: toReach('compute', margin),
    wallSecondsToTeacher: toReach('wall', 0),
    wallSecondsToTeacherPlusMargin: toReach('wall', margin),
  };
  if (reference !== null && run.role !== 'teacher' && reference !== run.run) {
    const saving = (charged: boolean) =>
      seeds.map((s) => {
        const target = teacherAccuracy(s);
        const charge = charged && result.startsFromTeacher ? totalCost(s.teacherRows, 'compute') : 0;
        if (target === null || s.referenceRows === null || charge === null)
          return { run: null, reference: null, referenceTotal: null, saved: null, atLeast: false };
        return savedAgainst(
          costCurve(s.rows, 'compute'),
          costCurve(s.referenceRows, 'compute'),
          target + margin,
          charge,
        );
      });
    result.savedAgainstRandomInit = { against: reference, uncharged: saving(false), charged: saving(true) };
  }
  return result;
}

/** Multiply-adds for people: `1.23 G`, `456 M`. */
export function formatMultiplyAdds(value: number): string {
  const units: [number, string][] = [
    [1e15, 'P'],
    [1e12, 'T'],
    [1e9, 'G'],
    [1e6, 'M'],
    [1e3, 'k'],
  ];
  const [scale, unit] = units.find(([s]) => Math.abs(value) >= s) ?? [1, ''];
  return unit ? `${(value / scale).toPrecision(3)} ${unit}` : String(Math.round(value));
}

/** "net2wider 1.23 G (teacher's 4.00 G included), random-init never (5.60 G in all): saved at least 4.37 G". */
export function describeSaving(run: string, reference: string, saving: Saving, charge: number): string {
  const charged = charge > 0 ? ` (teacher's ${formatMultiplyAdds(charge)} included)` : '';
  const mine = saving.run === null ? `${run} never` : `${run} ${formatMultiplyAdds(saving.run)}${charged}`;
  const total = saving.referenceTotal === null ? '' : ` (${formatMultiplyAdds(saving.referenceTotal)} in all)`;
  const theirs =
    saving.reference === null ? `${reference} never${total}` : `${reference} ${formatMultiplyAdds(saving.reference)}`;
  const verdict =
    saving.run === null
      ? saving.reference === null
        ? 'neither got there'
        : `${reference} got there, ${run} did not`
      : saving.saved === null
        ? 'saving unknown'
        : saving.atLeast && saving.saved <= 0
          ? `saving unknown (${reference} stopped before the run's cost)`
          : saving.saved < 0
            ? `cost ${formatMultiplyAdds(-saving.saved)} multiply-adds more`
            : `saved ${saving.atLeast ? 'at least ' : ''}${formatMultiplyAdds(saving.saved)} multiply-adds`;
  return `${mine}, ${theirs}: ${verdict}`;
}
