/**
 * Exploring the model space (paper sec. 4.2.3, fig. 6): the standard network grows to sqrt(2) of its width with
 * Net2WiderNet, then gets 4 identity-initialized pairs on top of every Inception module with Net2DeeperNet.
 * Compared with the teacher trained further at the students' learning rate, and (where the preset affords it) the
 * grown architecture trained from random initialization.
 */
import * as tf from '@tensorflow/tfjs';
import { deeper, wider, widthTargets } from '../src/index.ts';
import type { DeeperSpec } from '../src/index.ts';
import type { ExperimentDefinition } from './definition.ts';
import { STUDENT_LR_MULTIPLIER, randomInitMethod } from './definition.ts';

export const WIDTH_FACTOR = Math.SQRT2;
export const TOP_PAIRS = 4;

/** `count` conv-pair inserts on each module output `M/output`, named like the builder's top pairs `M/top${i}`. */
export function topPairSpecs(model: tf.LayersModel, count: number): DeeperSpec[] {
  const modules = model.layers.map((l) => /^(.*)\/output$/.exec(l.name)?.[1]).filter((m) => m !== undefined);
  if (modules.length === 0) throw new Error("explore experiment: the model has no module outputs ('M/output' layers)");
  return modules.flatMap((m) =>
    Array.from({ length: count }, (_, i) => ({
      after: `${m}/output`,
      kind: 'conv-pair' as const,
      kernel: 3,
      batchNorm: true,
      pairOrder: 'kx1-first' as const,
      name: `${m}/top${i + 1}`,
    })),
  );
}

/** A separate copy of a model (same architecture and weight values). */
export function copyModel(model: tf.LayersModel): tf.LayersModel {
  const copy = tf.LayersModel.fromConfig(
    tf.LayersModel,
    JSON.parse(JSON.stringify(model.getConfig())) as tf.serialization.ConfigDict,
  ) as tf.LayersModel;
  copy.setWeights(model.getWeights());
  return copy;
}

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
          return deeper(widened, topPairSpecs(widened, TOP_PAIRS), {
            data: c.trainImages,
            record: c.record,
          });
        } finally {
          like.dispose();
          widened?.dispose();
        }
      },
    },
    {
      run: 'teacher-continued',
      role: 'baseline',
      label: 'Teacher, trained further',
      init: "a copy of the trained teacher, trained on at the students' learning rate",
      learningRateMultiplier: STUDENT_LR_MULTIPLIER,
      makeInitialModel: (c) => copyModel(c.teacher),
    },
    randomInitMethod({
      init: 'the grown architecture, randomly initialized',
      enabled: (preset) => preset.exploreRandomInit,
    }),
  ],
};
