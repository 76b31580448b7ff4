/**
 * What an experiment is, as data: the teacher's and the student's architecture (relative to a preset), and the
 * methods compared, each with how its initial model is made and its learning-rate multiplier.
 */
import type * as tf from '@tensorflow/tfjs';
import type { NoiseSpec, RecordSink } from '../src/index.ts';
import type { ModelOptions } from '../src/models/registry.ts';
import type { Preset } from './presets.ts';

export const EXPERIMENT_NAMES = ['wider', 'deeper', 'explore'] as const;
export type ExperimentName = (typeof EXPERIMENT_NAMES)[number];

/** Architecture options the experiment chooses; the runner adds the family, input shape, classes and seed. */
export type ArchitectureOptions = Pick<ModelOptions, 'width' | 'factorized' | 'extraPairs' | 'topPairs'>;

export interface MethodContext {
  /** The trained teacher (do not dispose: the runner owns it). */
  teacher: tf.LayersModel;
  /** A freshly initialized model of the student architecture with the given seed; the caller disposes it. */
  buildStudent: (seed: number) => tf.LayersModel;
  /** A batch of training images (Net2DeeperNet measures BatchNorm statistics on it). */
  trainImages: tf.Tensor4D;
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
  /** Whether the preset can afford this run (default: always). */
  enabled?: (preset: Preset) => boolean;
  /** Returns a new model; must not dispose or mutate the teacher. */
  makeInitialModel: (context: MethodContext) => tf.LayersModel;
}

export interface ExperimentDefinition {
  name: ExperimentName;
  description: string;
  teacherLabel: (preset: Preset) => string;
  teacher: (preset: Preset) => ArchitectureOptions;
  student: (preset: Preset) => ArchitectureOptions;
  /** Symmetry breaking of the widened units (see NoiseSpec). */
  noise: NoiseSpec;
  methods: MethodDefinition[];
}

/** Students learn at about a tenth of the teacher's initial rate (Net2Net, sec. 4). */
export const STUDENT_LR_MULTIPLIER = 0.1;
/**
 * A network trained from scratch gets the teacher's own recipe: at a tenth of it, the baseline would be handicapped
 * by the learning rate, not by its initialization.
 */
export const FROM_SCRATCH_LR_MULTIPLIER = 1;

/** The random-init baseline shared by every experiment: the student's architecture, trained from scratch. */
export function randomInitMethod(overrides: Partial<MethodDefinition> = {}): MethodDefinition {
  return {
    run: 'random-init',
    role: 'baseline',
    label: 'Random init',
    init: 'the student architecture, randomly initialized',
    learningRateMultiplier: FROM_SCRATCH_LR_MULTIPLIER,
    makeInitialModel: (c) => c.buildStudent(c.seed),
    ...overrides,
  };
}
