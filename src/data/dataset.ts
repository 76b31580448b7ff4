/**
 * The one dataset interface the trainer consumes. Every source (ImageNet folders, Fashion-MNIST, synthetic)
 * implements it.
 */
import type * as tf from '@tensorflow/tfjs';

/** Input shape, channels last: [height, width, channels]. */
export type InputShape = [number, number, number];

/** One batch. The consumer owns the tensors and disposes them. */
export interface Batch {
  /** Images, NHWC float32, normalized. */
  x: tf.Tensor4D;
  /** Class indices, int32, shape [n]. */
  y: tf.Tensor1D;
}

export interface TrainBatchOptions {
  batchSize: number;
  /** Seed of the shuffle: the same seed gives the same order, whatever the loader's concurrency. */
  seed: number;
  /**
   * Position to start from, in training examples consumed since the start of training (across epochs). Epoch e
   * is a permutation of the training set seeded by (seed, e); position p is example p mod N of epoch floor(p / N).
   * Resuming at the position a checkpoint recorded continues the exact same sequence. Batches straddle epoch
   * boundaries (nothing is dropped), so any integer is a valid start; random augmentation is a function of
   * (seed, position), so resumed and differently-parallel runs see the same images.
   */
  start?: number;
}

export interface Dataset {
  /** e.g. 'fashion-mnist', 'imagenet:/data/ilsvrc', 'synthetic'. */
  readonly name: string;
  readonly inputShape: InputShape;
  readonly classNames: readonly string[];
  readonly numTrain: number;
  readonly numVal: number;
  /** Endless training batches (epoch after epoch), each of exactly batchSize examples. */
  trainBatches(options: TrainBatchOptions): AsyncIterableIterator<Batch>;
  /**
   * The validation set once, in a fixed order; the last batch may be smaller. Image folders leave out files that
   * fail to decode (and refill the batch from the next files), so the examples seen can be fewer than numVal.
   */
  valBatches(batchSize: number): AsyncIterableIterator<Batch>;
  /** Files skipped as unreadable/corrupt so far, with the reason (empty for in-memory datasets). */
  readonly skipped: readonly { path: string; reason: string }[];
  /** Releases workers, file handles, prefetch queues. */
  close(): Promise<void>;
}
