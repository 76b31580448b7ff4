/**
 * A run's `config.json`: everything that decides its curve (model, data, training, seeds, the teacher it grew from)
 * and where it ran. `--resume` continues a run only when the part that decides the curve is unchanged.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { OpenDatasetOptions } from '../data/open-dataset.ts';
import { writeJsonAtomic } from '../io/atomic-file.ts';
import type { ModelOptions } from '../models/registry.ts';
import { checkpointDir } from '../train/checkpoint.ts';
import type { TrainConfig } from '../train/trainer.ts';
import { UsageError } from '../usage-error.ts';
import type { RunRole } from './experiment-manifest.ts';
import type { OptimizerStateChoice } from './run-name.ts';

export const RUN_CONFIG_JSON = 'config.json';

/** The dataset options that decide which images a run sees (not how fast they are read). */
export type RunDataOptions = Pick<
  OpenDatasetOptions,
  'imageSize' | 'limitTrain' | 'limitVal' | 'augment' | 'valLabels'
>;

/** The seeds of one run, by what they draw. */
export interface RunSeeds {
  /** Initial weights of the run's architecture (random init; the reference a transformed model is checked against). */
  model: number;
  /** Order of the training data. */
  data: number;
  /** Random choices of the transform (which units a widened layer copies, the noise); null for the teacher. */
  transform: number | null;
}

export interface RunConfig {
  experiment: string;
  preset: string;
  run: string;
  role: RunRole;
  label: string;
  init: string;
  learningRateMultiplier: number;
  model: { family: string; options: ModelOptions };
  data: { spec: string; options: RunDataOptions };
  train: TrainConfig;
  /** The experiment's --seed, from which `seeds` derive. */
  seed: number;
  seeds: RunSeeds;
  backend: string;
  /** Intra-op threads of the backend (torch); null where it has no such setting. The curve depends on them. */
  threads?: number | null;
  /** The training precision (fp32, bf16, tf32); absent in configs written before it was recorded (fp32). */
  precision?: string;
  /** cuDNN benchmark mode (--cudnn-benchmark; acts on CUDA only); absent in runs recorded before it was. */
  cudnnBenchmark?: boolean;
  workers: number;
  gitCommit: string | null;
  /** The cache key of the teacher (for a student: the teacher it grew from). */
  teacherCacheKey?: string;
  /**
   * A grown student's initial optimizer state: 'fresh' slots or its teacher's mapped ones ('transfer'); absent for the
   * runs that do not take it (teacher, random init, the teacher trained further) and in runs recorded before it was.
   */
  optimizerState?: OptimizerStateChoice;
  /**
   * The symmetry breaking of a Net2WiderNet student's transform ('none', 'zero-sum' or the Gaussian's relative scale);
   * absent for the runs that take no noise and in runs recorded before it was.
   */
  noise?: string | number;
}

/** JSON with sorted keys, so equal configurations give equal text. */
export function stableJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => a.localeCompare(b)))
      : v,
  );
}

/** The part of a run's config that must match for --resume to continue it (and that names a cached teacher). */
export function resumeKey(config: RunConfig): string {
  return stableJson({
    model: config.model,
    data: config.data,
    train: { ...config.train, checkpointEvery: 0 },
    // A student continues only from the teacher it was made from.
    teacher: config.role === 'teacher' ? null : (config.teacherCacheKey ?? null),
    // fp32 (or unrecorded) leaves the key as it was before precision was recorded.
    ...(config.precision !== undefined && config.precision !== 'fp32' ? { precision: config.precision } : {}),
    // Fresh state (or unrecorded) leaves it as it was before; the teacher's key never has it.
    ...(config.optimizerState === 'transfer' ? { optimizerState: config.optimizerState } : {}),
    ...(config.noise !== undefined ? { noise: config.noise } : {}),
  });
}

export function readRunConfig(runDir: string): RunConfig | null {
  const path = join(runDir, RUN_CONFIG_JSON);
  return existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as RunConfig) : null;
}

/** Writes the run's config; when resuming a run with a checkpoint, refuses a configuration that differs. */
export function writeRunConfig(runDir: string, config: RunConfig, resume: boolean): void {
  const previous = readRunConfig(runDir);
  // A run recorded before its noise was cannot be checked on it: compare the rest.
  const comparable = previous?.noise === undefined ? { ...config, noise: undefined } : config;
  if (resume && previous && existsSync(checkpointDir(runDir)) && resumeKey(previous) !== resumeKey(comparable)) {
    throw new UsageError(
      `cannot resume '${runDir}': it was started with a different configuration (${join(runDir, RUN_CONFIG_JSON)}); ` +
        'use the same options, or --overwrite to start it again',
    );
  }
  writeJsonAtomic(join(runDir, RUN_CONFIG_JSON), config);
}
