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

export async function stratifiedValSample(dataset: Dataset, perClass: number, batchSize = 64): Promise<StratifiedSample> {
  if (!(Number.isInteger(perClass) && perClass > 0)) throw new Error(`perClass must be a positive integer, got ${perClass}`);
  const classes = dataset.classNames.length;
  const taken = new Array<number>(classes).fill(0);
  const keptX: tf.Tensor[] = [];
  const keptY: number[] = [];
  const full = () => taken.every((n) => n >= perClass);
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
      x.dispose();
      y.dispose();
      if (full()) break;
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
