/**
 * The run plan: an experiment definition and a preset become the list of runs, each with its model recipe, training
 * configuration, role, learning-rate multiplier and named seeds. Nothing here trains or reads files.
 */
import type { InputShape } from '../data/dataset.ts';
import type { ModelName, ModelOptions } from '../models/registry.ts';
import type { RunDescription } from '../run-folder/experiment-manifest.ts';
import type { RunDataOptions, RunSeeds } from '../run-folder/run-config.ts';
import type { TrainConfig } from '../train/trainer.ts';
import { INCEPTION_RMSPROP } from '../train/trainer.ts';
import { UsageError } from '../usage-error.ts';
import type { ArchitectureOptions, ExperimentDefinition, MethodDefinition, Preset } from './definition.ts';

/** A preset with the command line's overrides applied and its dataset known. */
export type ResolvedPreset = Preset & { data: string };

export interface PlannedRun extends RunDescription {
  init: string;
  learningRateMultiplier: number;
  model: { family: ModelName; options: ModelOptions };
  train: TrainConfig;
  seeds: RunSeeds;
  /** How a student's initial model is made; null for the teacher. */
  method: MethodDefinition | null;
}

export interface ExperimentPlan {
  experiment: ExperimentDefinition;
  preset: ResolvedPreset;
  data: { spec: string; options: RunDataOptions };
  /** Seed of the order of the training batch that the transforms measure BatchNorm statistics on. */
  transformBatchSeed: number;
  teacher: PlannedRun;
  students: PlannedRun[];
}

/** The seeds every run of an experiment derives from its --seed. */
export function experimentSeeds(seed: number): { teacher: RunSeeds; student: RunSeeds; transformBatch: number } {
  return {
    teacher: { model: seed, data: seed, transform: null },
    student: { model: seed + 3, data: seed + 1, transform: seed + 3 },
    transformBatch: seed + 2,
  };
}

/** The methods the plan runs: `only` (by run name) or every one the preset affords. */
export function selectMethods(
  definition: ExperimentDefinition,
  preset: Preset,
  only: readonly string[] | undefined,
): MethodDefinition[] {
  if (only === undefined) return definition.methods.filter((m) => m.enabled?.(preset) ?? true);
  const known = definition.methods.map((m) => m.run);
  for (const name of only)
    if (!known.includes(name))
      throw new UsageError(
        `--runs '${name}' is not a run of experiment '${definition.name}': accepted runs are ${known.join(', ')}`,
      );
  return definition.methods.filter((m) => only.includes(m.run));
}

/** The dataset options of the plan: the preset's, the image size only where the data has a choice. */
export function runDataOptions(preset: ResolvedPreset): RunDataOptions {
  const imageFolder = /^(imagenet|folder):/.test(preset.data);
  return {
    ...(imageFolder && preset.imageSize !== undefined ? { imageSize: preset.imageSize } : {}),
    ...(preset.limitTrain !== undefined ? { limitTrain: preset.limitTrain } : {}),
    ...(preset.limitVal !== undefined ? { limitVal: preset.limitVal } : {}),
    ...(preset.augment !== undefined ? { augment: preset.augment } : {}),
  };
}

function trainConfig(preset: ResolvedPreset, steps: number, learningRate: number, dataSeed: number): TrainConfig {
  return {
    steps,
    batchSize: preset.batchSize,
    optimizer: { ...INCEPTION_RMSPROP, learningRate, weightDecay: preset.weightDecay },
    schedule: preset.schedule,
    evalEvery: preset.evalEvery,
    checkpointEvery: preset.checkpointEvery,
    evalBatchSize: preset.evalBatchSize,
    dataSeed,
  };
}

export interface PlanInput {
  definition: ExperimentDefinition;
  preset: ResolvedPreset;
  seed: number;
  only?: readonly string[];
  /** The dataset's image shape and class count. */
  inputShape: InputShape;
  classes: number;
}

export function planExperiment(input: PlanInput): ExperimentPlan {
  const { definition, preset } = input;
  const seeds = experimentSeeds(input.seed);
  const model = (arch: ArchitectureOptions, seed: number) => ({
    family: preset.model,
    options: {
      ...arch,
      widthScope: preset.widthScope,
      inputShape: [...input.inputShape] as [number, number, number],
      classes: input.classes,
      seed,
    },
  });
  const teacher: PlannedRun = {
    run: 'teacher',
    role: 'teacher',
    label: definition.teacherLabel(preset),
    init: 'random initialization',
    learningRateMultiplier: 1,
    model: model(definition.teacher(preset), seeds.teacher.model),
    train: trainConfig(preset, preset.teacherSteps, preset.learningRate, seeds.teacher.data),
    seeds: seeds.teacher,
    method: null,
  };
  const students = selectMethods(definition, preset, input.only).map((method): PlannedRun => ({
    run: method.run,
    role: method.role,
    label: method.label,
    init: method.init,
    learningRateMultiplier: method.learningRateMultiplier,
    model: model(
      method.continuesTeacher ? definition.teacher(preset) : definition.student(preset),
      seeds.student.model,
    ),
    train: trainConfig(
      preset,
      preset.studentSteps,
      preset.learningRate * method.learningRateMultiplier,
      seeds.student.data,
    ),
    seeds: seeds.student,
    method,
  }));
  return {
    experiment: definition,
    preset,
    data: { spec: preset.data, options: runDataOptions(preset) },
    transformBatchSeed: seeds.transformBatch,
    teacher,
    students,
  };
}
