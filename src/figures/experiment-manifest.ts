/**
 * The experiment folder's experiment.json: which runs it holds, which one is the teacher, and the label each method
 * gets in figures and tables. When experiment.json is missing (a run killed before writing it), the runs are taken
 * from the sub-folders that hold a curve.csv, with the folder named by `teacherRun` (default "teacher") as teacher.
 */
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';

export type RunRole = 'teacher' | 'net2net' | 'baseline';

export interface ManifestRun {
  run: string;
  role: RunRole;
  label: string;
}

export interface ExperimentManifest {
  experiment: string;
  preset?: string;
  teacherRun?: string;
  runs: ManifestRun[];
  /** Notes about how the manifest was obtained (e.g. inferred from folders). */
  notes: string[];
}

/** The experiment folder cannot be read as one: the CLI reports it and exits with status 2. */
export class FiguresInputError extends Error {
  override name = 'FiguresInputError';
}

const ROLES: readonly RunRole[] = ['teacher', 'net2net', 'baseline'];

export function readExperimentManifest(experimentDir: string): ExperimentManifest {
  const dir = resolve(experimentDir);
  if (!existsSync(dir)) throw new FiguresInputError(`experiment folder ${experimentDir} does not exist`);
  if (!statSync(dir).isDirectory()) throw new FiguresInputError(`${experimentDir} is not a folder`);
  const manifestPath = join(dir, 'experiment.json');
  if (existsSync(manifestPath)) return parseManifest(readFileSync(manifestPath, 'utf8'), manifestPath);
  return inferManifest(dir, experimentDir);
}

function parseManifest(text: string, path: string): ExperimentManifest {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new FiguresInputError(`${path} is not valid JSON: ${(err as Error).message}`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new FiguresInputError(`${path}: expected an object with "experiment" and "runs"`);
  }
  const record = raw as Record<string, unknown>;
  if (typeof record.experiment !== 'string' || record.experiment === '') {
    throw new FiguresInputError(`${path}: "experiment" must be a non-empty string`);
  }
  if (!Array.isArray(record.runs)) throw new FiguresInputError(`${path}: "runs" must be an array`);
  const runs = record.runs.map((entry, index): ManifestRun => {
    const run = entry as Record<string, unknown>;
    if (typeof run !== 'object' || run === null || typeof run.run !== 'string' || run.run === '') {
      throw new FiguresInputError(`${path}: runs[${index}] needs a "run" folder name`);
    }
    if (typeof run.role !== 'string' || !ROLES.includes(run.role as RunRole)) {
      throw new FiguresInputError(
        `${path}: runs[${index}] ("${run.run}") has role ${JSON.stringify(run.role)}; accepted: ${ROLES.join(', ')}`,
      );
    }
    const label = typeof run.label === 'string' && run.label !== '' ? run.label : run.run;
    return { run: run.run, role: run.role as RunRole, label };
  });
  const teacherRun = typeof record.teacherRun === 'string' ? record.teacherRun : undefined;
  if (teacherRun !== undefined && !runs.some((run) => run.run === teacherRun)) {
    throw new FiguresInputError(`${path}: teacherRun "${teacherRun}" is not one of the runs`);
  }
  return {
    experiment: record.experiment,
    preset: typeof record.preset === 'string' ? record.preset : undefined,
    teacherRun: teacherRun ?? runs.find((run) => run.role === 'teacher')?.run,
    runs,
    notes: [],
  };
}

function inferManifest(dir: string, shownDir: string): ExperimentManifest {
  const runNames = readdirSync(dir)
    .filter((name) => existsSync(join(dir, name, 'curve.csv')))
    .sort();
  if (runNames.length === 0) {
    throw new FiguresInputError(
      `${shownDir} is not an experiment folder: it has no experiment.json and no <run>/curve.csv`,
    );
  }
  const runs = runNames.map((run): ManifestRun => ({
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
