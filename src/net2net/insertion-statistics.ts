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
 */
import * as tf from '@tensorflow/tfjs';
import { withBatchNormRestored } from './batchnorm-state.ts';

export interface ChannelStatistics {
  mean: Float32Array;
  variance: Float32Array;
  samples: number;
}

export function measureChannelStatistics(
  model: tf.LayersModel,
  layerNames: string[],
  data: tf.Tensor | tf.Tensor[],
  mode: 'training' | 'inference',
): Map<string, ChannelStatistics> {
  // The probe shares the model's layers: it must never be disposed (that would dispose the model's weights).
  const probe = tf.model({
    inputs: model.inputs,
    outputs: layerNames.map((n) => model.getLayer(n).output as tf.SymbolicTensor),
  });
  const samples = (Array.isArray(data) ? data[0] : data).shape[0];
  const measure = (): Map<string, ChannelStatistics> => {
    const moments = tf.tidy(() => {
      const outputs = [probe.apply(data, { training: mode === 'training' }) as tf.Tensor | tf.Tensor[]].flat();
      return outputs.map((out) => {
        const { mean, variance } = tf.moments(out, [...Array(out.rank - 1).keys()]);
        return [mean, variance];
      });
    });
    const result = new Map<string, ChannelStatistics>();
    layerNames.forEach((name, i) => {
      const [mean, variance] = moments[i];
      result.set(name, {
        mean: new Float32Array(mean.dataSync()),
        variance: new Float32Array(variance.dataSync()),
        samples,
      });
    });
    tf.dispose(moments);
    return result;
  };
  return mode === 'training' ? withBatchNormRestored([model], measure) : measure();
}
