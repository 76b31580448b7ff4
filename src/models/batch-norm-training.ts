/**
 * BatchNorm in training mode as two kernels, so that a backend can run each as one native op: TensorFlow.js composes
 * the forward pass from `tf.moments` + `tf.batchNorm` and its gradient from ~20 element-wise kernels.
 *
 * - `Net2NetBatchNormTraining`: inputs `{x, scale, offset}` (x channels-last, rank >= 2, last axis C; scale and offset
 *   `[C]`), attrs `{epsilon}`; outputs `[y, mean, variance]`, mean and variance `[C]` over every axis but the last,
 *   variance biased (divided by the count), as `tf.moments` + `tf.batchNorm` compute them.
 * - `Net2NetBatchNormTrainingGrad`: inputs `{dy, x, scale, mean, variance}`, attrs `{epsilon}`; outputs
 *   `[dx, dScale, dOffset]`, the training-mode gradient through the batch statistics.
 *
 * Here both get composite implementations from tf ops for the `cpu`, `wasm` and `tensorflow` backends (the native
 * `torch` backend registers its own), and the forward kernel gets a gradient that calls the second kernel. As in
 * TensorFlow's FusedBatchNorm, the mean and variance outputs are statistics for the moving averages: gradients that
 * reach them are not propagated (the gradient takes dy of y only).
 */
import * as tf from '@tensorflow/tfjs';
import type { KernelFunc, NamedAttrMap, NamedTensorInfoMap } from '@tensorflow/tfjs';
import { inputTensor, registerCompositeKernel } from '../backend/composite-kernel.ts';

export const BATCH_NORM_TRAINING = 'Net2NetBatchNormTraining';
export const BATCH_NORM_TRAINING_GRAD = 'Net2NetBatchNormTrainingGrad';

/** Every axis but the last. */
function leadingAxes(rank: number): number[] {
  return Array.from({ length: rank - 1 }, (_, i) => i);
}

function epsilonOf(attrs: NamedAttrMap | undefined, kernel: string): number {
  const epsilon = attrs?.epsilon;
  if (typeof epsilon !== 'number' || !(epsilon >= 0)) {
    throw new Error(`kernel ${kernel}: attr 'epsilon' must be a number >= 0, got ${String(epsilon)}`);
  }
  return epsilon;
}

function compositeForward({ inputs, attrs }: { inputs: NamedTensorInfoMap; attrs?: NamedAttrMap }): tf.Tensor[] {
  const x = inputTensor(inputs, 'x', BATCH_NORM_TRAINING);
  const scale = inputTensor(inputs, 'scale', BATCH_NORM_TRAINING);
  const offset = inputTensor(inputs, 'offset', BATCH_NORM_TRAINING);
  const epsilon = epsilonOf(attrs, BATCH_NORM_TRAINING);
  return tf.tidy(() => {
    const { mean, variance } = tf.moments(x, leadingAxes(x.rank));
    const y = tf.batchNorm(x, mean, variance, offset as tf.Tensor1D, scale as tf.Tensor1D, epsilon);
    return [y, mean, variance];
  });
}

/**
 * With xhat = (x - mean) / sqrt(variance + epsilon) and N values per channel: dOffset = sum(dy), dScale =
 * sum(dy * xhat), dx = scale / sqrt(variance + epsilon) * (dy - dOffset / N - xhat * dScale / N).
 */
function compositeGradient({ inputs, attrs }: { inputs: NamedTensorInfoMap; attrs?: NamedAttrMap }): tf.Tensor[] {
  const name = BATCH_NORM_TRAINING_GRAD;
  const dy = inputTensor(inputs, 'dy', name);
  const x = inputTensor(inputs, 'x', name);
  const scale = inputTensor(inputs, 'scale', name);
  const mean = inputTensor(inputs, 'mean', name);
  const variance = inputTensor(inputs, 'variance', name);
  const epsilon = epsilonOf(attrs, name);
  return tf.tidy(() => {
    const axes = leadingAxes(x.rank);
    const count = x.size / x.shape[x.rank - 1];
    const invStd = tf.rsqrt(tf.add(variance, epsilon));
    const centered = tf.sub(x, mean);
    const dOffset = tf.sum(dy, axes);
    const dScale = tf.mul(tf.sum(tf.mul(dy, centered), axes), invStd);
    const dyScale = tf.mul(scale, invStd);
    const centeredScale = tf.mul(dyScale, tf.mul(invStd, tf.div(dScale, count)));
    const dx = tf.sub(tf.mul(tf.sub(dy, tf.div(dOffset, count)), dyScale), tf.mul(centered, centeredScale));
    return [dx, dScale, dOffset];
  });
}

registerCompositeKernel(BATCH_NORM_TRAINING, compositeForward as unknown as KernelFunc);
registerCompositeKernel(BATCH_NORM_TRAINING_GRAD, compositeGradient as unknown as KernelFunc);

if (tf.getGradient(BATCH_NORM_TRAINING) === undefined) {
  tf.registerGradient({
    kernelName: BATCH_NORM_TRAINING,
    inputsToSave: ['x', 'scale'],
    outputsToSave: [false, true, true],
    gradFunc: (dys, saved, attrs) => {
      const [x, scale, mean, variance] = saved;
      const dy = (dys as tf.Tensor[])[0];
      // One kernel computes all three gradients: run it now, and let each input's thunk hand over its part.
      const [dx, dScale, dOffset] = tf
        .engine()
        .runKernel<tf.Tensor[]>(BATCH_NORM_TRAINING_GRAD, { dy, x, scale, mean, variance }, { epsilon: attrs.epsilon });
      return { x: () => dx, scale: () => dScale, offset: () => dOffset };
    },
  });
}

/**
 * Normalizes x over every axis but the last with its batch statistics: returns [y, mean, variance] (mean and variance
 * `[C]`, variance biased). Differentiable in x, scale and offset; mean and variance carry no gradient back.
 */
export function batchNormTraining(
  x: tf.Tensor,
  scale: tf.Tensor,
  offset: tf.Tensor,
  epsilon: number,
): [tf.Tensor, tf.Tensor1D, tf.Tensor1D] {
  if (x.rank < 2) throw new Error(`batchNormTraining: x must have rank >= 2 (channels last), got shape [${x.shape}]`);
  const channels = x.shape[x.rank - 1];
  for (const [name, t] of [
    ['scale', scale],
    ['offset', offset],
  ] as const) {
    if (t.rank !== 1 || t.shape[0] !== channels)
      throw new Error(`batchNormTraining: ${name} must have shape [${channels}] (x's last axis), got [${t.shape}]`);
  }
  for (const [name, t] of [
    ['x', x],
    ['scale', scale],
    ['offset', offset],
  ] as const) {
    if (t.dtype !== 'float32') throw new Error(`batchNormTraining: ${name} must be float32, got ${t.dtype}`);
  }
  const [y, mean, variance] = tf
    .engine()
    .runKernel<tf.Tensor[]>(BATCH_NORM_TRAINING, { x, scale, offset }, { epsilon });
  return [y, mean as tf.Tensor1D, variance as tf.Tensor1D];
}
