/** Every kernel of our own: each backend must have an implementation of each (a test checks it). */
import { BATCH_NORM_TRAINING, BATCH_NORM_TRAINING_GRAD } from './batch-norm-training.ts';
import { MOVING_AVERAGE } from './moving-average.ts';
import { RELU_GRAD } from './relu-grad.ts';
import { RMSPROP_UPDATE } from './rmsprop-update.ts';
import type { KernelDeclaration } from './kernel-declaration.ts';

export const CUSTOM_KERNELS: readonly KernelDeclaration[] = [
  BATCH_NORM_TRAINING,
  BATCH_NORM_TRAINING_GRAD,
  RMSPROP_UPDATE,
  MOVING_AVERAGE,
  RELU_GRAD,
];
