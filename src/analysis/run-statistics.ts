/**
 * Per-run numbers for the summary table: final, best and first (step 0, right after the transform) validation
 * accuracy, and the number of minibatches a student needs to reach the teacher's final validation accuracy.
 */
import type { CurveRow } from '../train/curve-log.ts';
import type { RunDescription } from '../run-folder/experiment-manifest.ts';
import type { GrowthRecovery } from './growth-recovery.ts';

export interface TeacherReference {
  run: string;
  label: string;
  /** The teacher's validation accuracy at its last evaluation; null when it has none yet. */
  finalValAcc: number | null;
  /** The teacher's training accuracy at its last evaluation with one; null when it has none. */
  finalTrainAcc: number | null;
  finalStep: number | null;
}

export interface RunStatistics extends RunDescription {
  /** The experiment seed of this run (in a multi-seed summary). */
  seed?: number | null;
  evaluations: number;
  finalStep: number | null;
  finalValAcc: number | null;
  bestValAcc: number | null;
  bestValStep: number | null;
  /** Validation accuracy of the row at step 0 (a student's evaluation right after the transform); null without one. */
  stepZeroValAcc: number | null;
  /**
   * Step (minibatches since the transform) of the first evaluation whose validation accuracy is at least the teacher's
   * final one; null when not reached, or when there is no teacher accuracy to reach, or for the teacher itself.
   */
  stepsToTeacherValAcc: number | null;
  imagesToTeacherValAcc: number | null;
  /** Images seen at the last evaluation. */
  images: number | null;
  /** Wall-clock seconds at the last evaluation. */
  wallSeconds: number | null;
  problems: string[];
  /** Dip, recovery and loss slope after growth (growth-recovery.ts); null for the teacher; absent in older summaries. */
  growthRecovery?: GrowthRecovery | null;
}

export function lastValue(rows: readonly CurveRow[], pick: (row: CurveRow) => number | null): number | null {
  for (let index = rows.length - 1; index >= 0; index--) {
    const value = pick(rows[index]!);
    if (value !== null) return value;
  }
  return null;
}

export function teacherReference(run: string, label: string, rows: readonly CurveRow[]): TeacherReference {
  return {
    run,
    label,
    finalValAcc: lastValue(rows, (row) => row.val_acc),
    finalTrainAcc: lastValue(rows, (row) => row.train_acc),
    finalStep: rows.length > 0 ? rows[rows.length - 1]!.step : null,
  };
}

/** The first evaluation whose validation accuracy reaches `threshold`, or null. */
export function firstRowReaching(rows: readonly CurveRow[], threshold: number): CurveRow | null {
  return rows.find((row) => row.val_acc !== null && row.val_acc >= threshold) ?? null;
}

export function runStatistics(
  run: RunDescription,
  rows: readonly CurveRow[],
  teacher: TeacherReference | null,
  problems: string[],
): RunStatistics {
  let bestValAcc: number | null = null;
  let bestValStep: number | null = null;
  for (const row of rows) {
    if (row.val_acc !== null && (bestValAcc === null || row.val_acc > bestValAcc)) {
      bestValAcc = row.val_acc;
      bestValStep = row.step;
    }
  }
  const target = run.role !== 'teacher' && teacher !== null ? teacher.finalValAcc : null;
  const reaching = target === null ? null : firstRowReaching(rows, target);
  const last = rows.length > 0 ? rows[rows.length - 1]! : null;
  return {
    run: run.run,
    role: run.role,
    label: run.label,
    evaluations: rows.length,
    finalStep: last?.step ?? null,
    finalValAcc: lastValue(rows, (row) => row.val_acc),
    bestValAcc,
    bestValStep,
    stepZeroValAcc: rows.find((row) => row.step === 0)?.val_acc ?? null,
    stepsToTeacherValAcc: reaching?.step ?? null,
    imagesToTeacherValAcc: reaching?.images ?? null,
    images: lastValue(rows, (row) => row.images),
    wallSeconds: lastValue(rows, (row) => row.wall_s),
    problems,
  };
}
