/**
 * "Precise BatchNorm" evaluation: BatchNorm's moving averages (momentum 0.99) lag the weights by ~100 steps, so a
 * network evaluated early in training, or right after a transform gave it new BatchNorm layers, is measured with
 * statistics of weights it no longer has. Before an evaluation, the statistics are re-estimated from a few training
 * batches with the current weights (Wu & Johnson, "Rethinking 'Batch' in BatchNorm", 2021): each BatchNorm layer's
 * input is computed in training mode — every earlier BatchNorm normalizing with its batch statistics, as in a
 * training step — and its moving mean and variance become the averages of the batches' means and (biased)
 * variances. After the evaluation the layers get their own moving averages back, so evaluating changes nothing.
 */
import * as tf from '@tensorflow/tfjs';
import { averagedBatchMoments } from '../moments/batch-moments.ts';

interface BatchNormStatistics {
  layer: tf.layers.Layer;
  mean: Float64Array;
  variance: Float64Array;
}

function batchNormLayers(model: tf.LayersModel): tf.layers.Layer[] {
  return model.layers.filter((layer) => layer.getClassName() === 'BatchNormalization');
}

function movingIndices(layer: tf.layers.Layer): { mean: number; variance: number } {
  const names = layer.weights.map((w) => w.originalName);
  const mean = names.findIndex((n) => n.endsWith('moving_mean'));
  const variance = names.findIndex((n) => n.endsWith('moving_variance'));
  if (mean < 0 || variance < 0) throw new Error(`BatchNormalization '${layer.name}' has no moving mean or variance`);
  return { mean, variance };
}

/** The averages, over `inputs`, of each BatchNorm layer's batch mean and variance in training mode. */
function estimateStatistics(model: tf.LayersModel, inputs: readonly tf.Tensor[]): BatchNormStatistics[] {
  const layers = batchNormLayers(model);
  const inputsOf = layers.map((l) => l.input as tf.SymbolicTensor);
  const moments = averagedBatchMoments(model, inputsOf, inputs.length, (i) => inputs[i]!, true);
  return layers.map((layer, i) => ({ layer, ...moments[i]! }));
}

/**
 * Runs `fn` with every BatchNorm layer of `model` holding statistics re-estimated from `inputs` (training images,
 * a few batches), then puts the layers' own moving averages back. With no BatchNorm layer or no inputs it just
 * runs `fn`.
 */
export async function withPreciseBatchNorm<T>(
  model: tf.LayersModel,
  inputs: readonly tf.Tensor[],
  fn: () => Promise<T>,
): Promise<T> {
  const layers = batchNormLayers(model);
  if (layers.length === 0 || inputs.length === 0) return fn();
  // Saved first: applying a model in training mode also moves the TensorFlow.js layers' moving averages.
  const saved = layers.map((layer) => layer.getWeights().map((w) => w.clone()));
  try {
    for (const { layer, mean, variance } of estimateStatistics(model, inputs)) {
      const index = movingIndices(layer);
      const weights = layer.getWeights().slice();
      const fresh = [tf.tensor1d(Float32Array.from(mean)), tf.tensor1d(Float32Array.from(variance))];
      weights[index.mean] = fresh[0]!;
      weights[index.variance] = fresh[1]!;
      layer.setWeights(weights);
      tf.dispose(fresh);
    }
    return await fn();
  } finally {
    layers.forEach((layer, i) => layer.setWeights(saved[i]!));
    saved.forEach((weights) => tf.dispose(weights));
  }
}
