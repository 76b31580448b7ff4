/**
 * Per-channel batch moments of tensors inside a model, averaged over several batches: what precise BatchNorm
 * re-estimates before an evaluation (train/precise-batch-norm.ts) and what Net2DeeperNet sets its inserted
 * BatchNorm layers from (net2net/insertion-statistics.ts).
 */
import * as tf from '@tensorflow/tfjs';

export interface ChannelMoments {
  mean: Float64Array;
  variance: Float64Array;
}

/**
 * The mean and biased variance of each of `tensors` (symbolic tensors of `model`, channels last) over every axis but
 * the last, per batch, averaged over `batches` batches weighted by their size. `batchAt(i)` gives batch i's inputs;
 * tensors it creates are disposed after use. In training mode the TensorFlow.js BatchNorm layers also move their
 * moving averages: callers that must keep them save and restore them.
 */
export function averagedBatchMoments(
  model: tf.LayersModel,
  tensors: readonly tf.SymbolicTensor[],
  batches: number,
  batchAt: (i: number) => tf.Tensor | tf.Tensor[],
  training: boolean,
): ChannelMoments[] {
  // The probe shares the model's layers: it must never be disposed (that would dispose the model's weights).
  const probe = tf.model({ inputs: model.inputs, outputs: [...tensors] });
  const sums = tensors.map((t) => {
    const channels = t.shape.at(-1) as number;
    return { mean: new Float64Array(channels), variance: new Float64Array(channels) };
  });
  let examples = 0;
  for (let i = 0; i < batches; i++) {
    let n = 0;
    const moments = tf.tidy(() => {
      const x = batchAt(i);
      n = (Array.isArray(x) ? x[0]! : x).shape[0]!;
      const out = probe.apply(x, { training });
      return (Array.isArray(out) ? out : [out]).map((t) => {
        const m = tf.moments(t as tf.Tensor, [...Array(t.rank - 1).keys()]);
        return [m.mean.dataSync(), m.variance.dataSync()] as const;
      });
    });
    moments.forEach(([mean, variance], k) => {
      for (let c = 0; c < mean.length; c++) {
        sums[k]!.mean[c] += mean[c]! * n;
        sums[k]!.variance[c] += variance[c]! * n;
      }
    });
    examples += n;
  }
  for (const s of sums) {
    s.mean.forEach((v, c) => (s.mean[c] = v / examples));
    s.variance.forEach((v, c) => (s.variance[c] = v / examples));
  }
  return sums;
}
