/**
 * A fixed sample of training batches, drawn once per run: what "accuracy on the training set" is measured on (in
 * inference mode, the paper's training-accuracy panels), and what BatchNorm statistics are re-estimated from before an
 * evaluation. Drawn with its own seed from position 0, so it is the same images (with the same augmentation) at every
 * evaluation and in a resumed run, and it does not move the training stream.
 */
import * as tf from '@tensorflow/tfjs';
import type { Batch, Dataset } from './dataset.ts';

export interface TrainSampleOptions {
  /** Examples in the sample (rounded up to whole batches). */
  examples: number;
  batchSize: number;
  seed: number;
}

export async function drawTrainSample(dataset: Dataset, options: TrainSampleOptions): Promise<Batch[]> {
  const { examples, batchSize, seed } = options;
  if (!(Number.isInteger(examples) && examples > 0)) throw new Error(`train sample: examples must be a positive integer, got ${examples}`);
  const batches: Batch[] = [];
  const iterator = dataset.trainBatches({ batchSize, seed, start: 0 });
  try {
    while (batches.length * batchSize < examples) {
      const next = await iterator.next();
      if (next.done) break;
      batches.push(next.value);
    }
  } catch (err) {
    tf.dispose(batches.flatMap((b) => [b.x, b.y]));
    throw err;
  } finally {
    await iterator.return?.(undefined);
  }
  return batches;
}

export function disposeSample(sample: readonly Batch[]): void {
  tf.dispose(sample.flatMap((b) => [b.x, b.y]));
}
