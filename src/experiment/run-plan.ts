/**
 * The run plan: an experiment definition and a preset become the list of runs, each with its model recipe, training
 * configuration, role, learning-rate multiplier and named seeds. Nothing here trains or reads files.
 */
import type { InputShape } from '../data/dataset.ts';
import type { ModelName, ModelOptions } from '../models/registry.ts';
import type { NoiseSpec } from '../net2net/noise.ts';
import type { RunDescription } from '../run-folder/experiment-manifest.ts';
import type { RunDataOptions, RunSeeds } from '../run-folder/run-config.ts';
import type { OptimizerStateChoice } from '../run-folder/run-name.ts';
import { noiseText, runName } from '../run-folder/run-name.ts';
import type { LearningRateSchedule } from '../train/schedule.ts';
import type { TrainConfig } from '../train/trainer.ts';
import { INCEPTION_RMSPROP } from '../train/trainer.ts';
import { UsageError } from '../usage-error.ts';
import type {
  ArchitectureOptions,
  ExperimentDefinition,
  MethodDefinition,
  Preset,
  SweptSettings,
} from './definition.ts';

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
  /** Where the run's optimizer state starts from; only for the runs that take it (`takesOptimizerState`). */
  optimizerState?: OptimizerStateChoice;
  /** The symmetry breaking the student's transform gets; undefined for the teacher. */
  noise?: NoiseSpec;
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
export function experimentSeeds(seed: number): {
  teacher: RunSeeds;
  student: RunSeeds;
  transformBatch: number;
  evaluationSample: number;
} {
  return {
    teacher: { model: seed, data: seed, transform: null },
    student: { model: seed + 3, data: seed + 1, transform: seed + 3 },
    transformBatch: seed + 2,
    // Shared by every run: students are evaluated on the training sample their teacher was.
    evaluationSample: seed + 4,
  };
}

/** One student run of the plan: a method, at one value of each setting it sweeps (src/run-folder/run-name.ts). */
export interface MethodRun {
  method: MethodDefinition;
  /** Run folder name: the method's, with `@lr<rate>`, `@state=<s>`, `@noise=<n>` for the settings it sweeps. */
  run: string;
  label: string;
  /** Absolute rate of a sweep; undefined: the teacher's rate x the method's multiplier. */
  learningRate?: number;
  /** For the methods that take optimizer state. */
  optimizerState?: OptimizerStateChoice;
  noise: NoiseSpec;
}

/**
 * What the students start from at growth (`--optimizer-state`, `--noise`). One value applies to every run that takes
 * the setting and leaves run names as they are; two or more repeat those runs, one per value, all from the same
 * teacher and data order.
 */
export interface GrowthSettings {
  optimizerStates: readonly OptimizerStateChoice[];
  noises: readonly NoiseSpec[];
}

/**
 * The experiment's own lists (`growth` in its definition, e.g. the growth study's full grid), else fresh optimizer
 * state and the experiment's noise: the runs as they were before these settings existed.
 */
export function defaultGrowthSettings(definition: ExperimentDefinition): GrowthSettings {
  return {
    optimizerStates: definition.growth?.optimizerStates ?? ['fresh'],
    noises: definition.growth?.noises ?? [definition.noise],
  };
}

/** Lists with repeated values, or a list of several values no method of the experiment takes, are refused. */
function checkGrowthSettings(definition: ExperimentDefinition, growth: GrowthSettings): void {
  const lists = [
    { flag: 'optimizer-state', values: growth.optimizerStates.map(String), takes: 'takesOptimizerState' as const },
    { flag: 'noise', values: growth.noises.map(noiseText), takes: 'takesNoise' as const },
  ];
  for (const { flag, values, takes } of lists) {
    const repeated = values.find((value, index) => values.indexOf(value) !== index);
    if (repeated !== undefined) throw new UsageError(`--${flag} lists '${repeated}' twice`);
    if (values.length > 1 && !definition.methods.some((m) => m[takes]))
      throw new UsageError(
        `--${flag} '${values.join(',')}': no run of experiment '${definition.name}' takes this setting, so it ` +
          'cannot be swept (give one value)',
      );
  }
}

