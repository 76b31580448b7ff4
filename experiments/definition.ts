/**
 * The pieces the experiment definitions share: the students' learning rates, and the two baselines
 * every experiment can use (the student architecture from scratch; the teacher trained further).
 */
import * as tf from '@tensorflow/tfjs';
import type { MethodDefinition } from '../src/experiment/definition.ts';

/** Students learn at about a tenth of the teacher's initial rate (Net2Net, sec. 4). */
export const STUDENT_LR_MULTIPLIER = 0.1;
/**
 * A network trained from scratch gets the teacher's own recipe: at a tenth of it, the baseline would be handicapped
 * by the learning rate, not by its initialization.
 */
export const FROM_SCRATCH_LR_MULTIPLIER = 1;

/** The random-init baseline: the student's architecture, trained from scratch. */
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

/** The control that separates growth from further training: a copy of the trained teacher, trained on. */
export function teacherContinuedMethod(overrides: Partial<MethodDefinition> = {}): MethodDefinition {
  return {
    run: 'teacher-continued',
    role: 'baseline',
    label: 'Teacher, trained further',
    init: "a copy of the trained teacher, trained on at the students' learning rate",
    learningRateMultiplier: STUDENT_LR_MULTIPLIER,
    continuesTeacher: true,
    makeInitialModel: (c) => copyModel(c.teacher),
    ...overrides,
  };
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
