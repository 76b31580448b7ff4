/**
 * A grown student's initial optimizer state: its teacher's RMSProp slots, read from the teacher run's checkpoint and
 * mapped through the operator's transform record (src/net2net/optimizer-state.ts). The entry point for starting
 * students with transferred rather than fresh optimizer state (`TrainOptions.initialOptimizerState`).
 */
import type * as tf from '@tensorflow/tfjs';
import type { MomentumRule } from '../net2net/optimizer-state.ts';
import { mapOptimizerState } from '../net2net/optimizer-state.ts';
import type { TransformRecord } from '../net2net/transform-record.ts';
import { readOptimizerSlots } from '../train/checkpoint.ts';
import type { NamedSlot } from '../train/optimizer-slots.ts';

/**
 * The student's slots (the caller owns them) from the teacher checkpoint folder `teacherCheckpoint` (whose model is
 * `teacher`) and the records of the transform that made `student` from it: one record, since a chain of transforms
 * would need each intermediate model.
 */
export function transferredOptimizerState(
  teacherCheckpoint: string,
  teacher: tf.LayersModel,
  student: tf.LayersModel,
  records: readonly TransformRecord[],
  momentum?: MomentumRule,
): NamedSlot[] {
  if (records.length !== 1)
    throw new Error(
      `transferring optimizer state needs the record of exactly one transform, got ${records.length} ` +
        `(${records.map((r) => r.operator).join(', ') || 'none'})`,
    );
  const slots = readOptimizerSlots(teacherCheckpoint);
  try {
    return mapOptimizerState({ teacher, student, record: records[0]!, slots, momentum });
  } finally {
    for (const slot of slots) slot.tensor.dispose();
  }
}
