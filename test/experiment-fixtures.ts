/** The options of a smoke-preset experiment in a test's temporary folder (wasm, quiet, a shared teacher cache). */
import { join } from 'node:path';
import type { ExperimentOptions } from '../src/experiment/options.ts';
import { EXPERIMENTS } from '../experiments/registry.ts';
import { PRESETS } from '../experiments/presets.ts';

export function smokeOptions(root: string, out: string, extra: Partial<ExperimentOptions> = {}): ExperimentOptions {
  return {
    experiment: EXPERIMENTS.wider,
    preset: PRESETS.smoke,
    backend: 'wasm',
    resume: false,
    seed: 1,
    out: join(root, out),
    cacheDir: join(root, 'cache'),
    progress: false,
    log: () => {},
    ...extra,
  };
}
