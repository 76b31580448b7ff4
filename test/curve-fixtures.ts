import type { CurveRow } from '../src/train/curve-log.ts';
import { INCEPTION_RMSPROP } from '../src/train/trainer.ts';
import type { TrainConfig } from '../src/train/trainer.ts';

/** The rows without their wall-clock columns (timing differs between runs; everything else must not). */
export const withoutWall = (rows: readonly CurveRow[]) =>
  rows.map(({ wall_s: _wall, train_wall_s: _train, eval_wall_s: _eval, ...rest }) => rest);

/** A short training run of the trainer tests: 8 steps of 8 images, evaluations every 2, checkpoints every 3. */
export const smallTrainConfig = (overrides: Partial<TrainConfig> = {}): TrainConfig => ({
  steps: 8,
  batchSize: 8,
  optimizer: { ...INCEPTION_RMSPROP, learningRate: 0.02, weightDecay: 4e-5 },
  schedule: { kind: 'exponential', rate: 0.5, everyEpochs: 0.5, staircase: false },
  evalEvery: 2,
  checkpointEvery: 3,
  evalBatchSize: 16,
  dataSeed: 3,
  ...overrides,
});
