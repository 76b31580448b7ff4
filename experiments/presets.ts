/**
 * Experiment presets: which model family, data, widths, steps and intervals a run uses. `smoke` is for tests
 * (seconds), `default` (no --preset) shows the effect on the committed Fashion-MNIST subset within minutes on two
 * CPU cores, `cpu` runs the small family at the paper's widths on the full Fashion-MNIST on two CPU cores, `paper` is
 * the full Inception-BN on ImageNet at 224 with the BN-Inception recipe (a GPU). What each costs, measured, is in
 * experiments/README.md ("Presets and what they cost").
 */
import type { Preset } from '../src/experiment/definition.ts';

export const PRESET_NAMES = ['smoke', 'default', 'cpu', 'paper'] as const;
export type PresetName = (typeof PRESET_NAMES)[number];

export const PRESETS: Record<PresetName, Preset & { name: PresetName }> = {
  smoke: {
    name: 'smoke',
    description: 'seconds: tiny synthetic images, inception-bn-small at a tiny width, a few steps of every run',
    model: 'inception-bn-small',
    baseWidth: 0.1,
    widthScope: 'all',
    data: 'synthetic:12x12x1:4:64:32',
    batchSize: 8,
    evalBatchSize: 32,
    transformBatchSize: 16,
    statisticsImages: 32,
    teacherSteps: 4,
    studentSteps: 4,
    evalEvery: 2,
    checkpointEvery: 2,
    learningRate: 0.01,
    schedule: { kind: 'constant' },
    weightDecay: 4e-5,
    evaluation: { batchNorm: 'precise', trainSampleExamples: 16 },
  },
  default: {
    name: 'default',
    description:
      'minutes on two CPU cores: the committed Fashion-MNIST subset (10k/2k, all 2k validated), inception-bn-small ' +
      'with every conv at width 0.25 as the standard network',
    model: 'inception-bn-small',
    baseWidth: 0.25,
    widthScope: 'all',
    data: 'fashion-mnist',
    batchSize: 32,
    evalBatchSize: 250,
    transformBatchSize: 256,
    // 900 teacher minibatches (~2.9 epochs): at 600 wider's narrow teacher was not yet trained (experiments/README.md).
    teacherSteps: 900,
    studentSteps: 200,
    evalEvery: 25,
    checkpointEvery: 100,
    // The Inception rate, halved every epoch. Evaluations re-estimate BatchNorm statistics first: with the moving
    // averages the validation accuracy of this schedule lags the weights badly early on (experiments/README.md,
    // "Evaluation").
    learningRate: 0.045,
    schedule: { kind: 'exponential', rate: 0.5, everyEpochs: 1, staircase: false },
    weightDecay: 4e-5,
    evaluation: { batchNorm: 'precise', trainSampleExamples: 256 },
  },
  cpu: {
    name: 'cpu',
    description:
      'under an hour per experiment over three seeds on two CPU cores (torch): the full Fashion-MNIST (60k, 2k of ' +
      "the 10k test images for validation), inception-bn-small at the paper's widths (the modules' channels)",
    model: 'inception-bn-small',
    baseWidth: 1,
    widthScope: 'modules',
    data: 'fashion-mnist:full',
    limitVal: 2000,
    // Batch 32 (BN-Inception's own): at 64 the deeper student's training step needs more than wasm's 4 GiB heap
    // (experiments/README.md, "Where the code deviates").
    batchSize: 32,
    evalBatchSize: 500,
    transformBatchSize: 512,
    // Sized from the torch backend's throughput on two cores (experiments/README.md, "The cpu preset"): 750 teacher
    // minibatches (0.4 epoch) and 250 per student. The rate is annealed to 1/4 over the teacher's run, about what
    // the default preset's x0.5 per epoch does over its teacher's steps.
    teacherSteps: 750,
    studentSteps: 250,
    evalEvery: 50,
    checkpointEvery: 50,
    learningRate: 0.045,
    schedule: { kind: 'anneal-teacher', to: 0.25 },
    weightDecay: 4e-5,
    evaluation: { batchNorm: 'precise', trainSampleExamples: 512 },
  },
  paper: {
    name: 'paper',
    description:
      'a GPU: the full Inception-BN at 224x224 on ImageNet (--data imagenet:<dir>), batch 32, RMSProp lr 0.045 ' +
      "annealed to 1/10 over the teacher's steps; students at 0.002, 0.005 and 0.01 (fig. 4)",
    model: 'inception-bn',
    baseWidth: 1,
    widthScope: 'modules',
    data: null,
    imageSize: 224,
    // Every evaluation validates on all 50,000 ImageNet validation images, as the paper's validation accuracy does.
    batchSize: 32,
    evalBatchSize: 100,
    transformBatchSize: 64,
    // Inserted BatchNorm statistics from 32 batches of 32 (a 64-image measurement varies by several percent).
    statisticsImages: 1024,
    teacherSteps: 400_000,
    studentSteps: 200_000,
    evalEvery: 4000,
    checkpointEvery: 2000,
    learningRate: 0.045,
    // Annealed over the teacher's own budget (10 epochs of ImageNet at 400k x 32), so the students' 1/10 rate
    // continues an annealed teacher (sec. 4) instead of dropping 8x at the transform as x0.94 every 2 epochs would.
    schedule: { kind: 'anneal-teacher', to: 0.1 },
    weightDecay: 4e-5,
    evaluation: { batchNorm: 'precise', trainSampleExamples: 1024 },
    studentLearningRates: [0.002, 0.005, 0.01],
    needsGpu: true,
  },
};