/** A swept run's label: the method's, then each setting it sweeps (or the experiment's own `sweepLabel`). */
function sweptLabel(definition: ExperimentDefinition, method: MethodDefinition, settings: SweptSettings): string {
  if (definition.sweepLabel && Object.values(settings).some((v) => v !== undefined))
    return definition.sweepLabel(method, settings);
  return [
    method.label,
    ...(settings.learningRate === undefined ? [] : [`lr ${settings.learningRate}`]),
    ...(settings.optimizerState === undefined ? [] : [`${settings.optimizerState} state`]),
    ...(settings.noise === undefined ? [] : [`noise ${noiseText(settings.noise)}`]),
  ].join(', ');
}

function expandMethod(
  definition: ExperimentDefinition,
  method: MethodDefinition,
  preset: Preset,
  growth: GrowthSettings,
): MethodRun[] {
  const definitionNoise = definition.noise;
  const rates = method.sweepsLearningRate && preset.studentLearningRates?.length ? preset.studentLearningRates : [];
  const states = method.takesOptimizerState ? growth.optimizerStates : [];
  // A run that does not take noise gets the one value given, else the experiment's (it does not use it).
  const noises = method.takesNoise ? growth.noises : [growth.noises.length === 1 ? growth.noises[0]! : definitionNoise];
  const sweptStates = states.length > 1;
  const sweptNoises = noises.length > 1;
  const runs: MethodRun[] = [];
  for (const learningRate of rates.length > 0 ? rates : [undefined])
    for (const optimizerState of states.length > 0 ? states : [undefined])
      for (const noise of noises) {
        const name = {
          method: method.run,
          learningRate,
          optimizerState: sweptStates ? optimizerState : undefined,
          noise: sweptNoises ? noise : undefined,
        };
        const label = sweptLabel(definition, method, {
          learningRate,
          optimizerState: name.optimizerState,
          noise: name.noise,
        });
        runs.push({ method, run: runName(name), label, learningRate, optimizerState, noise });
      }
  return runs;
}

/**
 * The student runs of the plan: every one the preset affords, or `only` (method names, which take all of a
 * method's runs, or run names such as `net2wider@lr0.005` or `net2wider@state=transfer`).
 */
export function selectMethodRuns(
  definition: ExperimentDefinition,
  preset: Preset,
  only: readonly string[] | undefined,
  growth: GrowthSettings = defaultGrowthSettings(definition),
): MethodRun[] {
  checkGrowthSettings(definition, growth);
  const expand = (m: MethodDefinition) => expandMethod(definition, m, preset, growth);
  if (only === undefined) return definition.methods.filter((m) => m.enabled?.(preset) ?? true).flatMap(expand);
  const all = definition.methods.flatMap(expand);
  for (const name of only)
    if (!all.some((r) => r.run === name || r.method.run === name))
      throw new UsageError(
        `--runs '${name}' is not a run of experiment '${definition.name}': accepted runs are ` +
          [...new Set(all.flatMap((r) => [r.method.run, r.run]))].join(', '),
      );
  return all.filter((r) => only.includes(r.run) || only.includes(r.method.run));
}

/** The dataset options of the plan: the preset's, the image size only where the data has a choice. */
export function runDataOptions(preset: ResolvedPreset, valLabels?: string): RunDataOptions {
  const imageFolder = /^(imagenet|folder):/.test(preset.data);
  return {
    ...(imageFolder && preset.imageSize !== undefined ? { imageSize: preset.imageSize } : {}),
    ...(preset.limitTrain !== undefined ? { limitTrain: preset.limitTrain } : {}),
    ...(preset.limitVal !== undefined ? { limitVal: preset.limitVal } : {}),
    ...(preset.augment !== undefined ? { augment: preset.augment } : {}),
    ...(imageFolder && valLabels !== undefined ? { valLabels } : {}),
  };
}

