/**
 * Verifying function preservation: the maximum absolute output difference between teacher and student over given
 * inputs (never a signed sum, where errors cancel), relative to the teacher's output scale.
 */
import * as tf from '@tensorflow/tfjs';
import { withBatchNormRestored } from './batchnorm-state.ts';
import { strictFloat32 } from '../backend/precision.ts';

export interface CheckOptions {
  /** Run both models in training mode (BatchNorm on batch statistics; their moving statistics are restored). */
  training?: boolean;
  /** Largest accepted maxRel; default 1e-5. */
  tolerance?: number;
}

export interface CheckResult {
  /** max |teacher(x) - student(x)| over every output element of every input. */
  maxAbs: number;
  /** maxAbs / max |teacher(x)| (the output scale). */
  maxRel: number;
  ok: boolean;
}

export const DEFAULT_TOLERANCE = 1e-5;

export function checkPreserved(
  teacher: tf.LayersModel,
  student: tf.LayersModel,
  inputs: tf.Tensor | tf.Tensor[],
  options: CheckOptions = {},
): CheckResult {
  const training = options.training ?? false;
  const tolerance = options.tolerance ?? DEFAULT_TOLERANCE;
  const measure = (): [number, number] => {
    const result = tf.tidy(() => {
      const t = [teacher.apply(inputs, { training }) as tf.Tensor | tf.Tensor[]].flat();
      const s = [student.apply(inputs, { training }) as tf.Tensor | tf.Tensor[]].flat();
      if (t.length !== s.length) throw new Error(`teacher has ${t.length} outputs, student ${s.length}`);
      const diffs = t.map((out, i) => {
        if (!tf.util.arraysEqual(out.shape, s[i].shape))
          throw new Error(`output ${i}: teacher shape [${out.shape}] but student shape [${s[i].shape}]`);
        return tf.stack([tf.max(tf.abs(tf.sub(out, s[i]))), tf.max(tf.abs(out))]);
      });
      return tf.max(tf.stack(diffs), 0);
    });
    const [maxAbs, scale] = result.dataSync();
    result.dispose();
    return [maxAbs, scale];
  };
  // Strict float32 whatever the training precision (no bf16, no TF32): the check measures exactness.
  const [maxAbs, scale] = strictFloat32(() =>
    training ? withBatchNormRestored([teacher, student], measure) : measure(),
  );
  const maxRel = scale > 0 ? maxAbs / scale : maxAbs;
  return { maxAbs, maxRel, ok: Number.isFinite(maxRel) && maxRel <= tolerance };
}
