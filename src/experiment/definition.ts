/**
 * What an experiment and a preset are, as types. The experiments themselves (plain data) live in the top-level
 * `experiments/` folder; the runner in this folder gets them as values and knows none by name.
 */
import type * as tf from '@tensorflow/tfjs';
import type { ModelName, ModelOptions } from '../models/registry.ts';
import type { NoiseSpec } from '../net2net/noise.ts';
import type { RecordSink } from '../net2net/transform-record.ts';
import type { LearningRateSchedule } from '../train/schedule.ts';

/** Which model family, data, widths, steps and intervals the runs of an experiment use. */
export interface Preset {
  name: string;
  description: string;
  model: ModelName;
  /** Channel factor of the "standard" network of the experiments (the paper's width 1). */
  baseWidth: number;
  widthScope: 'modules' | 'all';
  /** Dataset spec used when --data is not given; null: --data is required. */
  data: string | null;
  /** Image side for image folders (ImageNet); fixed-size datasets ignore it. */
  imageSize?: number;
  limitTrain?: number;
  limitVal?: number;
  augment?: boolean;
  batchSize: number;
  evalBatchSize: number;
  /** Batch of training images that Net2DeeperNet measures BatchNorm statistics on, and the check batch size. */
  transformBatchSize: number;
  teacherSteps: number;
  studentSteps: number;
  evalEvery: number;
  checkpointEvery: number;
  /** The teacher's initial learning rate; students use it times their method's multiplier. */
  learningRate: number;
  schedule: LearningRateSchedule;
  weightDecay: number;
}

/** What the command line may change in a preset. */
export type PresetOverrides = Partial<
  Pick<
    Preset,
    | 'data'
    | 'teacherSteps'
    | 'studentSteps'
    | 'batchSize'
    | 'evalEvery'
    | 'checkpointEvery'
    | 'learningRate'
    | 'imageSize'
    | 'limitTrain'
    | 'limitVal'
  >
>;

/** Architecture options the experiment chooses; the runner adds the family, input shape, classes and seed. */
export type ArchitectureOptions = Pick<ModelOptions, 'width' | 'factorized' | 'extraPairs' | 'topPairs'>;

export interface MethodContext {
  /** The trained teacher (do not dispose: the runner owns it). */
  teacher: tf.LayersModel;
  /** A freshly initialized model of this run's architecture with the given seed; the caller disposes it. */
  buildStudent: (seed: number) => tf.LayersModel;
  /** A batch of training images (Net2DeeperNet measures BatchNorm statistics on it). */
  trainImages: tf.Tensor4D;
  /** The transform's seed (also the seed `buildStudent` gets for a random initialization). */
  seed: number;
  noise: NoiseSpec;
  record: RecordSink;
}

export interface MethodDefinition {
  /** Run folder name. */
  run: string;
  role: 'net2net' | 'baseline';
  label: string;
  /** How the initial model is made; recorded in config.json. */
  init: string;
  /** Times the teacher's initial learning rate. */
  learningRateMultiplier: number;
  /** The run keeps the teacher's architecture (the teacher trained further) instead of the student's. */
  continuesTeacher?: boolean;
  /** Whether the preset can afford this run (default: always). */
  enabled?: (preset: Preset) => boolean;
  /** Returns a new model; must not dispose or mutate the teacher. */
  makeInitialModel: (context: MethodContext) => tf.LayersModel;
}

export interface ExperimentDefinition {
  name: string;
  description: string;
  teacherLabel: (preset: Preset) => string;
  teacher: (preset: Preset) => ArchitectureOptions;
  student: (preset: Preset) => ArchitectureOptions;
  /** Symmetry breaking of the widened units (see NoiseSpec). */
  noise: NoiseSpec;
  methods: MethodDefinition[];
}
