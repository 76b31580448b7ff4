/**
 * A class-balanced sample of the validation set. Validation sets are often stored sorted by class (class folders,
 * Fashion-MNIST's test file is not, ImageNet's class-folder layout is): the first batch can hold a handful of classes,
 * so a check run on "the first N images" says little about the rest. This reads validation batches until every class
 * has `perClass` examples (or the set ends) and keeps those.
 */
import * as tf from '@tensorflow/tfjs';
import type { Dataset } from './dataset.ts';

export interface StratifiedSample {
  /** NHWC images, `perClass` per class where the set has them, in the order met. */
  x: tf.Tensor4D;
  y: tf.Tensor1D;
  /** Examples taken per class index. */
  perClassTaken: number[];
}

/**
 * Reads at most `maxRead` validation examples (default: 20 times the sample, at least 2,000): a set stored by class
 * would otherwise be read whole (ImageNet's 50,000 images) to find the last class.
 */
export async function stratifiedValSample(
  dataset: Dataset,
  perClass: number,
  batchSize = 64,
  maxRead = Math.max(2000, 20 * perClass * dataset.classNames.length),
): Promise<StratifiedSample> {
  if (!(Number.isInteger(perClass) && perClass > 0)) throw new Error(`perClass must be a positive integer, got ${perClass}`);
  const classes = dataset.classNames.length;
  const taken = new Array<number>(classes).fill(0);
  const keptX: tf.Tensor[] = [];
  const keptY: number[] = [];
  const full = () => taken.every((n) => n >= perClass);
  let read = 0;
  const iterator = dataset.valBatches(batchSize);
  try {
    for await (const { x, y } of iterator) {
      const labels = y.dataSync();
      const rows: number[] = [];
      labels.forEach((label, i) => {
        if (taken[label]! < perClass) {
          taken[label]!++;
          rows.push(i);
          keptY.push(label);
        }
      });
      if (rows.length > 0) keptX.push(tf.tidy(() => tf.gather(x, rows)));
      read += labels.length;
      x.dispose();
      y.dispose();
      if (full() || read >= maxRead) break;
    }
  } finally {
    await iterator.return?.(undefined);
  }
  if (keptY.length === 0) {
    tf.dispose(keptX);
    throw new Error(`dataset '${dataset.name}' has no validation examples to sample`);
  }
  const x = tf.concat(keptX) as tf.Tensor4D;
  tf.dispose(keptX);
  return { x, y: tf.tensor1d(keptY, 'int32'), perClassTaken: taken };
}
