/**
 * The flat float32 layout shared by the main thread and the replicas: trainable weights first, then the
 * non-trainable ones (BatchNorm moving statistics), each at a fixed offset. The same offsets index the published
 * weights (values) and each replica's result buffer (gradients of the trainable part, updated values of the
 * non-trainable part). Weights are matched by original name (`layer/kernel`), never by TF.js variable name, which
 * differs between threads.
 */
import type * as tf from '@tensorflow/tfjs';

export interface WeightSlot {
  originalName: string;
  shape: number[];
  /** Position of the first element in the flat buffer. */
  offset: number;
  size: number;
}

export interface WeightLayout {
  trainable: WeightSlot[];
  nonTrainable: WeightSlot[];
  /** Elements of all weights: trainable first, then non-trainable. */
  totalSize: number;
  /** Elements of the trainable part (the gradient). */
  trainableSize: number;
}

export function weightLayout(model: tf.LayersModel): WeightLayout {
  const seen = new Set<string>();
  let offset = 0;
  const place = (weights: tf.LayerVariable[]): WeightSlot[] =>
    weights.map((w) => {
      if (seen.has(w.originalName)) throw new Error(`model has two weights named '${w.originalName}'`);
      if (w.dtype !== 'float32') throw new Error(`weight '${w.originalName}' is ${w.dtype}; only float32 is supported`);
      seen.add(w.originalName);
      const shape = w.read().shape;
      const size = shape.reduce((a, b) => a * b, 1);
      const slot = { originalName: w.originalName, shape, offset, size };
      offset += size;
      return slot;
    });
  const trainable = place(model.trainableWeights);
  const trainableSize = offset;
  const nonTrainable = place(model.nonTrainableWeights);
  return { trainable, nonTrainable, totalSize: offset, trainableSize };
}

/** The model's variables in the layout's order; throws when the model's weights do not match the layout. */
export function variablesInLayout(model: tf.LayersModel, slots: WeightSlot[], trainable: boolean): tf.Variable[] {
  const byName = new Map(
    (trainable ? model.trainableWeights : model.nonTrainableWeights).map((w) => [w.originalName, w]),
  );
  return slots.map((slot) => {
    const weight = byName.get(slot.originalName);
    const kind = trainable ? 'trainable' : 'non-trainable';
    if (weight === undefined) throw new Error(`model has no ${kind} weight '${slot.originalName}'`);
    const variable = weight.read() as tf.Variable;
    if (variable.shape.join(',') !== slot.shape.join(','))
      throw new Error(`weight '${slot.originalName}' has shape [${variable.shape}], expected [${slot.shape}]`);
    return variable;
  });
}

/** Copies the variables' values into `target` at their slots. */
export async function readVariables(
  variables: tf.Variable[],
  slots: WeightSlot[],
  target: Float32Array,
): Promise<void> {
  const values = await Promise.all(variables.map((v) => v.data<'float32'>()));
  values.forEach((value, i) => target.set(value, slots[i].offset));
}
