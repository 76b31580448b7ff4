/**
 * An experiment run over several seeds (`--seeds 1,2,3`): one experiment folder per seed, `<out>/seed-<s>/`, each a
 * complete experiment (its own teacher, cached per configuration), and `<out>/seeds.json` listing them. Figures and
 * the summary of `<out>` aggregate over the seeds. A plain experiment folder reads as one seed. `readSeedReadings`
 * returns the seeds whose folder has started; `seeds.json` lists every seed the experiment ran.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { writeJsonAtomic } from '../io/atomic-file.ts';
import { UsageError } from '../usage-error.ts';
import type { ExperimentCurves } from './experiment-curves.ts';
import { readExperimentCurves } from './experiment-curves.ts';

export const SEEDS_JSON = 'seeds.json';

export interface SeedsManifest {
  experiment: string;
  preset: string;
  seeds: number[];
}

export function seedFolder(out: string, seed: number): string {
  return join(out, `seed-${seed}`);
}

export function writeSeedsManifest(out: string, manifest: SeedsManifest): void {
  writeJsonAtomic(join(out, SEEDS_JSON), manifest);
}

export function readSeedsManifest(out: string): SeedsManifest | null {
  const path = join(resolve(out), SEEDS_JSON);
  if (!existsSync(path)) return null;
  const raw = JSON.parse(readFileSync(path, 'utf8')) as Partial<SeedsManifest>;
  if (!Array.isArray(raw.seeds) || !raw.seeds.every((s) => Number.isInteger(s)))
    throw new UsageError(`${path}: "seeds" must be a list of integers`);
  return { experiment: String(raw.experiment), preset: String(raw.preset), seeds: raw.seeds };
}

export interface SeedReading {
  /** The seed, or null for a plain folder whose experiment.json does not say. */
  seed: number | null;
  dir: string;
  reading: ExperimentCurves;
}

/** Each seed's experiment as read from its folder: the seed folders of a multi-seed run that exist, or the folder. */
export function readSeedReadings(out: string): SeedReading[] {
  const seeds = readSeedsManifest(out);
  if (seeds === null) {
    const reading = readExperimentCurves(out);
    return [{ seed: reading.manifest.seed ?? null, dir: resolve(out), reading }];
  }
  const present = seeds.seeds.filter((seed) => existsSync(join(seedFolder(out, seed), 'experiment.json')));
  if (present.length === 0) throw new UsageError(`${out}: none of the seed folders of ${SEEDS_JSON} has started`);
  return present.map((seed) => ({
    seed,
    dir: seedFolder(resolve(out), seed),
    reading: readExperimentCurves(seedFolder(out, seed)),
  }));
}
