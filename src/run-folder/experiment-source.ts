/**
 * What `npm run figures -- <dir>` draws from: an experiment folder (one seed, or `seeds.json` with `seed-<s>/`
 * folders; figures go to `<dir>/figures/`), or a figures folder that holds `seed-curves.json` and no experiment
 * (the committed `results/figures/*`; figures are redrawn in place).
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { EXPERIMENT_JSON } from './experiment-manifest.ts';
import { readSeedCurvesFile } from './seed-curves-file.ts';
import type { SeedReading } from './seed-folders.ts';
import { readSeedReadings, readSeedsManifest, SEEDS_JSON } from './seed-folders.ts';
import { FIGURES_DIR } from './summary-files.ts';

export interface ExperimentSource {
  seeds: SeedReading[];
  /** Every seed the experiment ran (seeds.json), started or not; one seed's folder: that seed. */
  experimentSeeds: number[];
  /** Where the figures and summaries go. */
  figuresDir: string;
  /** True when read from seed-curves.json (then there is no seed folder to read, and no curves file to write). */
  fromCurvesFile: boolean;
}

export function readExperimentSource(dir: string): ExperimentSource {
  const root = resolve(dir);
  const isExperiment = existsSync(join(root, EXPERIMENT_JSON)) || existsSync(join(root, SEEDS_JSON));
  const file = isExperiment ? null : readSeedCurvesFile(root);
  if (file !== null) return { ...file, figuresDir: root, fromCurvesFile: true };
  const seeds = readSeedReadings(dir);
  const experimentSeeds = readSeedsManifest(dir)?.seeds ?? seeds.map((s) => s.seed ?? 0);
  return { seeds, experimentSeeds, figuresDir: join(root, FIGURES_DIR), fromCurvesFile: false };
}
