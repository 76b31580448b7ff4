/**
 * Per-channel mean and variance of layer outputs on a batch of training data, for initializing the BatchNorm of an
 * inserted identity layer.
 *
 * 'training' runs the model in training mode (BatchNorm on batch statistics), as it will run while the student
 * trains; that makes the inserted BatchNorm close to an identity in training mode too. 'inference' uses the moving
 * statistics. Both give an exact identity at inference, since the moving statistics are set to the same values.
 *
 * 'training' keeps an insert far closer to an identity in training mode than 'inference' (the README's Library
 * section gives the figures test/net2net-deeper.test.ts measures).
 *
 * With a batch size, the moments are averaged over batches of it (weighted by batch size), which is what precise
 * BatchNorm evaluation re-estimates: the insert then stays an identity after that re-estimation, where the moments
 * of one whole batch leave it measurably off.
 */
import type * as tf from '@tensorflow/tfjs';
import { averagedBatchMoments } from '../moments/batch-moments.ts';
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
