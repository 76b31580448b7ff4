/** Validation: one pass over the validation set in inference mode (BatchNorm uses its moving statistics). */
import type * as tf from '@tensorflow/tfjs';
import type { Dataset } from '../data/dataset.ts';
import { classificationLoss } from './classification-loss.ts';

export interface Evaluation {
  /** Mean cross-entropy over the validation set. */
  loss: number;
  /** Fraction of correct arg-max predictions, in [0, 1]. */
  accuracy: number;
  examples: number;
}

export async function evaluate(model: tf.LayersModel, dataset: Dataset, batchSize: number): Promise<Evaluation> {
  let lossSum = 0;
  let correct = 0;
  let examples = 0;
  for await (const { x, y } of dataset.valBatches(batchSize)) {
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
      x.dispose();
      y.dispose();
    }
  }
  if (examples === 0) throw new Error(`dataset '${dataset.name}' has no validation examples to evaluate on`);
  return { loss: lossSum / examples, accuracy: correct / examples, examples };
}
