/**
 * Exploring the model space (paper sec. 4.2.3, fig. 6): from the standard network, two separate students — one
 * Net2WiderNet to sqrt(2) of its width, and "another deeper net" with 4 identity-initialized vertical-horizontal
 * pairs on top of every Inception module at the original width (the paper's 78.5% model). The reference is the
 * original model's own curve from random initialization (the teacher's); controls are the teacher trained further
 * and, where the preset affords it, each grown architecture trained from random initialization.
 */
import type * as tf from '@tensorflow/tfjs';
import { deeper, topPairInserts, wider, widthTargets } from '../src/index.ts';
import type { ArchitectureOptions, ExperimentDefinition, Preset } from '../src/experiment/definition.ts';
import { STUDENT_LR_MULTIPLIER, randomInitMethod, teacherContinuedMethod } from './definition.ts';

export const WIDTH_FACTOR = Math.SQRT2;
export const TOP_PAIRS = 4;

/** The presets small enough to also train the grown architectures from random initialization. */
const AFFORDS_RANDOM_INIT: readonly string[] = ['smoke', 'default'];
const affordsRandomInit = (preset: Preset) => AFFORDS_RANDOM_INIT.includes(preset.name);

/** The standard network of all three experiments: the factorized Inception-BN (paper sec. 3.3). */
const standardArchitecture = (preset: Preset): ArchitectureOptions => ({ width: preset.baseWidth, factorized: true });
const widerArchitecture = (preset: Preset): ArchitectureOptions => ({
  ...standardArchitecture(preset),
  width: preset.baseWidth * WIDTH_FACTOR,
});
const deeperArchitecture = (preset: Preset): ArchitectureOptions => ({
  ...standardArchitecture(preset),
  topPairs: TOP_PAIRS,
});

export const EXPLORE: ExperimentDefinition = {
  name: 'explore',
  description: `standard network -> width x sqrt(2) (Net2WiderNet), and -> ${TOP_PAIRS} pairs on top of every module (Net2DeeperNet)`,
  teacherLabel: () => 'Original model (from scratch)',
  teacher: standardArchitecture,
  student: widerArchitecture,
  noise: 'zero-sum',
  drawTeacherCurve: true,
  methods: [
    {
      run: 'net2wider',
      role: 'net2net',
      label: 'Net2WiderNet (x sqrt(2) width)',
      init: 'wider(teacher) to width x sqrt(2)',
      learningRateMultiplier: STUDENT_LR_MULTIPLIER,
      architecture: widerArchitecture,
      takesOptimizerState: true,
      takesNoise: true,
      makeInitialModel: (c) => {
        const like: tf.LayersModel = c.buildStudent(c.seed);
        try {
          return wider(c.teacher, widthTargets(c.teacher, like), { seed: c.seed, noise: c.noise, record: c.record });
        } finally {
          like.dispose();
        }
      },
    },
    {
      run: 'net2deeper',
      role: 'net2net',
      label: `Net2DeeperNet (+${TOP_PAIRS} pairs per module)`,
      init: `deeper(teacher): ${TOP_PAIRS} conv-BN-ReLU pairs on every module output, BN statistics averaged over training batches`,
      learningRateMultiplier: STUDENT_LR_MULTIPLIER,
      architecture: deeperArchitecture,
      takesOptimizerState: true,
      makeInitialModel: (c) =>
        deeper(c.teacher, topPairInserts(c.teacher, TOP_PAIRS), {
          data: c.trainImages,
          statisticsBatchSize: c.trainBatchSize,
          record: c.record,
        }),
    },
    teacherContinuedMethod(),
    randomInitMethod({
      run: 'random-init-wider',
      label: 'Random init (x sqrt(2) width)',
      init: 'the widened architecture, randomly initialized',
      architecture: widerArchitecture,
      enabled: affordsRandomInit,
    }),
    randomInitMethod({
      run: 'random-init-deeper',
      label: `Random init (+${TOP_PAIRS} pairs per module)`,
      init: 'the deepened architecture, randomly initialized',
      architecture: deeperArchitecture,
      enabled: affordsRandomInit,
    }),
  ],
  claims: [
    { kind: 'starts-at-teacher', run: 'net2wider' },
    { kind: 'starts-at-teacher', run: 'net2deeper' },
    { kind: 'ahead-of-scratch', run: 'net2wider' },
    { kind: 'ahead-of-scratch', run: 'net2deeper' },
    { kind: 'ends-above', run: 'net2deeper', than: 'teacher-continued' },
    { kind: 'saves-compute', run: 'net2wider', chargeTeacher: false },
    { kind: 'saves-compute', run: 'net2wider', chargeTeacher: true },
    { kind: 'saves-compute', run: 'net2deeper', chargeTeacher: false },
    { kind: 'saves-compute', run: 'net2deeper', chargeTeacher: true },
  ],
};
