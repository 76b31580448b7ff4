/**
 * Net2DeeperNet (paper sec. 4.2.2, fig. 5): the standard network, whose stride-1 3x3 convs are factorized into
 * 3x1 -> 1x3 pairs, gets 2 more identity-initialized pairs after each pair (the builder's `extraPairs: 2`); compared with the same
 * architecture trained from random initialization, and with the teacher trained further.
 */
import { deeper, extraPairInserts } from '../src/index.ts';
import type { ExperimentDefinition } from '../src/experiment/definition.ts';
import { STUDENT_LR_MULTIPLIER, randomInitMethod, teacherContinuedMethod } from './definition.ts';

export const EXTRA_PAIRS = 2;

export const DEEPER: ExperimentDefinition = {
  name: 'deeper',
  description: 'factorized teacher -> 2 extra identity pairs after each pair: Net2DeeperNet vs random init',
  teacherLabel: () => 'Teacher (standard network)',
  teacher: (preset) => ({ width: preset.baseWidth, factorized: true }),
  student: (preset) => ({ width: preset.baseWidth, factorized: true, extraPairs: EXTRA_PAIRS }),
  noise: 'none',
  methods: [
    {
      run: 'net2deeper',
      role: 'net2net',
      label: 'Net2DeeperNet',
      init: `deeper(teacher, ${EXTRA_PAIRS} conv-BN-ReLU pairs after each factorized pair), BN statistics averaged over training batches`,
      learningRateMultiplier: STUDENT_LR_MULTIPLIER,
      takesOptimizerState: true,
      makeInitialModel: (c) =>
        deeper(c.teacher, extraPairInserts(c.teacher, EXTRA_PAIRS), {
          data: c.trainImages,
          statisticsBatchSize: c.trainBatchSize,
          record: c.record,
        }),
    },
    randomInitMethod(),
    teacherContinuedMethod(),
  ],
  claims: [
    { kind: 'starts-at-teacher', run: 'net2deeper' },
    { kind: 'converges-faster', run: 'net2deeper' },
    { kind: 'converges-faster', run: 'net2deeper', metric: 'training' },
    { kind: 'ahead-at-every-evaluation', run: 'net2deeper', than: ['random-init'] },
    { kind: 'saves-compute', run: 'net2deeper', chargeTeacher: false },
    { kind: 'saves-compute', run: 'net2deeper', chargeTeacher: true },
  ],
};
