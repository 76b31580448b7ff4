/**
 * BatchNorm in training mode on the kernels declared in src/kernels/batch-norm-training.ts: their composite
 * implementations from tf ops for the `cpu`, `wasm` and `tensorflow` backends (the native `torch` backend registers
 * its own), and `batchNormTraining`, which checks its arguments and runs the forward kernel.
 */
import * as tf from '@tensorflow/tfjs';
import { BATCH_NORM_TRAINING, BATCH_NORM_TRAINING_GRAD } from '../kernels/batch-norm-training.ts';
import { registerCompositeKernel } from '../kernels/composite-kernel.ts';
import { runDeclaredKernel } from '../kernels/kernel-declaration.ts';

/** Every axis but the last. */
function leadingAxes(rank: number): number[] {
  return Array.from({ length: rank - 1 }, (_, i) => i);
}

registerCompositeKernel(BATCH_NORM_TRAINING, ({ x, scale, offset }, { epsilon }) =>
  tf.tidy(() => {
    const { mean, variance } = tf.moments(x, leadingAxes(x.rank));
    const y = tf.batchNorm(x, mean, variance, offset as tf.Tensor1D, scale as tf.Tensor1D, epsilon);
    return [y, mean, variance];
  }),
);

/**
 * With xhat = (x - mean) / sqrt(variance + epsilon) and N values per channel: dOffset = sum(dy), dScale =
 * sum(dy * xhat), dx = scale / sqrt(variance + epsilon) * (dy - dOffset / N - xhat * dScale / N).
 */
registerCompositeKernel(BATCH_NORM_TRAINING_GRAD, ({ dy, x, scale, mean, variance }, { epsilon }) =>
  tf.tidy(() => {
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
  }),
);

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
  const [y, mean, variance] = runDeclaredKernel(BATCH_NORM_TRAINING, { x, scale, offset }, { epsilon });
  return [y, mean as tf.Tensor1D, variance as tf.Tensor1D];
}