/** A preset's schedule as the trainer takes it: 'anneal-teacher' becomes a decay over the teacher's epochs. */
export function runSchedule(preset: ResolvedPreset, numTrain: number): LearningRateSchedule {
  const schedule = preset.schedule;
  if (schedule.kind !== 'anneal-teacher') return schedule;
  const teacherEpochs = (preset.teacherSteps * preset.batchSize) / numTrain;
  return { kind: 'exponential', rate: schedule.to, everyEpochs: teacherEpochs, staircase: false };
}

function trainConfig(
  preset: ResolvedPreset,
  schedule: LearningRateSchedule,
  steps: number,
  learningRate: number,
  seeds: { data: number; evaluationSample: number },
): TrainConfig {
  return {
    steps,
    batchSize: preset.batchSize,
    optimizer: { ...INCEPTION_RMSPROP, learningRate, weightDecay: preset.weightDecay },
    schedule,
    evalEvery: preset.evalEvery,
    checkpointEvery: preset.checkpointEvery,
    evalBatchSize: preset.evalBatchSize,
    dataSeed: seeds.data,
    evaluation: { ...preset.evaluation, sampleSeed: seeds.evaluationSample },
  };
}

export interface PlanInput {
  definition: ExperimentDefinition;
  preset: ResolvedPreset;
  seed: number;
  only?: readonly string[];
  /** The dataset's image shape, class count and training-set size. */
  inputShape: InputShape;
  classes: number;
  numTrain: number;
  /** Image folders: the labels file of a flat val/ (decides the validation labels, so it is part of the plan). */
  valLabels?: string;
  /** Default: fresh state and the experiment's noise. */
  growth?: GrowthSettings;
}

export function planExperiment(input: PlanInput): ExperimentPlan {
  const { definition, preset } = input;
  const seeds = experimentSeeds(input.seed);
  const schedule = runSchedule(preset, input.numTrain);
  const model = (arch: ArchitectureOptions, seed: number) => ({
    family: preset.model,
    options: {
      ...arch,
      widthScope: preset.widthScope,
      inputShape: [...input.inputShape] as [number, number, number],
      classes: input.classes,
      seed,
      ...(preset.batchNormMomentum === undefined ? {} : { batchNormMomentum: preset.batchNormMomentum }),
    },
  });
  const teacher: PlannedRun = {
    run: 'teacher',
    role: 'teacher',
    label: definition.teacherLabel(preset),
    init: 'random initialization',
    learningRateMultiplier: 1,
    model: model(definition.teacher(preset), seeds.teacher.model),
    train: trainConfig(preset, schedule, preset.teacherSteps, preset.learningRate, {
      data: seeds.teacher.data,
      evaluationSample: seeds.evaluationSample,
    }),
    seeds: seeds.teacher,
    method: null,
  };
  const students = selectMethodRuns(definition, preset, input.only, input.growth).map(
    ({ method, run, label, learningRate, optimizerState, noise }): PlannedRun => {
      const architecture =
        method.architecture?.(preset) ??
        (method.continuesTeacher ? definition.teacher(preset) : definition.student(preset));
      const rate = learningRate ?? preset.learningRate * method.learningRateMultiplier;
      return {
        run,
        role: method.role,
        label,
        init: method.init,
        learningRateMultiplier: rate / preset.learningRate,
        model: model(architecture, seeds.student.model),
        train: trainConfig(preset, schedule, preset.studentSteps, rate, {
          data: seeds.student.data,
          evaluationSample: seeds.evaluationSample,
        }),
        seeds: seeds.student,
        method,
        ...(optimizerState === undefined ? {} : { optimizerState }),
        noise,
      };
    },
  );
  return {
    experiment: definition,
    preset,
    data: { spec: preset.data, options: runDataOptions(preset, input.valLabels) },
    transformBatchSeed: seeds.transformBatch,
    teacher,
    students,
  };
}
