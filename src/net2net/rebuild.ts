/**
 * Building a model from an edited functional config and carrying the weights over by layer name.
 */
import * as tf from '@tensorflow/tfjs';
import type { FunctionalConfig } from './graph.ts';
import { cloneConfig } from './graph.ts';

/**
 * A new model from `config` (cloned first). With `zeroInit` the layers skip their random initializers (every weight
 * is overwritten afterwards anyway), which makes rebuilding a large model much faster.
 */
export function buildFromConfig(config: FunctionalConfig, zeroInit: boolean): tf.LayersModel {
  return tf.LayersModel.fromConfig(
    tf.LayersModel,
    cloneConfig(config) as unknown as tf.serialization.ConfigDict,
    {},
    zeroInit,
  ) as tf.LayersModel;
}

/**
 * Sets every weighted layer of `student`: from `replaced` when it has an entry for the layer name, otherwise from the
 * teacher's layer of the same name (weights in layer order; rebuilt variables carry `_1`-style suffixes, so names are
 * never compared). Throws naming the layer when a shape does not fit.
 */
export function transferWeights(
  teacher: tf.LayersModel,
  student: tf.LayersModel,
  replaced: ReadonlyMap<string, tf.Tensor[]>,
): void {
  const teacherLayers = new Map(teacher.layers.map((l) => [l.name, l]));
  for (const layer of student.layers) {
    if (layer.weights.length === 0) continue;
    const source = replaced.get(layer.name);
    // getWeights() returns the teacher's live variables: read them, never dispose them.
    const weights = source ?? teacherLayers.get(layer.name)?.getWeights();
    if (!weights) throw new Error(`layer '${layer.name}' has no weights to take: not in the teacher and not computed`);
    if (weights.length !== layer.weights.length)
      throw new Error(`layer '${layer.name}': ${weights.length} weights for ${layer.weights.length} variables`);
    layer.weights.forEach((v, i) => {
      if (!tf.util.arraysEqual(v.shape as number[], weights[i].shape))
        throw new Error(
          `layer '${layer.name}': weight '${v.originalName}' has shape [${v.shape}] but the value has [${weights[i].shape}]`,
        );
    });
    layer.setWeights(weights);
  }
}
