/**
 * `npm run figures -- <dir> --current-claims`: an experiment folder written before a claim was added or changed gets
 * the claims its experiment's definition lists now (for its preset), in every seed's experiment.json, so the
 * figures and summary check today's claims on yesterday's curves. Claims are analysis: the curves stay as they are.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { EXPERIMENTS } from '../../experiments/registry.ts';
import { PRESETS } from '../../experiments/presets.ts';
import type { ExperimentDefinition } from '../experiment/definition.ts';
import { plannedClaims } from '../experiment/planned-claims.ts';
import type { GrowthSettings } from '../experiment/run-plan.ts';
import { defaultGrowthSettings } from '../experiment/run-plan.ts';
import type { NoiseSpec } from '../net2net/noise.ts';
import type { OptimizerStateChoice } from '../run-folder/run-name.ts';
import { parseNoiseText, parseRunName } from '../run-folder/run-name.ts';
import type { ExperimentManifest } from '../run-folder/experiment-manifest.ts';
import { EXPERIMENT_JSON, readWrittenManifest } from '../run-folder/experiment-manifest.ts';
import { writeJsonAtomic } from '../io/atomic-file.ts';
import { readSeedsManifest, seedFolder } from '../run-folder/seed-folders.ts';
import { UsageError } from '../usage-error.ts';

/**
 * The growth settings the folder ran with, as far as its claims' run names depend on them: the noise list
 * experiment.json records (`none,zero-sum,0.01`, or one value; the definition's when it records none) and the
 * optimizer states its run names sweep (fresh when none does).
 */
function recordedGrowth(manifest: ExperimentManifest, definition: ExperimentDefinition): GrowthSettings {
  const noises = (manifest.noise === undefined ? [] : String(manifest.noise).split(',')).map((text) =>
    parseNoiseText(text.trim()),
  );
  const states = [
    ...new Set(manifest.runs.flatMap((r) => parseRunName(r.run).optimizerState ?? [])),
  ] as OptimizerStateChoice[];
  return {
    optimizerStates: states.length > 0 ? states : ['fresh'],
    noises:
      noises.length > 0 && noises.every((n) => n !== null)
        ? (noises as NoiseSpec[])
        : [...defaultGrowthSettings(definition).noises],
  };
}

/** Rewrites the claims of `out`'s experiment.json (each seed's, for a multi-seed folder); returns the folders. */
export function applyCurrentClaims(out: string): string[] {
  const seeds = readSeedsManifest(out);
  const folders = seeds === null ? [out] : seeds.seeds.map((seed) => seedFolder(out, seed));
  const rewritten: string[] = [];
  for (const dir of folders) {
    const manifest = readWrittenManifest(dir);
    if (manifest === null) continue;
    const definition = (EXPERIMENTS as Record<string, (typeof EXPERIMENTS)[keyof typeof EXPERIMENTS]>)[
      manifest.experiment
    ];
    const preset = (PRESETS as Record<string, (typeof PRESETS)[keyof typeof PRESETS]>)[manifest.preset ?? 'default'];
    if (!definition || !preset)
      throw new UsageError(
        `${join(dir, 'experiment.json')}: no current definition of experiment '${manifest.experiment}' ` +
          `with preset '${String(manifest.preset)}'`,
      );
    const path = join(dir, EXPERIMENT_JSON);
    const written = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
    writeJsonAtomic(path, {
      ...written,
      claims: plannedClaims(definition, preset, recordedGrowth(manifest, definition)),
    });
    rewritten.push(dir);
  }
  if (rewritten.length === 0) throw new UsageError(`${out}: no experiment.json to take the current claims`);
  return rewritten;
}
