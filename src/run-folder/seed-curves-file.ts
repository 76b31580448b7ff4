/**
 * `seed-curves.json`, written beside the figures: every seed's curves in the columns the figures and the summary use,
 * with the experiment's manifest, so that `npm run figures -- <figures folder>` redraws the figures and recomputes the
 * summary from this one file when the seed folders are gone (the committed `results/figures/*` folders).
 * Rows are arrays in the order of `columns`; an empty cell is null.
 */
import { join } from 'node:path';
import type { CurveColumn, CurveRow } from '../train/curve-log.ts';
import { COMPUTE_COLUMNS, CURVE_COLUMNS } from '../train/curve-log.ts';
import { UsageError } from '../usage-error.ts';
import type { ExperimentManifest } from './experiment-manifest.ts';
import type { SeedReading } from './seed-folders.ts';
import { writeFileAtomic } from '../io/atomic-file.ts';
import { readJsonIfPresent } from './summary-files.ts';

export const SEED_CURVES_JSON = 'seed-curves.json';
const FORMAT = 'net2net-seed-curves/1';
/** The curve columns the analysis reads (the others are left out to keep the file small); older files lack val_loss. */
export const SEED_CURVE_COLUMNS = ['step', 'images', 'train_acc', 'val_acc', 'val_loss', 'wall_s'] as const;
/**
 * The compute columns, written after those when some row has a value in them (curves from before the compute columns
 * give a file without them, as such files were written then); a file without them reads them as null.
 */
export const SEED_CURVE_COMPUTE_COLUMNS = COMPUTE_COLUMNS;

function columnsOf(seeds: readonly SeedReading[]): CurveColumn[] {
  const rows = seeds.flatMap(({ reading }) => reading.curves.flatMap(({ curve }) => curve.rows));
  const present = SEED_CURVE_COMPUTE_COLUMNS.filter((column) => rows.some((row) => row[column] !== null));
  return [...SEED_CURVE_COLUMNS, ...present];
}

interface SeedCurvesFile {
  format: string;
  manifest: Omit<ExperimentManifest, 'notes' | 'seed'>;
  /** Every seed the experiment ran, started or not. */
  experimentSeeds: number[];
  columns: readonly string[];
  seeds: {
    seed: number | null;
    notes: string[];
    runs: { run: string; problems: string[]; rows: (number | null)[][] }[];
  }[];
}

export interface SeedCurvesReading {
  seeds: SeedReading[];
  experimentSeeds: number[];
}

function manifestOfAll(seeds: readonly SeedReading[]): SeedCurvesFile['manifest'] {
  const { notes: _notes, seed: _seed, ...first } = seeds[0]!.reading.manifest;
  const runs = new Map(seeds.flatMap((s) => s.reading.manifest.runs.map((r) => [r.run, r] as const)));
  return { ...first, runs: [...runs.values()] };
}

export function writeSeedCurvesFile(dir: string, seeds: readonly SeedReading[], experimentSeeds: number[]): string {
  const columns = columnsOf(seeds);
  const file: SeedCurvesFile = {
    format: FORMAT,
    manifest: manifestOfAll(seeds),
    experimentSeeds,
    columns,
    seeds: seeds.map(({ seed, reading }) => ({
      seed,
      notes: reading.manifest.notes,
      runs: reading.curves.map(({ run, curve }) => ({
        run: run.run,
        problems: curve.problems,
        rows: curve.rows.map((row) => columns.map((column) => row[column])),
      })),
    })),
  };
  const path = join(dir, SEED_CURVES_JSON);
  writeFileAtomic(path, compactJson(file));
  return path;
}

/** Indented JSON with each array of numbers (a curve row) on one line: a row per line keeps the file small and diffable. */
function compactJson(value: unknown): string {
  return (
    JSON.stringify(value, null, 2).replace(
      /\[\s+((?:-?[\d.e+-]+|null)(?:,\s+(?:-?[\d.e+-]+|null))*)\s+\]/g,
      (_, cells: string) => `[${cells.split(/,\s+/).join(', ')}]`,
    ) + '\n'
  );
}

function rowOf(cells: readonly (number | null)[], columns: readonly string[], path: string): CurveRow {
  const row = Object.fromEntries(CURVE_COLUMNS.map((column) => [column, null])) as Record<string, number | null>;
  columns.forEach((column, i) => (row[column] = cells[i] ?? null));
  if (typeof row.step !== 'number') throw new UsageError(`${path}: a row has no step`);
  return row as CurveRow;
}

/** The seeds as `readSeedReadings` gives them, from a figures folder's seed-curves.json; null when it has none. */
export function readSeedCurvesFile(dir: string): SeedCurvesReading | null {
  const path = join(dir, SEED_CURVES_JSON);
  const file = readJsonIfPresent<SeedCurvesFile>(path);
  if (file === null) return null;
  if (file.format !== FORMAT)
    throw new UsageError(`${path}: format ${JSON.stringify(file.format)}, expected ${FORMAT}`);
  const seeds = file.seeds.map(({ seed, notes, runs }): SeedReading => {
    const descriptions = runs.map(({ run }) => {
      const found = file.manifest.runs.find((r) => r.run === run);
      if (!found) throw new UsageError(`${path}: seed ${seed} has run '${run}', which the manifest does not list`);
      return found;
    });
    const manifest: ExperimentManifest = {
      ...file.manifest,
      runs: descriptions,
      notes,
      ...(seed === null ? {} : { seed }),
    };
    const curves = runs.map(({ run, problems, rows }, i) => ({
      run: descriptions[i]!,
      curve: {
        path: `${SEED_CURVES_JSON}#seed-${seed}/${run}`,
        problems,
        rows: rows.map((r) => rowOf(r, file.columns, path)),
      },
    }));
    return { seed, dir, reading: { manifest, curves } };
  });
  return { seeds, experimentSeeds: file.experimentSeeds };
}
