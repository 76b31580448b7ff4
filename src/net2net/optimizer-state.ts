/**
 * Optimizer state through the operators: the teacher's RMSProp slots (mean square `<weight>/rms`, momentum
 * `<weight>/momentum`, named by the weights' original names as checkpoints name them, and the step count `iter`)
 * mapped onto a student made by `wider`, `randomPad`, `scaleWidth` or `deeper`, from the operator's transform record.
 * The rules and what they make exact are derived in src/net2net/optimizer-state.md:
 *
 * - wider: every slot follows the weight's mapping g. Mean squares are divided by k^2, k being the replica count of
 *   the unit the weight writes (its gradient in the student is 1/k of the teacher's: incoming weights, biases and
 *   BatchNorm gamma/beta of a replicated unit; outgoing weights keep the teacher's gradient, k = 1 there). Momentum is
 *   a velocity in weight space and by default ('velocity') is mapped exactly as the weight is (copied on the incoming
 *   side, divided by the input unit's count on the outgoing side, no noise), so the momentum part of the student's
 *   next step is the widening of the teacher's; 'gradient-history' instead scales it to what the student's own
 *   gradients would have accumulated.
 * - randomPad: the teacher's slots where the weight is the teacher's, zero for every weight touching a new unit.
 * - deeper: existing weights keep their slots; inserted layers get zero slots (no history, zero velocity).
 * - `iter` is copied (TensorFlow.js's RMSProp does not read it; the learning-rate schedule runs on the trainer's own
 *   step and data position).
 *
 * Lives in src/net2net (which imports nothing from src/train), so the slot type is declared here; the trainer's
 * `{ name, tensor }` slots are the same shape.
 */
import * as tf from '@tensorflow/tfjs';
import type { WeightRemap } from './layer-weights.ts';
import { weightRemap } from './layer-weights.ts';
import type { UnitMapping } from './mapping.ts';
import { replicaCounts, replicaRanks } from './mapping.ts';
import type { DeeperRecord, TransformRecord, WidthRecord } from './transform-record.ts';
import { replayWidthPlan, widenedLayers } from './wider.ts';

export interface OptimizerSlot {
  name: string;
  tensor: tf.Tensor;
}

/**
 * How momentum slots of replicated units are mapped. 'velocity' (default): as the weights are (the student's
 * momentum step is the widening of the teacher's, exactly). 'gradient-history': mom * c * sqrt(ms + eps) /
 * sqrt(c^2 ms + eps) with c = 1/k the gradient's scale, what the student's own gradients would have accumulated were
 * the mean square constant over the momentum's horizon; `epsilon` is the optimizer's.
 */
export type MomentumRule = { rule: 'velocity' } | { rule: 'gradient-history'; epsilon: number };

export interface OptimizerStateMapping {
  /** The model the operator was applied to. */
  teacher: tf.LayersModel;
  /** The operator's result. */
  student: tf.LayersModel;
  /** The operator's transform record (as recorded, or read back from transform.json). */
  record: TransformRecord;
  /** The teacher's slots: `iter` and `<original weight name>/rms|momentum` for every trainable weight. Not disposed. */
  slots: OptimizerSlot[];
  momentum?: MomentumRule;
}

const SLOT_KINDS = ['rms', 'momentum'] as const;
type SlotKind = (typeof SLOT_KINDS)[number];

/** One remapped weight's slots. */
type SlotPair = Record<SlotKind, tf.Tensor>;

/**
 * The student's slots (`iter` first, then every trainable weight's mean square, then its momentum, in the student's
 * trainable-weight order), new tensors the caller owns.
 */
export function mapOptimizerState(mapping: OptimizerStateMapping): OptimizerSlot[] {
  const { teacher, student, record, slots } = mapping;
  const teacherSlots = checkedTeacherSlots(teacher, slots);
  const mapped = new Map<string, SlotPair>();
  try {
    if (record.operator === 'deeper') checkDeeperRecord(teacher, student, record);
    else mapWidthSlots(teacher, record, teacherSlots, mapping.momentum ?? { rule: 'velocity' }, mapped);
    return studentSlots(student, record, teacherSlots, mapped);
  } finally {
    for (const pair of mapped.values()) tf.dispose([pair.rms, pair.momentum]);
  }
}

