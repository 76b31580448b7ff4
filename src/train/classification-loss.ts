/**
 * The training objective shared by every step engine: softmax cross-entropy on the model's logits (our models end in
 * a Dense layer without softmax) plus an optional L2 penalty on conv and dense kernels, as TF-slim defines it.
 */
import * as tf from '@tensorflow/tfjs';

export interface LossParts {
  /** Mean cross-entropy plus weight decay: what the optimizer minimizes. Scalar. */
  total: tf.Scalar;
  /** Mean cross-entropy alone. Scalar. */
  crossEntropy: tf.Scalar;
  /** Number of correct arg-max predictions. Scalar int32. */
  correct: tf.Scalar;
}

/** Kernels of Conv2D/DepthwiseConv2D/Dense layers: the weights that get weight decay. */
export function decayedKernels(model: tf.LayersModel): tf.LayerVariable[] {
  return model.layers.flatMap((layer) =>
    layer.trainableWeights.filter((w) => /\/(kernel|depthwise_kernel)$/.test(w.originalName)),
  );
}

/** Forward pass in training mode (BatchNorm uses batch statistics and updates its moving averages). */
export function classificationLoss(
  model: tf.LayersModel,
  x: tf.Tensor4D,
  y: tf.Tensor1D,
  weightDecay: number,
  training = true,
): LossParts {
  return tf.tidy(() => {
    const logits = model.apply(x, { training }) as tf.Tensor2D;
    const numClasses = logits.shape[1];
    const labels = tf.oneHot(tf.cast(y, 'int32'), numClasses);
    const crossEntropy = tf.losses.softmaxCrossEntropy(labels, logits) as tf.Scalar;
    const correct = tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), tf.cast(y, 'int32')), 'int32')) as tf.Scalar;
    let total = crossEntropy;
    if (weightDecay > 0) {
      // TF-slim's l2_regularizer (tf.nn.l2_loss): weightDecay * sum(w^2) / 2, so the Inception recipe's 4e-5 means
      // what it means there (its gradient is weightDecay * w).
      const l2 = tf.addN(decayedKernels(model).map((w) => tf.sum(tf.square(w.read()))));
      total = tf.add(crossEntropy, tf.mul(weightDecay / 2, l2));
    }
    return { total, crossEntropy, correct };
  });
}
