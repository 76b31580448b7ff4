/**
 * Evaluation in inference mode (BatchNorm uses its moving statistics, or statistics re-estimated just before, see
 * precise-batch-norm.ts): one pass over the validation set, or over a fixed sample of training batches.
 */
import type * as tf from '@tensorflow/tfjs';
import type { Batch, Dataset } from '../data/dataset.ts';
import { classificationLoss } from './classification-loss.ts';

export interface Evaluation {
  /** Mean cross-entropy. */
  loss: number;
  /** Fraction of correct arg-max predictions, in [0, 1]. */
  accuracy: number;
  examples: number;
}

/** Accumulates loss and correct predictions over batches; `release` says whether each batch is disposed after. */
async function evaluateBatches(
  model: tf.LayersModel,
  batches: AsyncIterable<Batch> | Iterable<Batch>,
  release: boolean,
): Promise<Evaluation> {
  let lossSum = 0;
  let correct = 0;
  let examples = 0;
  for await (const { x, y } of batches) {
    try {
      const parts = classificationLoss(model, x, y, 0, false);
      const [loss, right] = await Promise.all([parts.crossEntropy.data(), parts.correct.data()]);
      parts.total.dispose();
      parts.crossEntropy.dispose();
      parts.correct.dispose();
      lossSum += loss[0] * x.shape[0];
      correct += right[0];
      examples += x.shape[0];
    } finally {
      if (release) {
        x.dispose();
        y.dispose();
      }
    }
  }
  return { loss: lossSum / examples, accuracy: correct / examples, examples };
}

export async function evaluate(model: tf.LayersModel, dataset: Dataset, batchSize: number): Promise<Evaluation> {
  const result = await evaluateBatches(model, dataset.valBatches(batchSize), true);
  if (result.examples === 0) throw new Error(`dataset '${dataset.name}' has no validation examples to evaluate on`);
  return result;
}

/** The same measure on batches the caller keeps (a fixed training sample); they are not disposed. */
export async function evaluateSample(model: tf.LayersModel, sample: readonly Batch[]): Promise<Evaluation> {
  if (sample.length === 0) throw new Error('evaluateSample: the sample has no batches');
  return evaluateBatches(model, sample, false);
}
