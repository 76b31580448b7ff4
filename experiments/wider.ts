/**
 * Net2WiderNet (paper sec. 4.2.1, fig. 4): a teacher with sqrt(0.3) of the standard width in every Inception module
 * (about 0.3 of its parameters) grows to the standard width. The standard network is the factorized Inception-BN of
 * all three experiments (sec. 3.3: its modules have vertical-horizontal pairs); compared with random pad and random init, each of the
 * first two at every student learning rate of the preset's sweep (fig. 4: 0.002, 0.005, 0.01), and with the teacher
 * trained further (which separates growing from training longer at a lower rate).
 */
import { randomPad, wider, widthTargets } from '../src/index.ts';
import type { ExperimentDefinition, MethodContext } from '../src/experiment/definition.ts';
import { STUDENT_LR_MULTIPLIER, randomInitMethod, teacherContinuedMethod } from './definition.ts';

export const TEACHER_WIDTH_FACTOR = Math.sqrt(0.3);

function studentTargets(context: MethodContext): Record<string, number> {
  const like = context.buildStudent(context.seed);
  try {
    return widthTargets(context.teacher, like);
  } finally {
    like.dispose();
  }
}

export const WIDER: ExperimentDefinition = {
  name: 'wider',
  description: 'narrow teacher (sqrt(0.3) width) -> standard student: Net2WiderNet vs random pad vs random init',
  teacherLabel: () => 'Teacher (x0.3 parameters)',
  teacher: (preset) => ({ width: preset.baseWidth * TEACHER_WIDTH_FACTOR, factorized: true }),
  student: (preset) => ({ width: preset.baseWidth, factorized: true }),
  noise: 'zero-sum',
  methods: [
    {
      run: 'net2wider',
      role: 'net2net',
      label: 'Net2WiderNet',
      init: 'wider(teacher, widthTargets(teacher, student architecture))',
      learningRateMultiplier: STUDENT_LR_MULTIPLIER,
      sweepsLearningRate: true,
      takesOptimizerState: true,
      takesNoise: true,
      makeInitialModel: (c) => wider(c.teacher, studentTargets(c), { seed: c.seed, noise: c.noise, record: c.record }),
    },
    {
      run: 'random-pad',
      role: 'baseline',
      label: 'Random pad',
      init: 'randomPad(teacher, same targets): new units random, old weights undivided',
      learningRateMultiplier: STUDENT_LR_MULTIPLIER,
      sweepsLearningRate: true,
      takesOptimizerState: true,
      makeInitialModel: (c) => randomPad(c.teacher, studentTargets(c), { seed: c.seed, record: c.record }),
    },
    randomInitMethod(),
    teacherContinuedMethod(),
  ],
  claims: [
    { kind: 'starts-at-teacher', run: 'net2wider' },
    { kind: 'converges-faster', run: 'net2wider' },
    { kind: 'converges-faster', run: 'net2wider', metric: 'training' },
    { kind: 'ahead-at-every-evaluation', run: 'net2wider', than: ['random-pad', 'random-init'] },
    { kind: 'saves-compute', run: 'net2wider', chargeTeacher: false },
    { kind: 'saves-compute', run: 'net2wider', chargeTeacher: true },
  ],
};
