/**
 * An experiment over several seeds (`--seeds 1,2,3`): the experiment once per seed, each in `<out>/seed-<s>/` with its
 * own teacher (cached per configuration, so a rerun reuses them), then the figures and summary of `<out>` drawn over
 * all the seeds (mean curves with min-max bands; every run and seed in summary.json; the paper's claims per seed).
 * `--resume` continues each seed's folder as a single-seed run would.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { ExperimentAnalysis } from '../analysis/experiment-analysis.ts';
import { drawExperimentFigures } from '../figures/draw-experiment.ts';
import { readSeedsManifest, seedFolder, writeSeedsManifest } from '../run-folder/seed-folders.ts';
import { UsageError } from '../usage-error.ts';
import type { ExperimentOptions } from './options.ts';
import { defaultOutDir } from './options.ts';
import type { ExperimentResult } from './run-experiment.ts';
import { runExperiment } from './run-experiment.ts';

export interface SeedsResult {
  out: string;
  perSeed: { seed: number; result: ExperimentResult }[];
  figures: string[];
  figuresDir?: string;
  analysis?: ExperimentAnalysis;
  wallSeconds: number;
}

export async function runExperimentSeeds(options: ExperimentOptions, seeds: readonly number[]): Promise<SeedsResult> {
  if (seeds.length === 0 || new Set(seeds).size !== seeds.length)
    throw new UsageError(`--seeds needs distinct seeds, got ${seeds.join(',')}`);
  const out = resolve(options.out ?? defaultOutDir(options.experiment.name, options.preset.name));
  const earlier = readSeedsManifest(out);
  if (earlier && !options.resume && !options.overwrite)
    throw new UsageError(
      `${out} holds an experiment over seeds ${earlier.seeds.join(',')}: use --resume or --overwrite`,
    );
  if (!earlier && existsSync(out) && !options.resume && !options.overwrite)
    throw new UsageError(`${out} already exists: use --resume or --overwrite, or another --out`);
  writeSeedsManifest(out, {
    experiment: options.experiment.name,
    preset: options.preset.name,
    seeds: [...new Set([...(earlier?.seeds ?? []), ...seeds])],
  });
  const started = performance.now();
  const perSeed: SeedsResult['perSeed'] = [];
  for (const seed of seeds) {
    const dir = seedFolder(out, seed);
    const resume = options.resume && existsSync(dir);
    const result = await runExperiment({ ...options, seed, out: dir, resume, figures: false });
    perSeed.push({ seed, result });
  }
  const log = options.log ?? ((line: string) => console.error(line));
  const wallSeconds = () => (performance.now() - started) / 1000;
  if (options.figures === false) return { out, perSeed, figures: [], wallSeconds: wallSeconds() };
  const drawn = await drawExperimentFigures(out, { log });
  return {
    out,
    perSeed,
    figures: drawn.files,
    figuresDir: drawn.figuresDir,
    analysis: drawn.analysis,
    wallSeconds: wallSeconds(),
  };
}
