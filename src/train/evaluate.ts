/**
 * Evaluation in inference mode (BatchNorm uses its moving statistics, or statistics re-estimated just before, see
 * precise-batch-norm.ts): one pass over the validation set, or over a fixed sample of training batches.
 */
import type * as tf from '@tensorflow/tfjs';
import type { Batch, Dataset } from '../data/dataset.ts';
import { inferenceTensors, readStep } from './local-step-engine.ts';

/** One batch's mean cross-entropy and right answers in inference mode (a step engine's, when it has its own). */
export type BatchEvaluator = (x: tf.Tensor4D, y: tf.Tensor1D) => Promise<{ loss: number; correct: number }>;

/** Evaluates `model` through TF.js. */
export function modelEvaluator(model: tf.LayersModel): BatchEvaluator {
  return (x, y) => readStep(inferenceTensors(model, x, y));
}

export interface Evaluation {
  /** Mean cross-entropy. */
  loss: number;
  /** Fraction of correct arg-max predictions, in [0, 1]. */
  accuracy: number;
  examples: number;
}

/** Accumulates loss and correct predictions over batches; `release` says whether each batch is disposed after. */
async function evaluateBatches(
  evaluateBatch: BatchEvaluator,
  batches: AsyncIterable<Batch> | Iterable<Batch>,
  release: boolean,
): Promise<Evaluation> {
  let lossSum = 0;
  let correct = 0;
  let examples = 0;
  for await (const { x, y } of batches) {
    try {
      const { loss, correct: right } = await evaluateBatch(x, y);
      lossSum += loss * x.shape[0];
      correct += right;
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

export async function evaluate(
  model: tf.LayersModel,
  dataset: Dataset,
  batchSize: number,
  evaluateBatch: BatchEvaluator = modelEvaluator(model),
): Promise<Evaluation> {
  const result = await evaluateBatches(evaluateBatch, dataset.valBatches(batchSize), true);
  if (result.examples === 0) throw new Error(`dataset '${dataset.name}' has no validation examples to evaluate on`);
  return result;
}

/** The same measure on batches the caller keeps (a fixed training sample); they are not disposed. */
export async function evaluateSample(
  model: tf.LayersModel,
  sample: readonly Batch[],
  evaluateBatch: BatchEvaluator = modelEvaluator(model),
): Promise<Evaluation> {
  if (sample.length === 0) throw new Error('evaluateSample: the sample has no batches');
  return evaluateBatches(evaluateBatch, sample, false);
}