/** The teacher's slots by name, after checking that every trainable weight has both and nothing else is there. */
function checkedTeacherSlots(teacher: tf.LayersModel, slots: OptimizerSlot[]): Map<string, tf.Tensor> {
  const byName = new Map(slots.map((slot) => [slot.name, slot.tensor]));
  if (!byName.has('iter'))
    throw new Error(`mapOptimizerState: the teacher's slots have no 'iter' entry (got ${slots.length} slots)`);
  const expected = new Set(['iter']);
  for (const w of teacher.trainableWeights)
    for (const kind of SLOT_KINDS) {
      const name = `${w.originalName}/${kind}`;
      expected.add(name);
      const tensor = byName.get(name);
      if (!tensor) throw new Error(`mapOptimizerState: the teacher's slots have no '${name}'`);
      if (!tf.util.arraysEqual(tensor.shape, w.shape as number[]))
        throw new Error(`mapOptimizerState: slot '${name}' has shape [${tensor.shape}], its weight [${w.shape}]`);
    }
  const unknown = slots.filter((slot) => !expected.has(slot.name)).map((slot) => slot.name);
  if (unknown.length > 0)
    throw new Error(`mapOptimizerState: slots of no trainable weight of the teacher: ${unknown.join(', ')}`);
  return byName;
}

function checkDeeperRecord(teacher: tf.LayersModel, student: tf.LayersModel, record: DeeperRecord): void {
  const inserted = new Set(record.inserts.flatMap((insert) => insert.layers));
  const teacherLayers = new Set(teacher.layers.map((layer) => layer.name));
  for (const layer of student.layers)
    if (!teacherLayers.has(layer.name) && !inserted.has(layer.name))
      throw new Error(
        `mapOptimizerState: student layer '${layer.name}' is neither the teacher's nor inserted by the record`,
      );
}

/** Slots of every weight a width record changes, keyed by the weight's original name. */
function mapWidthSlots(
  teacher: tf.LayersModel,
  record: WidthRecord,
  slots: ReadonlyMap<string, tf.Tensor>,
  momentum: MomentumRule,
  mapped: Map<string, SlotPair>,
): void {
  const { graph, plan } = replayWidthPlan(teacher, record);
  if (JSON.stringify(plan.resolved) !== JSON.stringify(record.groups))
    throw new Error(
      `mapOptimizerState: the ${record.operator} record (seed ${record.seed}) does not replay on this teacher: ` +
        'its mappings were drawn on another model',
    );
  for (const { name, node, role, inMap, outMap } of widenedLayers(graph, plan)) {
    for (const w of teacher.getLayer(name).trainableWeights) {
      const remap = weightRemap(name, node, w.originalName, w.shape as number[], role, inMap, outMap);
      const ms = slots.get(`${w.originalName}/rms`)!.dataSync() as Float32Array;
      const mom = slots.get(`${w.originalName}/momentum`)!.dataSync() as Float32Array;
      const [newMs, newMom] =
        record.operator === 'randomPad'
          ? [padded(ms, remap), padded(mom, remap)]
          : replicated(ms, mom, remap, momentum);
      mapped.set(w.originalName, {
        rms: tf.tensor(newMs, remap.newShape, 'float32'),
        momentum: tf.tensor(newMom, remap.newShape, 'float32'),
      });
    }
  }
}

/** Loops over the [S, IN', OUT'] positions of a remapped weight with the teacher position each one copies. */
function gather(remap: WeightRemap, value: (src: number, i: number, j: number) => number): Float32Array {
  const [S, IN, OUT] = remap.view;
  const gIn = remap.inputMap?.g ?? identity(IN);
  const gOut = remap.outputMap?.g ?? identity(OUT);
  const out = new Float32Array(S * gIn.length * gOut.length);
  let at = 0;
  for (let s = 0; s < S; s++)
    for (let i = 0; i < gIn.length; i++)
      for (let j = 0; j < gOut.length; j++) out[at++] = value((s * IN + gIn[i]) * OUT + gOut[j], i, j);
  return out;
}

