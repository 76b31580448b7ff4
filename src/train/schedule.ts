/**
 * Learning-rate schedules. The Inception recipes decay the rate exponentially with the number of epochs seen:
 * lr = initial * rate ^ (epoch / everyEpochs), with the exponent floored when `staircase` is set (TensorFlow's
 * `exponential_decay`, e.g. x0.94 every 2 epochs). `epoch` is a fraction: images seen / training-set size.
 */
export interface ExponentialDecaySchedule {
  kind: 'exponential';
  /** Factor applied once per `everyEpochs` epochs, in (0, 1]. */
  rate: number;
  everyEpochs: number;
  staircase: boolean;
}

export interface ConstantSchedule {
  kind: 'constant';
}

export type LearningRateSchedule = ExponentialDecaySchedule | ConstantSchedule;

export const INCEPTION_DECAY: ExponentialDecaySchedule = {
  kind: 'exponential',
  rate: 0.94,
  everyEpochs: 2,
  staircase: true,
};

/** The rate for the step taken after `epoch` epochs of training. */
export function learningRateAt(initial: number, schedule: LearningRateSchedule, epoch: number): number {
  if (schedule.kind === 'constant') return initial;
  const exponent = epoch / schedule.everyEpochs;
  return initial * Math.pow(schedule.rate, schedule.staircase ? Math.floor(exponent) : exponent);
}

/** Throws when the schedule cannot be used, naming the bad field. */
export function validateSchedule(schedule: LearningRateSchedule): void {
  if (schedule.kind === 'constant') return;
  if (!(schedule.rate > 0 && schedule.rate <= 1))
    throw new Error(`learning-rate decay rate must be in (0, 1], got ${schedule.rate}`);
  if (!(schedule.everyEpochs > 0))
    throw new Error(`learning-rate decay period must be a positive number of epochs, got ${schedule.everyEpochs}`);
}
