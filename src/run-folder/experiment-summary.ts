/**
 * The numbers an experiment folder's curves give, computed in this one place: per run, final, best and step-0
 * validation accuracy and the minibatches to reach the teacher's final validation accuracy. The runner writes them to
 * `<out>/summary.json`, the figures to `figures/summary.json` and `figures/summary.md`.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { writeJsonAtomic } from '../io/atomic-file.ts';
import { CURVE_CSV, readCurveFile } from '../train/curve-log.ts';
import type { CurveFile } from '../train/curve-log.ts';
import type { ExperimentManifest, RunDescription } from './experiment-manifest.ts';
import { readExperimentManifest } from './experiment-manifest.ts';
import { runStatistics, teacherReference } from './run-statistics.ts';
import type { RunStatistics, TeacherReference } from './run-statistics.ts';
import type { MethodSummary } from '../figures/seed-statistics.ts';
import type { ClaimResult } from '../figures/paper-claims.ts';

export const EXPERIMENT_SUMMARY_JSON = 'summary.json';
export const FIGURES_DIR = 'figures';

export interface ExperimentSummary {
  experiment: string;
  preset?: string;
  teacher: TeacherReference | null;
  runs: RunStatistics[];
  notes: string[];
}

/** An experiment folder read as figures and tables need it: its manifest, each run's curve, and the summary. */
export interface ExperimentReading {
  manifest: ExperimentManifest;
  curves: { run: RunDescription; curve: CurveFile }[];
  summary: ExperimentSummary;
}

export function readExperiment(experimentDir: string): ExperimentReading {
  const dir = resolve(experimentDir);
  const manifest = readExperimentManifest(experimentDir);
  const curves = manifest.runs.map((run) => ({
    run,
    curve: readCurveFile(join(dir, run.run, CURVE_CSV), `${run.run}/${CURVE_CSV}`),
  }));
  const teacherCurve = curves.find(({ run }) => run.run === manifest.teacherRun);
  const teacher = teacherCurve
    ? teacherReference(teacherCurve.run.run, teacherCurve.run.label, teacherCurve.curve.rows)
    : null;
  const notes = [...manifest.notes];
  if (teacher === null) notes.push('no teacher run: no teacher line and no minibatches-to-teacher');
  else if (teacher.finalValAcc === null) notes.push(`teacher ${teacher.label} has no validation accuracy yet`);
  const runs = curves.map(({ run, curve }) => runStatistics(run, curve.rows, teacher, curve.problems));
  return {
    manifest,
    curves,
    summary: { experiment: manifest.experiment, preset: manifest.preset, teacher, runs, notes },
  };
}

/** `<out>/summary.json`: the statistics with how and where the session ran. */
export interface ExperimentSessionSummary {
  experiment: string;
  preset: string;
  data: string;
  backend: string;
  workers: number;
  /** Wall-clock seconds of the session that wrote it. */
  wall_s: number;
  /** CPU seconds of that process (all threads): on a shared machine, what the run costs unloaded. */
  cpu_s: number;
  runs: RunStatistics[];
}

export function writeSessionSummary(experimentDir: string, summary: ExperimentSessionSummary): void {
  writeJsonAtomic(join(experimentDir, EXPERIMENT_SUMMARY_JSON), summary);
}

export function readSessionSummary(experimentDir: string): ExperimentSessionSummary | null {
  return readJsonIfPresent<ExperimentSessionSummary>(join(experimentDir, EXPERIMENT_SUMMARY_JSON));
}

/**
 * `figures/summary.json`: the summary beside the figures, with the files drawn (relative to that folder); over several seeds, `runs` has one
 * entry per run and seed (each with its `seed`), `methods` each run's numbers with their spread, and `claims` the
 * paper's claims as checked on every seed.
 */
export interface FiguresSummary extends ExperimentSummary {
  files: string[];
  seeds?: (number | null)[];
  methods?: MethodSummary[];
  claims?: ClaimResult[];
  claimMargin?: number;
}

export function writeFiguresSummary(experimentDir: string, summary: FiguresSummary): string {
  const path = join(experimentDir, FIGURES_DIR, EXPERIMENT_SUMMARY_JSON);
  writeJsonAtomic(path, summary);
  return path;
}

/** A figures folder's summary.json (e.g. `results/figures/wider-default/`), or null when it has none. */
export function readFiguresSummary(figuresDir: string): FiguresSummary | null {
  return readJsonIfPresent<FiguresSummary>(join(figuresDir, EXPERIMENT_SUMMARY_JSON));
}

function readJsonIfPresent<T>(path: string): T | null {
  return existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as T) : null;
}
