/**
 * Verifying function preservation: the maximum absolute output difference between teacher and student over given
 * inputs (never a signed sum, where errors cancel), relative to the teacher's output scale.
 *
 * The scale is the larger of max |teacher(x)| and, where the output layer is a linear Dense, the magnitude of the
 * terms it sums into each output, max over inputs and outputs of sum_j |h_j W_ji| + |b_i| (h: its input). Float32
 * rounding anywhere below perturbs an output in proportion to that magnitude (the usual bound for a dot product), not
 * to the output itself, which is near zero in a barely trained network: there max |teacher(x)| alone made an exact
 * transform look inexact (a smoke-preset Net2DeeperNet student: logits of at most 0.037, max abs 3.9e-7, 1.05e-5
 * relative to them).
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
  /** maxAbs / the output scale (max |teacher(x)|, or the Dense output's term magnitude where larger). */
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
      const terms = outputTermMagnitude(teacher, inputs, training);
      if (terms !== null) diffs.push(tf.stack([tf.scalar(0), terms]));
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

/**
 * max over inputs and outputs of sum_j |h_j W_ji| + |b_i| for a model whose single output layer is a linear Dense
 * (h: that layer's input); null for any other model.
 */
function outputTermMagnitude(
  model: tf.LayersModel,
  inputs: tf.Tensor | tf.Tensor[],
  training: boolean,
): tf.Scalar | null {
  if (model.outputLayers.length !== 1) return null;
  const layer = model.outputLayers[0]!;
  const config = layer.getConfig();
  if (layer.getClassName() !== 'Dense' || (config.activation ?? 'linear') !== 'linear') return null;
  const features = tf.model({ inputs: model.inputs, outputs: layer.input as tf.SymbolicTensor });
  const h = features.apply(inputs, { training }) as tf.Tensor;
  const [kernel, bias] = layer.getWeights();
  let magnitude: tf.Tensor = tf.matMul(tf.abs(h.reshape([-1, h.shape[h.shape.length - 1]!])), tf.abs(kernel!));
  if (bias !== undefined) magnitude = tf.add(magnitude, tf.abs(bias));
  return tf.max(magnitude) as tf.Scalar;
}
