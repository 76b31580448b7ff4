/**
 * Per-channel mean and variance of layer outputs on a batch of training data, for initializing the BatchNorm of an
 * inserted identity layer.
 *
 * 'training' runs the model in training mode (BatchNorm on batch statistics), as it will run while the student
 * trains; that makes the inserted BatchNorm close to an identity in training mode too. 'inference' uses the moving
 * statistics. Both give an exact identity at inference, since the moving statistics are set to the same values.
 *
 * Measured (test/net2net-deeper.test.ts: random-BN fixtures, statistics from 256 inputs, checked on 128 others;
 * maximum absolute difference relative to the output scale, both models in training mode):
 * - conv + BN inserts: 2.5e-3 to 1.5e-2 with 'training' statistics, 0.16 to 0.74 with 'inference' statistics;
 *   on the very batch the statistics came from, 'training' gives 1e-7 (vs 0.25);
 * - dense + BN inserts: 3e-4 to 0.10 with 'training', 0.29 to 0.30 with 'inference' (behind sparse ReLU units a
 *   dense insert stays far from the identity in training mode: batch statistics of few samples vary a lot);
 * - at inference every case is below 2e-7 either way.
 *
 * With a batch size, the moments are averaged over batches of it (weighted by batch size), which is what precise
 * BatchNorm evaluation re-estimates: the insert then stays an identity (1e-7) after that re-estimation, where one
 * batch of 64 leaves it 4e-4 to 1.4e-3 off (same test file).
 */
import * as tf from '@tensorflow/tfjs';
import { withBatchNormRestored } from './batchnorm-state.ts';

export interface ChannelStatistics {
  mean: Float32Array;
  variance: Float32Array;
  samples: number;
  /** Inputs per batch the moments were averaged over (= samples: one batch). */
  batchSize: number;
}

export function measureChannelStatistics(
  model: tf.LayersModel,
  layerNames: string[],
  data: tf.Tensor | tf.Tensor[],
  mode: 'training' | 'inference',
  batchSize?: number,
): Map<string, ChannelStatistics> {
  // The probe shares the model's layers: it must never be disposed (that would dispose the model's weights).
  const probe = tf.model({
    inputs: model.inputs,
    outputs: layerNames.map((n) => model.getLayer(n).output as tf.SymbolicTensor),
  });
  const inputs = Array.isArray(data) ? data : [data];
  const samples = inputs[0]!.shape[0];
  const chunk = batchSize ?? samples;
  if (!(Number.isInteger(chunk) && chunk > 0))
    throw new Error(`deeper: statisticsBatchSize must be a positive integer; got ${String(batchSize)}`);
  // Weighted by chunk size, as precise BatchNorm averages batch moments (train/precise-batch-norm.ts).
  const sums = layerNames.map(() => ({ mean: null as Float64Array | null, variance: null as Float64Array | null }));
  const measure = (): void => {
    for (let start = 0; start < samples; start += chunk) {
      const n = Math.min(chunk, samples - start);
      const moments = tf.tidy(() => {
        const slice = inputs.map((x) => x.slice(start, n));
        const outputs = [
          probe.apply(slice.length === 1 ? slice[0]! : slice, { training: mode === 'training' }) as
            tf.Tensor | tf.Tensor[],
        ].flat();
        return outputs.map((out) => {
          const { mean, variance } = tf.moments(out, [...Array(out.rank - 1).keys()]);
          return [mean, variance];
        });
      });
      moments.forEach(([mean, variance], i) => {
        const m = mean!.dataSync();
        const v = variance!.dataSync();
        const sum = sums[i]!;
        sum.mean ??= new Float64Array(m.length);
        sum.variance ??= new Float64Array(v.length);
        for (let c = 0; c < m.length; c++) {
          sum.mean[c] += m[c]! * n;
          sum.variance[c] += v[c]! * n;
        }
      });
      tf.dispose(moments);
    }
  };
  if (mode === 'training') withBatchNormRestored([model], measure);
  else measure();
  const result = new Map<string, ChannelStatistics>();
  layerNames.forEach((name, i) => {
    const sum = sums[i]!;
    result.set(name, {
      mean: Float32Array.from(sum.mean!, (v) => v / samples),
      variance: Float32Array.from(sum.variance!, (v) => v / samples),
      samples,
      batchSize: chunk,
    });
  });
  return result;
}
