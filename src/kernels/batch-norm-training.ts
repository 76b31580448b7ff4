/**
 * BatchNorm in training mode as two kernels, so that a backend can run each as one native op: TensorFlow.js composes
 * the forward pass from `tf.moments` + `tf.batchNorm` and its gradient from ~20 element-wise kernels.
 *
 * - `Net2NetBatchNormTraining`: x channels-last (rank >= 2, last axis C), scale and offset `[C]`; outputs y, and mean
 *   and variance `[C]` over every axis but the last, variance biased (divided by the count), as `tf.moments` +
 *   `tf.batchNorm` compute them.
 * - `Net2NetBatchNormTrainingGrad`: the training-mode gradient through the batch statistics.
 *
 * The forward kernel's gradient calls the gradient kernel. As in TensorFlow's FusedBatchNorm, the mean and variance
 * outputs are statistics for the moving averages: gradients that reach them are not propagated (the gradient takes
 * dy of y only).
 */
import * as tf from '@tensorflow/tfjs';
import { declareKernel, runDeclaredKernel } from './kernel-declaration.ts';

export const BATCH_NORM_TRAINING = declareKernel({
  name: 'Net2NetBatchNormTraining',
  inputs: ['x', 'scale', 'offset'],
  attrs: { epsilon: 'non-negative' },
  outputs: ['y', 'mean', 'variance'],
});

export const BATCH_NORM_TRAINING_GRAD = declareKernel({
  name: 'Net2NetBatchNormTrainingGrad',
  inputs: ['dy', 'x', 'scale', 'mean', 'variance'],
  attrs: { epsilon: 'non-negative' },
  outputs: ['dx', 'dScale', 'dOffset'],
});

if (tf.getGradient(BATCH_NORM_TRAINING.name) === undefined) {
  tf.registerGradient({
    kernelName: BATCH_NORM_TRAINING.name,
    inputsToSave: ['x', 'scale'],
    outputsToSave: [false, true, true],
    gradFunc: (dys, saved, attrs) => {
      const [x, scale, mean, variance] = saved;
      const dy = (dys as tf.Tensor[])[0];
      // One kernel computes all three gradients: run it now, and let each input's thunk hand over its part.
      const [dx, dScale, dOffset] = runDeclaredKernel(
        BATCH_NORM_TRAINING_GRAD,
        { dy, x, scale, mean, variance },
        { epsilon: attrs.epsilon as number },
      );
      return { x: () => dx, scale: () => dScale, offset: () => dOffset };
    },
  });
}
