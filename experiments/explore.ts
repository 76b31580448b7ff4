/**
 * Exploring the model space (paper sec. 4.2.3, fig. 6): the standard network grows to sqrt(2) of its width with
 * Net2WiderNet, then gets 4 identity-initialized pairs on top of every Inception module with Net2DeeperNet.
 * Compared with the teacher trained further at the students' learning rate, and (where the preset affords it) the
 * grown architecture trained from random initialization.
 */
import type * as tf from '@tensorflow/tfjs';
import { deeper, topPairInserts, wider, widthTargets } from '../src/index.ts';
import type { ExperimentDefinition, Preset } from '../src/experiment/definition.ts';
import { STUDENT_LR_MULTIPLIER, randomInitMethod, teacherContinuedMethod } from './definition.ts';

export const WIDTH_FACTOR = Math.SQRT2;
export const TOP_PAIRS = 4;

/** The presets small enough to also train the grown architecture from random initialization. */
const AFFORDS_RANDOM_INIT: readonly string[] = ['smoke', 'default'];

export const EXPLORE: ExperimentDefinition = {
  name: 'explore',
  description: `standard network -> width sqrt(2) and ${TOP_PAIRS} pairs on top of every module (Net2WiderNet + Net2DeeperNet)`,
  teacherLabel: (preset) => `Teacher (${preset.model})`,
  teacher: (preset) => ({ width: preset.baseWidth }),
  student: (preset) => ({ width: preset.baseWidth * WIDTH_FACTOR, topPairs: TOP_PAIRS }),
  noise: 'zero-sum',
  methods: [
    {
      run: 'net2wider-deeper',
      role: 'net2net',
      label: 'Net2WiderNet + Net2DeeperNet',
      init: `wider to width x sqrt(2), then deeper: ${TOP_PAIRS} conv-BN-ReLU pairs on every module output`,
      learningRateMultiplier: STUDENT_LR_MULTIPLIER,
      makeInitialModel: (c) => {
        const like = c.buildStudent(c.seed);
        let widened: tf.LayersModel | undefined;
        try {
          // The grown architecture has top pairs the teacher lacks; widthTargets matches only layers in both.
          widened = wider(c.teacher, widthTargets(c.teacher, like), { seed: c.seed, noise: c.noise, record: c.record });
          return deeper(widened, topPairInserts(widened, TOP_PAIRS), {
            data: c.trainImages,
            record: c.record,
          });
        } finally {
          like.dispose();
          widened?.dispose();
        }
      },
    },
    teacherContinuedMethod(),
    randomInitMethod({
      init: 'the grown architecture, randomly initialized',
      enabled: (preset: Preset) => AFFORDS_RANDOM_INIT.includes(preset.name),
    }),
  ],
};
