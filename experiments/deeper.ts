/**
 * Net2DeeperNet (paper sec. 4.2.2, fig. 5): a teacher whose stride-1 3x3 convs are factorized into 3x1 -> 1x3 pairs
 * gets 2 more identity-initialized pairs after each pair (the builder's `extraPairs: 2`); compared with the same
 * architecture trained from random initialization.
 */
import type * as tf from '@tensorflow/tfjs';
import { deeper } from '../src/index.ts';
import type { DeeperSpec } from '../src/index.ts';
import type { ExperimentDefinition } from './definition.ts';
import { STUDENT_LR_MULTIPLIER, randomInitMethod } from './definition.ts';

export const EXTRA_PAIRS = 2;

/** The factorized pairs N (layers `N/3x1` -> `N/1x3`) of the builder, excluding inserted extra and top pairs. */
export function factorizedPairs(model: tf.LayersModel): string[] {
  const names = new Set(model.layers.map((l) => l.name));
  return model.layers
    .map((l) => /^(.*)\/3x1$/.exec(l.name)?.[1])
    .filter((n): n is string => n !== undefined && !/\/(extra|top)\d+$/.test(n) && names.has(`${n}/1x3/relu`));
}

/** `count` conv-pair inserts after each factorized pair, named like the builder's extra pairs `N/extra${i}`. */
export function extraPairSpecs(model: tf.LayersModel, count: number): DeeperSpec[] {
  const pairs = factorizedPairs(model);
  if (pairs.length === 0) throw new Error('deeper experiment: the teacher has no factorized 3x1 -> 1x3 pairs');
  return pairs.flatMap((n) =>
    Array.from({ length: count }, (_, i) => ({
      after: `${n}/1x3/relu`,
      kind: 'conv-pair' as const,
      kernel: 3,
      batchNorm: true,
      pairOrder: 'kx1-first' as const,
      name: `${n}/extra${i + 1}`,
    })),
  );
}

export const DEEPER: ExperimentDefinition = {
  name: 'deeper',
  description: 'factorized teacher -> 2 extra identity pairs after each pair: Net2DeeperNet vs random init',
  teacherLabel: (preset) => `Teacher (factorized ${preset.model})`,
  teacher: (preset) => ({ width: preset.baseWidth, factorized: true }),
  student: (preset) => ({ width: preset.baseWidth, factorized: true, extraPairs: EXTRA_PAIRS }),
  noise: 'none',
  methods: [
    {
      run: 'net2deeper',
      role: 'net2net',
      label: 'Net2DeeperNet',
      init: `deeper(teacher, ${EXTRA_PAIRS} conv-BN-ReLU pairs after each factorized pair), BN statistics from a training batch`,
      learningRateMultiplier: STUDENT_LR_MULTIPLIER,
      makeInitialModel: (c) =>
        deeper(c.teacher, extraPairSpecs(c.teacher, EXTRA_PAIRS), {
          data: c.trainImages,
          record: c.record,
        }),
    },
    randomInitMethod(),
  ],
};
