/**
 * The experiment folder's experiment.json: which runs it holds, which one is the teacher, and the label each method
 * gets in figures and tables. When experiment.json is missing (a run killed before writing it), the reader takes the
 * runs from the sub-folders that hold a curve.csv, with the folder named "teacher" as teacher.
 */
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { writeJsonAtomic } from '../io/atomic-file.ts';
import { CURVE_CSV } from '../train/curve-log.ts';
import { UsageError } from '../usage-error.ts';
import type { ClaimSpec } from './claim-spec.ts';

export const EXPERIMENT_JSON = 'experiment.json';

export type RunRole = 'teacher' | 'net2net' | 'baseline';

/** One run of an experiment: its folder name, its part in the comparison, and its name in figures and tables. */
export interface RunDescription {
  run: string;
  role: RunRole;
  label: string;
}

/**
 * One more set of figures an experiment draws besides the paper's (minibatches, the teacher not charged): the same
 * panels against `x` (`<experiment>-<panel>-<x>[-charged]`), runs grown from the teacher starting at its cost when
 * `chargeTeacher` (src/figures/draw-experiment.ts).
 */
export interface FigureAxisSpec {
  x: 'minibatches' | 'compute' | 'wall';
  chargeTeacher: boolean;
}

const FIGURE_AXIS_NAMES: readonly string[] = ['minibatches', 'compute', 'wall'];

export interface ExperimentManifest {
  experiment: string;
  preset?: string;
  teacherRun?: string;
  runs: RunDescription[];
  description?: string;
  /** The dataset spec. */
  data?: string;
  /** The backend the runs trained on, and the experiment's --seed (figure captions). */
  backend?: string;
  /** Intra-op threads of the backend (a run's numbers depend on them as on the seed and backend); null: no setting. */
  threads?: number | null;
  /** The students' symmetry breaking (--noise or the experiment's): 'zero-sum', 'none' or a Gaussian scale. */
  noise?: string | number;
  /** The training precision (fp32, bf16, tf32); absent in folders written before it was recorded. */
  precision?: string;
  seed?: number;
  /** Draw the teacher's own curve as the from-scratch reference (fig. 6), besides its final accuracy. */
  drawTeacherCurve?: boolean;
  /** The paper's claims this experiment tests, and the margin above the teacher that `converges-faster` asks for. */
  claims?: ClaimSpec[];
  claimMargin?: number;
  /** Figures drawn besides the paper's (the experiment's `figureAxes`); absent: those only. */
  figureAxes?: FigureAxisSpec[];
  /** Notes about how the manifest was obtained (e.g. inferred from folders); not written. */
  notes: string[];
}

export function writeExperimentManifest(experimentDir: string, manifest: Omit<ExperimentManifest, 'notes'>): void {
  writeJsonAtomic(join(experimentDir, EXPERIMENT_JSON), manifest);
}

/** The folder's experiment.json as written, or null when there is none. */
export function readWrittenManifest(experimentDir: string): ExperimentManifest | null {
  const path = join(resolve(experimentDir), EXPERIMENT_JSON);
  return existsSync(path) ? parseManifest(readFileSync(path, 'utf8'), path) : null;
}

const ROLES: readonly RunRole[] = ['teacher', 'net2net', 'baseline'];

export function readExperimentManifest(experimentDir: string): ExperimentManifest {
  const dir = resolve(experimentDir);
  if (!existsSync(dir)) throw new UsageError(`experiment folder ${experimentDir} does not exist`);
  if (!statSync(dir).isDirectory()) throw new UsageError(`${experimentDir} is not a folder`);
  return readWrittenManifest(dir) ?? inferManifest(dir, experimentDir);
}

