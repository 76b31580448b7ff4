/**
 * RMSProp slots in checkpoints, named as LocalStepEngine names them: `<original weight name>/rms|momentum` (the
 * weight's `layer/kernel` name, not the TF.js variable name, which gets `_1`-style suffixes when a model is rebuilt),
 * plus the optimizer's `iter` count.
 */
import * as tf from '@tensorflow/tfjs';

export interface NamedSlot {
  name: string;
  tensor: tf.Tensor;
}

const SLOT_NAME = /^(.*)\/(rms|momentum)$/;

/** Renames the optimizer's slots (`optimizer.getWeights()`) from TF.js variable names to original weight names. */
export function slotsByOriginalName(model: tf.LayersModel, slots: NamedSlot[]): NamedSlot[] {
  const originalByVariable = new Map(
    model.trainableWeights.map((w) => [(w.read() as tf.Variable).name, w.originalName]),
  );
  return slots.map(({ name, tensor }) => {
    const match = SLOT_NAME.exec(name);
    if (!match) return { name, tensor };
    const original = originalByVariable.get(match[1]);
    if (original === undefined) throw new Error(`optimizer slot '${name}' belongs to no trainable weight of the model`);
    return { name: `${original}/${match[2]}`, tensor };
  });
}

/**
 * The list `RMSPropOptimizer.setWeights` expects, from checkpoint slots named by original weight names. setWeights
 * is positional (the `iter` count, then every mean square, then every momentum, in gradient order, which for our
 * engines is the model's trainable-weight order), so the slots are put in that order and renamed to this model's
 * TF.js variable names; a missing or unknown slot is an error.
 */
export function slotsForRmsProp(model: tf.LayersModel, state: NamedSlot[]): NamedSlot[] {
  const byName = new Map(state.map((slot) => [slot.name, slot]));
  const iter = byName.get('iter');
  if (iter === undefined)
    throw new Error(`optimizer state has no 'iter' entry (got: ${[...byName.keys()].join(', ')})`);
  const weights = model.trainableWeights;
  const known = new Set(['iter', ...weights.flatMap((w) => [`${w.originalName}/rms`, `${w.originalName}/momentum`])]);
  const unknown = state.filter((slot) => !known.has(slot.name)).map((slot) => slot.name);
  if (unknown.length > 0)
    throw new Error(`optimizer state names slots of weights the model does not have: ${unknown.join(', ')}`);
  if (state.length === 1) return [iter];
  const ordered = (['rms', 'momentum'] as const).flatMap((kind) =>
    weights.map((w) => {
      const slot = byName.get(`${w.originalName}/${kind}`);
      if (slot === undefined) throw new Error(`optimizer state has no '${kind}' slot for weight '${w.originalName}'`);
      return { name: `${(w.read() as tf.Variable).name}/${kind}`, tensor: slot.tensor };
    }),
  );
  return [iter, ...ordered];
}

/** The optimizer's state for a checkpoint: copies of its slots, named by original weight names. The caller owns them. */
export async function readOptimizerState(optimizer: tf.Optimizer, model: tf.LayersModel): Promise<NamedSlot[]> {
  const slots = await optimizer.getWeights();
  // getWeights returns the live slot variables and a fresh `iter` scalar: clone the former, hand over the latter.
  return slotsByOriginalName(
    model,
    slots.map(({ name, tensor }) => ({ name, tensor: name === 'iter' ? tensor : tensor.clone() })),
  );
}

/** Loads checkpoint slots into the optimizer. The caller keeps ownership of `state`. */
export async function writeOptimizerState(
  optimizer: tf.Optimizer,
  model: tf.LayersModel,
  state: NamedSlot[],
): Promise<void> {
  const ordered = slotsForRmsProp(model, state);
  const previous = await optimizer.getWeights();
  await optimizer.setWeights(ordered);
  // setWeights replaces the slot variables without disposing the old ones.
  tf.dispose(previous.map((slot) => slot.tensor));
}
