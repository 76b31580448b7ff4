/**
 * The numbers an experiment's curves give, computed in this one place, and the summaries that carry them: per run,
 * final, best and step-0 validation accuracy and the minibatches to reach the teacher's final validation accuracy.
 * The runner writes them to `<out>/summary.json`, the figures to `figures/summary.json` and `figures/summary.md`.
 */
import type { ExperimentCurves } from '../run-folder/experiment-curves.ts';
import type { SeedReading } from '../run-folder/seed-folders.ts';
import {
  figuresSummaryPath,
  readJsonIfPresent,
  sessionSummaryPath,
  writeJsonFile,
} from '../run-folder/summary-files.ts';
import type { ClaimResult } from './claims.ts';
import { growthRecovery, referenceCurve } from './growth-recovery.ts';
import { runStatistics, teacherReference } from './run-statistics.ts';
import type { RunStatistics, TeacherReference } from './run-statistics.ts';
import type { MethodSummary } from './seed-statistics.ts';
import { spread } from './spread.ts';

export interface ExperimentSummary {
  experiment: string;
  preset?: string;
  teacher: TeacherReference | null;
  runs: RunStatistics[];
  notes: string[];
}

/** One seed's summary: the teacher reference and every run's statistics. */
export function summarizeExperiment({ manifest, curves }: ExperimentCurves): ExperimentSummary {
  const teacherCurve = curves.find(({ run }) => run.run === manifest.teacherRun);
  const teacher = teacherCurve
    ? teacherReference(teacherCurve.run.run, teacherCurve.run.label, teacherCurve.curve.rows)
    : null;
  const notes = [...manifest.notes];
  if (teacher === null) notes.push('no teacher run: no teacher line and no minibatches-to-teacher');
  else if (teacher.finalValAcc === null) notes.push(`teacher ${teacher.label} has no validation accuracy yet`);
  const reference = referenceCurve(curves);
  const runs = curves.map(({ run, curve }) => ({
    ...runStatistics(run, curve.rows, teacher, curve.problems),
    growthRecovery: run.role === 'teacher' ? null : growthRecovery(curve.rows, teacher?.finalValAcc ?? null, reference),
  }));
  return { experiment: manifest.experiment, preset: manifest.preset, teacher, runs, notes };
}

/** The experiment's summary over its seeds: one seed's as it is; several seeds' runs side by side, teacher averaged. */
export function combinedSummary(seeds: readonly SeedReading[]): ExperimentSummary {
  const summaries = seeds.map((s) => summarizeExperiment(s.reading));
  if (seeds.length === 1) return summaries[0]!;
  const first = summaries[0]!;
  const teachers = summaries.map((s) => s.teacher).filter((t): t is TeacherReference => t !== null);
  const mean = (pick: (t: TeacherReference) => number | null) => spread(teachers.map(pick))?.mean ?? null;
  return {
    experiment: first.experiment,
    preset: first.preset,
    teacher:
      teachers.length === 0
        ? null
        : { ...teachers[0]!, finalValAcc: mean((t) => t.finalValAcc), finalTrainAcc: mean((t) => t.finalTrainAcc) },
    runs: seeds.flatMap((s, i) => summaries[i]!.runs.map((run) => ({ ...run, seed: s.seed }))),
    notes: seeds.flatMap((s, i) => summaries[i]!.notes.map((note) => `seed ${s.seed}: ${note}`)),
  };
}

/** `<out>/summary.json`: the statistics with how and where the session ran. */
export interface ExperimentSessionSummary {
  experiment: string;
  preset: string;
  data: string;
  backend: string;
  workers: number;
  /** Intra-op threads of the backend (torch: NET2NET_THREADS or the cores; null where the backend has no setting). */
  threads?: number | null;
  /** The training precision (fp32, bf16, tf32). */
  precision?: string;
  /** Wall-clock seconds of the session that wrote it. */
  wall_s: number;
  /** CPU seconds of that process (all threads): on a shared machine, what the run costs unloaded. */
  cpu_s: number;
  runs: RunStatistics[];
}

export function writeSessionSummary(experimentDir: string, summary: ExperimentSessionSummary): void {
  writeJsonFile(sessionSummaryPath(experimentDir), summary);
}

export function readSessionSummary(experimentDir: string): ExperimentSessionSummary | null {
  return readJsonIfPresent<ExperimentSessionSummary>(sessionSummaryPath(experimentDir));
}

/**
 * `figures/summary.json`: the summary beside the figures, with the files drawn (relative to that folder); over several
 * seeds, `runs` has one entry per run and seed (each with its `seed`), `methods` each run's numbers with their spread,
 * and `claims` the paper's claims as checked on every seed.
 */
export interface FiguresSummary extends ExperimentSummary {
  files: string[];
  seeds?: (number | null)[];
  /** The seeds the experiment ran (seeds.json), whether or not their folders have started. */
  experimentSeeds?: number[];
  /** Intra-op threads the runs trained with (from the manifest), where recorded. */
  threads?: number | null;
  /** The training precision of the runs (from the manifest), where recorded. */
  precision?: string;
  methods?: MethodSummary[];
  claims?: ClaimResult[];
  claimMargin?: number;
}

export function writeFiguresSummary(figuresDir: string, summary: FiguresSummary): string {
  const path = figuresSummaryPath(figuresDir);
  writeJsonFile(path, summary);
  return path;
}

/** A figures folder's summary.json (e.g. `results/figures/wider-default/`), or null when it has none. */
export function readFiguresSummary(figuresDir: string): FiguresSummary | null {
  return readJsonIfPresent<FiguresSummary>(figuresSummaryPath(figuresDir));
}
