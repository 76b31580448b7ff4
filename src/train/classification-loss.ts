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
      total = tf.add(crossEntropy, tf.mul(weightDecay / 2, sumOfSquares(decayedKernels(model).map((w) => w.read()))));
    }
    return { total, crossEntropy, correct };
  });
}

/**
 * sum over the tensors of sum(w^2), with the gradient 2 w dy for each written out: TensorFlow.js's own gradients of
 * addN, sum and square compute the same values (dy broadcast by a multiplication with ones, then dy * (2 w)) with
 * three more kernel calls per tensor, ~210 per step of the full network.
 */
function sumOfSquares(tensors: tf.Tensor[]): tf.Scalar {
  const penalty = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const inputs = args.slice(0, tensors.length) as tf.Tensor[];
    const save = args[tensors.length] as tf.GradSaveFunc;
    save(inputs);
    return {
      value: tf.addN(inputs.map((t) => tf.sum(tf.square(t)))) as tf.Scalar,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => saved.map((t) => tf.mul(dy, tf.mul(t, 2))),
    };
  });
  return penalty(...tensors) as tf.Scalar;
}
