/**
 * A TensorFlow.js BatchNormalization layer applied with `training: true` updates its moving mean and variance, even
 * outside fit(). Anything that runs a model in training mode only to look at it saves and restores them.
 */
import * as tf from '@tensorflow/tfjs';

function batchNormLayers(model: tf.LayersModel): tf.layers.Layer[] {
  return model.layers.flatMap((layer) => {
    if (layer instanceof tf.LayersModel) return batchNormLayers(layer);
    return layer.getClassName() === 'BatchNormalization' ? [layer] : [];
  });
}

/** Runs `fn` and puts every BatchNorm weight of `models` back to its value before the call. */
export function withBatchNormRestored<T>(models: tf.LayersModel[], fn: () => T): T {
  const layers = [...new Set(models.flatMap(batchNormLayers))];
  const saved = layers.map((layer) => layer.getWeights().map((w) => w.clone()));
  try {
    return fn();
  } finally {
    layers.forEach((layer, i) => layer.setWeights(saved[i]));
    saved.forEach((weights) => tf.dispose(weights));
  }
}
