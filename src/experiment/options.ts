/** What one experiment invocation asks for: the command line's options, typed once, down to the runner. */
import { join } from 'node:path';
import type { BackendChoice } from '../backend/backend.ts';
import type { PrecisionChoice } from '../backend/precision.ts';
import type { NoiseSpec } from '../net2net/noise.ts';
import type { OptimizerStateChoice } from '../run-folder/run-name.ts';
import { UsageError } from '../usage-error.ts';
import type { ExperimentDefinition, Preset, PresetOverrides } from './definition.ts';
import type { GrowthSettings, ResolvedPreset } from './run-plan.ts';
import { defaultGrowthSettings } from './run-plan.ts';

export interface ExperimentOptions {
  experiment: ExperimentDefinition;
  preset: Preset;
  /** The preset's values the command line changes (--steps, --data, --lr, ...). */
  overrides?: PresetOverrides;
  backend: BackendChoice;
  /** Training precision; default NET2NET_PRECISION, else the preset's, else fp32. */
  precision?: PrecisionChoice;
  /** cuDNN benchmark mode (speed runs); default NET2NET_CUDNN_BENCHMARK, else off. */
  cudnnBenchmark?: boolean;
  /** Default results/<experiment>[-<preset>]. */
  out?: string;
  /** Continue the runs found in `out` (finished runs are kept, others continue from their checkpoint). */
  resume: boolean;
  /** Replace the runs found in `out` instead of refusing to. */
  overwrite?: boolean;
  seed: number;
  /** Data-parallel worker threads (wasm or cpu backend); 1 = train on this thread. */
  workers?: number;
  /**
   * On the torch backend, record a training step natively once per batch shape and replay it (default true; the
   * curves are bit-identical either way, so it is not part of a run's config).
   */
  capture?: boolean;
  /** Image folders: decode worker threads (default: half the cores, 1 to 4; 0 = this thread). */
  decodeThreads?: number;
  /**
   * Symmetry breaking of the students' new units; default: the experiment's ('zero-sum'). A list of two or more runs
   * each method that takes noise (Net2WiderNet) once per value (`net2wider@noise=none`, ...).
   */
  noise?: NoiseSpec | readonly NoiseSpec[];
  /**
   * Where the grown students' (Net2Net, random pad) RMSProp state starts: 'fresh' (default) or 'transfer' (the
   * teacher's, mapped through the transform); a list of two runs each of them once per value (`@state=transfer`).
   */
  optimizerState?: OptimizerStateChoice | readonly OptimizerStateChoice[];
  /** Accuracy above the teacher's final one that the `converges-faster` claim asks for (default 0.01). */
  claimMargin?: number;
  /** Run a preset sized for a GPU on a CPU backend anyway. */
  allowCpu?: boolean;
  /** Image folders: the labels file of a flat val/ (default: searched for). */
  valLabels?: string;
  /** Where trained teachers are cached; default DEFAULT_CACHE_DIR (results/cache). */
  cacheDir?: string;
  /**
   * Only these student runs (by run name; the teacher always runs). Default: every run the preset affords. Lets a
   * cluster train the methods of one experiment as separate jobs on one shared teacher.
   */
  only?: string[];
  log?: (line: string) => void;
  /** Progress bar / lines per run (default true). */
  progress?: boolean;
  /** Draw the figures at the end (default true). */
  figures?: boolean;
  /** Called after every step of every run (tests simulate a crash by throwing). */
  afterStep?: (run: string, step: number) => void;
}

export function defaultOutDir(experiment: string, preset: string): string {
  return join('results', preset === 'default' ? experiment : `${experiment}-${preset}`);
}

/** The preset with the command line's overrides applied. */
export function resolvePreset(preset: Preset, overrides: PresetOverrides = {}): ResolvedPreset {
  const defined = Object.fromEntries(Object.entries(overrides).filter(([, value]) => value !== undefined));
  const resolved = { ...preset, ...defined };
  if (resolved.data === null)
    throw new UsageError(
      `preset '${preset.name}' needs --data (e.g. --data imagenet:/data/ilsvrc2012, or folder:<dir>)`,
    );
  return { ...resolved, data: resolved.data };
}

const asList = <T>(value: T | readonly T[] | undefined): T[] | undefined =>
  value === undefined ? undefined : Array.isArray(value) ? [...(value as readonly T[])] : [value as T];

/**
 * The growth settings of the options (src/experiment/run-plan.ts): the lists given, else the experiment's defaults
 * (one value each unless its definition lists a sweep, as the growth study does).
 */
export function growthSettings(options: ExperimentOptions): GrowthSettings {
  const defaults = defaultGrowthSettings(options.experiment);
  return {
    optimizerStates: asList(options.optimizerState) ?? [...defaults.optimizerStates],
    noises: asList(options.noise) ?? [...defaults.noises],
  };
}
