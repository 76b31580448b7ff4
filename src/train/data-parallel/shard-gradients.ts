/** What every replica (worker or main thread) computes on its shard: the loss gradient and updated BN statistics. */
import * as tf from '@tensorflow/tfjs';
import { classificationLoss } from '../classification-loss.ts';
import type { StepResult } from '../step-engine.ts';
import type { WeightLayout } from './weight-layout.ts';

/** A model's variables in layout order. */
export interface ReplicaVariables {
  trainable: tf.Variable[];
  nonTrainable: tf.Variable[];
}

/**
 * Forward and backward pass in training mode on one shard. Writes into `out` (layout offsets): the gradient of the
 * shard's objective (mean cross-entropy over the shard plus weight decay) for trainable weights, zeros for a weight
 * the loss does not reach; and the non-trainable weights as the forward pass left them (BatchNorm moving statistics
 * updated with this shard's batch statistics). Leaves no tensors behind.
 */
export async function computeShardGradients(
  model: tf.LayersModel,
  variables: ReplicaVariables,
  layout: WeightLayout,
  x: tf.Tensor4D,
  y: tf.Tensor1D,
  weightDecay: number,
  out: Float32Array,
): Promise<StepResult> {
  let crossEntropy: tf.Scalar | undefined;
  let correct: tf.Scalar | undefined;
  const { value, grads } = tf.variableGrads(() => {
    const parts = classificationLoss(model, x, y, weightDecay);
    crossEntropy = tf.keep(parts.crossEntropy);
    correct = tf.keep(parts.correct);
    return parts.total;
  }, variables.trainable);
  // Without weight decay the total IS the cross-entropy tensor: dispose each tensor once, after reading.
  const owned = new Set<tf.Tensor>([value, crossEntropy!, correct!]);
  for (const g of Object.values(grads)) if (g !== null) owned.add(g);
  try {
    const gradients = variables.trainable.map((v) => grads[v.name] ?? null);
    const values = await Promise.all(gradients.map((g) => (g === null ? null : g.data<'float32'>())));
    values.forEach((data, i) => {
      const slot = layout.trainable[i];
      if (data === null) out.fill(0, slot.offset, slot.offset + slot.size);
      else out.set(data, slot.offset);
    });
    const stats = await Promise.all(variables.nonTrainable.map((v) => v.data<'float32'>()));
    stats.forEach((data, i) => out.set(data, layout.nonTrainable[i].offset));
    const [loss, right] = await Promise.all([crossEntropy!.data(), correct!.data()]);
    return { loss: loss[0], correct: right[0] };
  } finally {
    tf.dispose([...owned]);
  }
}
