/**
 * What an experiment and a preset are, as types. The experiments themselves (plain data) live in the top-level
 * `experiments/` folder; the runner in this folder gets them as values and knows none by name.
 */
import type * as tf from '@tensorflow/tfjs';
import type { ModelName, ModelOptions } from '../models/registry.ts';
import type { NoiseSpec } from '../net2net/noise.ts';
import type { RecordSink } from '../net2net/transform-record.ts';
import type { LearningRateSchedule } from '../train/schedule.ts';
import type { EvaluationConfig } from '../train/trainer.ts';
import type { ClaimSpec } from '../run-folder/claim-spec.ts';
import type { PrecisionChoice } from '../backend/precision.ts';
import type { FigureAxisSpec } from '../run-folder/experiment-manifest.ts';
import type { OptimizerStateChoice } from '../run-folder/run-name.ts';

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
  /** Images per class x classes of the preservation check, and its batch size. */
  transformBatchSize: number;
  /**
   * Training images Net2DeeperNet measures its inserted BatchNorm statistics on (averaged over batches of the
   * training batch size); default `transformBatchSize`.
   */
  statisticsImages?: number;
  teacherSteps: number;
  studentSteps: number;
  evalEvery: number;
  checkpointEvery: number;
  /** The teacher's initial learning rate; students use it times their method's multiplier. */
  learningRate: number;
  /**
   * The decay of every run's learning rate. `{ kind: 'anneal-teacher', to }` is the paper's reading: the teacher's
   * rate decays exponentially to `to` x its initial rate over the teacher's own steps, so a student starting at 1/10
   * of the initial rate follows an annealed teacher instead of a rate drop; students decay at the same per-epoch rate.
   */
  schedule: LearningRateSchedule | { kind: 'anneal-teacher'; to: number };
  weightDecay: number;
  /** How evaluations measure the weights (BatchNorm statistics; the training-accuracy sample). */
  evaluation: EvaluationConfig;
  /**
   * Absolute learning rates the students that sweep (Net2Net and random pad) each run at, as in fig. 4; absent: one
   * run each at the teacher's rate x their multiplier.
   */
  studentLearningRates?: number[];
  /** BatchNormalization momentum of every built network (default TensorFlow.js's 0.99). */
  batchNormMomentum?: number;
  /** Training precision when neither --precision nor NET2NET_PRECISION says (default fp32; experiments/README.md). */
  precision?: PrecisionChoice;
  /** Sized for a GPU: refused on a CPU backend unless --allow-cpu. */
  needsGpu?: boolean;
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
    | 'studentLearningRates'
    | 'batchNormMomentum'
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
  /** The runs' training batch size: Net2DeeperNet averages BatchNorm statistics over batches of it. */
  trainBatchSize: number;
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
  /** The run's architecture when it is not the experiment's student (explore grows two different students). */
  architecture?: (preset: Preset) => ArchitectureOptions;
  /** The run repeats at each of the preset's `studentLearningRates` (fig. 4's sweep). */
  sweepsLearningRate?: boolean;
  /**
   * The run is grown from the teacher and can start from its mapped optimizer state (`--optimizer-state`): it takes
   * that setting, and repeats at each value of a list.
   */
  takesOptimizerState?: boolean;
  /** The run's transform uses `MethodContext.noise` (Net2WiderNet): it repeats at each value of a `--noise` list. */
  takesNoise?: boolean;
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
  /** Symmetry breaking of the widened units (see NoiseSpec); --noise replaces it. */
  noise: NoiseSpec;
  methods: MethodDefinition[];
  /** Draw the teacher's own curve (the original model trained from scratch) as the reference, as fig. 6 does. */
  drawTeacherCurve?: boolean;
  /** The paper's claims this experiment tests (src/run-folder/claim-spec.ts; checked by src/analysis/claims.ts). */
  claims?: ClaimSpec[];
  /**
   * What happens at growth, swept by default (`--optimizer-state`, `--noise` replace a list): absent lists are one
   * value, fresh state and `noise`.
   */
  growth?: { optimizerStates?: readonly OptimizerStateChoice[]; noises?: readonly NoiseSpec[] };
  /**
   * Figures drawn at the end of a run besides the paper's (validation, training, zoom against minibatches): the same
   * panels against each of these axes (recorded in experiment.json, so `npm run figures` redraws the same set).
   */
  figureAxes?: readonly FigureAxisSpec[];
  /**
   * The label of a swept run (default: the method's label, then `lr <rate>`, `<state> state`, `noise <n>` for each
   * setting the run sweeps). Only the swept settings are given.
   */
  sweepLabel?: (method: MethodDefinition, settings: SweptSettings) => string;
}

/** The settings a run sweeps (`sweepLabel`): those with more than one value in this experiment. */
export interface SweptSettings {
  learningRate?: number;
  optimizerState?: OptimizerStateChoice;
  noise?: NoiseSpec;
}