function parseManifest(text: string, path: string): ExperimentManifest {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new UsageError(`${path} is not valid JSON: ${(err as Error).message}`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new UsageError(`${path}: expected an object with "experiment" and "runs"`);
  }
  const record = raw as Record<string, unknown>;
  if (typeof record.experiment !== 'string' || record.experiment === '') {
    throw new UsageError(`${path}: "experiment" must be a non-empty string`);
  }
  if (!Array.isArray(record.runs)) throw new UsageError(`${path}: "runs" must be an array`);
  const runs = record.runs.map((entry, index): RunDescription => {
    const run = entry as Record<string, unknown>;
    if (typeof run !== 'object' || run === null || typeof run.run !== 'string' || run.run === '') {
      throw new UsageError(`${path}: runs[${index}] needs a "run" folder name`);
    }
    if (typeof run.role !== 'string' || !ROLES.includes(run.role as RunRole)) {
      throw new UsageError(
        `${path}: runs[${index}] ("${run.run}") has role ${JSON.stringify(run.role)}; accepted: ${ROLES.join(', ')}`,
      );
    }
    const label = typeof run.label === 'string' && run.label !== '' ? run.label : run.run;
    return { run: run.run, role: run.role as RunRole, label };
  });
  const teacherRun = typeof record.teacherRun === 'string' ? record.teacherRun : undefined;
  if (teacherRun !== undefined && !runs.some((run) => run.run === teacherRun)) {
    throw new UsageError(`${path}: teacherRun "${teacherRun}" is not one of the runs`);
  }
  return {
    experiment: record.experiment,
    preset: typeof record.preset === 'string' ? record.preset : undefined,
    description: typeof record.description === 'string' ? record.description : undefined,
    data: typeof record.data === 'string' ? record.data : undefined,
    backend: typeof record.backend === 'string' ? record.backend : undefined,
    precision: typeof record.precision === 'string' ? record.precision : undefined,
    seed: typeof record.seed === 'number' ? record.seed : undefined,
    ...(typeof record.threads === 'number' || record.threads === null ? { threads: record.threads } : {}),
    ...(typeof record.noise === 'string' || typeof record.noise === 'number' ? { noise: record.noise } : {}),
    drawTeacherCurve: record.drawTeacherCurve === true,
    claims: Array.isArray(record.claims) ? (record.claims as ClaimSpec[]) : undefined,
    claimMargin: typeof record.claimMargin === 'number' ? record.claimMargin : undefined,
    ...(record.figureAxes === undefined ? {} : { figureAxes: parseFigureAxes(record.figureAxes, path) }),
    teacherRun: teacherRun ?? runs.find((run) => run.role === 'teacher')?.run,
    runs,
    notes: [],
  };
}

function parseFigureAxes(raw: unknown, path: string): FigureAxisSpec[] {
  const bad = () =>
    new UsageError(
      `${path}: "figureAxes" must be a list of { x: ${FIGURE_AXIS_NAMES.join('|')}, chargeTeacher: boolean }`,
    );
  if (!Array.isArray(raw)) throw bad();
  return raw.map((entry): FigureAxisSpec => {
    const axis = entry as Record<string, unknown>;
    if (typeof axis !== 'object' || axis === null) throw bad();
    if (typeof axis.x !== 'string' || !FIGURE_AXIS_NAMES.includes(axis.x)) throw bad();
    if (typeof axis.chargeTeacher !== 'boolean') throw bad();
    return { x: axis.x as FigureAxisSpec['x'], chargeTeacher: axis.chargeTeacher };
  });
}

function inferManifest(dir: string, shownDir: string): ExperimentManifest {
  const runNames = readdirSync(dir)
    .filter((name) => existsSync(join(dir, name, CURVE_CSV)))
    .sort();
  if (runNames.length === 0) {
    throw new UsageError(`${shownDir} is not an experiment folder: it has no experiment.json and no <run>/curve.csv`);
  }
  const runs = runNames.map((run): RunDescription => ({
    run,
    role: run === 'teacher' ? 'teacher' : 'baseline',
    label: run,
  }));
  return {
    experiment: basename(dir),
    teacherRun: runs.find((run) => run.role === 'teacher')?.run,
    runs,
    notes: [`${shownDir} has no experiment.json; runs taken from the folders with a curve.csv: ${runNames.join(', ')}`],
  };
}
