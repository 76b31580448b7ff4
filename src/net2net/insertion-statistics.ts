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
import type * as tf from '@tensorflow/tfjs';
import { averagedBatchMoments } from '../models/batch-moments.ts';
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
  const inputs = Array.isArray(data) ? data : [data];
  const samples = inputs[0]!.shape[0];
  const chunk = batchSize ?? samples;
  if (!(Number.isInteger(chunk) && chunk > 0))
    throw new Error(`deeper: statisticsBatchSize must be a positive integer; got ${String(batchSize)}`);
  const outputs = layerNames.map((n) => model.getLayer(n).output as tf.SymbolicTensor);
  const batchAt = (i: number): tf.Tensor | tf.Tensor[] => {
    const slice = inputs.map((x) => x.slice(i * chunk, Math.min(chunk, samples - i * chunk)));
    return slice.length === 1 ? slice[0]! : slice;
  };
  const measure = () => averagedBatchMoments(model, outputs, Math.ceil(samples / chunk), batchAt, mode === 'training');
  const moments = mode === 'training' ? withBatchNormRestored([model], measure) : measure();
  const result = new Map<string, ChannelStatistics>();
  layerNames.forEach((name, i) => {
    result.set(name, {
      mean: Float32Array.from(moments[i]!.mean),
      variance: Float32Array.from(moments[i]!.variance),
      samples,
      batchSize: chunk,
    });
  });
  return result;
}