function identity(n: number): Int32Array {
  return Int32Array.from({ length: n }, (_, i) => i);
}

/** Replica count of each new position of a mapping (1 everywhere when there is none). */
function countAt(map: UnitMapping | undefined, positions: number): Int32Array {
  if (!map) return new Int32Array(positions).fill(1);
  const counts = replicaCounts(map);
  return Int32Array.from(map.g, (u) => counts[u]);
}

/** Net2WiderNet's slots: [mean square, momentum]. */
function replicated(
  ms: Float32Array,
  mom: Float32Array,
  remap: WeightRemap,
  momentum: MomentumRule,
): [Float32Array, Float32Array] {
  const [, IN, OUT] = remap.view;
  const inCounts = countAt(remap.inputMap, IN);
  const outCounts = countAt(remap.outputMap, OUT);
  const gradientCount = (i: number, j: number) => (remap.gradientCounts === 'output' ? outCounts[j] : inCounts[i]);
  const newMs = gather(remap, (src, i, j) => ms[src] / gradientCount(i, j) ** 2);
  const newMom = gather(remap, (src, i, j) => {
    if (momentum.rule === 'velocity') return remap.divideInput ? mom[src] / inCounts[i] : mom[src];
    const c = 1 / gradientCount(i, j);
    const eps = momentum.epsilon;
    return (mom[src] * c * Math.sqrt(ms[src] + eps)) / Math.sqrt(c * c * ms[src] + eps);
  });
  return [newMs, newMom];
}

/** Random pad's slots: the teacher's where both units are the teacher's own, zero where either is new. */
function padded(values: Float32Array, remap: WeightRemap): Float32Array {
  const inRanks = remap.inputMap ? replicaRanks(remap.inputMap) : null;
  const outRanks = remap.outputMap ? replicaRanks(remap.outputMap) : null;
  return gather(remap, (src, i, j) => ((inRanks?.[i] ?? 0) === 0 && (outRanks?.[j] ?? 0) === 0 ? values[src] : 0));
}

/** The student's slot list: mapped where the record changed a weight, zero for inserted layers, else the teacher's. */
function studentSlots(
  student: tf.LayersModel,
  record: TransformRecord,
  teacherSlots: ReadonlyMap<string, tf.Tensor>,
  mapped: ReadonlyMap<string, SlotPair>,
): OptimizerSlot[] {
  const inserted =
    record.operator === 'deeper' ? new Set(record.inserts.flatMap((insert) => insert.layers)) : new Set<string>();
  const layerOf = new Map(
    student.layers.flatMap((layer) => layer.trainableWeights.map((w) => [w.originalName, layer.name])),
  );
  const result: OptimizerSlot[] = [{ name: 'iter', tensor: teacherSlots.get('iter')!.clone() }];
  try {
    for (const kind of SLOT_KINDS)
      for (const w of student.trainableWeights) {
        const name = `${w.originalName}/${kind}`;
        const source = mapped.get(w.originalName)?.[kind] ?? teacherSlots.get(name);
        let tensor: tf.Tensor;
        if (source) tensor = source.clone();
        else if (inserted.has(layerOf.get(w.originalName) ?? '')) tensor = tf.zeros(w.shape as number[]);
        else throw new Error(`mapOptimizerState: no teacher slot for the student's weight '${w.originalName}'`);
        result.push({ name, tensor });
        if (!tf.util.arraysEqual(tensor.shape, w.shape as number[]))
          throw new Error(
            `mapOptimizerState: slot '${name}' maps to shape [${tensor.shape}], the student's weight has [${w.shape}]`,
          );
      }
    return result;
  } catch (err) {
    tf.dispose(result.map((slot) => slot.tensor));
    throw err;
  }
}
