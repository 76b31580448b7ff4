/**
 * The order of training examples: epoch e is a permutation of 0..n-1 seeded by (seed, e), and position p (examples
 * consumed since the start of training) is example `permutation(seed, floor(p / n))[p mod n]`. Batches straddle
 * epoch boundaries, so a batch is always full and `start` is any non-negative integer.
 */
import { hashSeed, seededPermutation } from '../random/seeded-random.ts';

export class TrainOrder {
  /** The two most recent epochs' permutations: a batch may straddle two epochs. */
  private readonly cache = new Map<number, Uint32Array>();

  constructor(
    readonly size: number,
    readonly seed: number,
  ) {
    if (!Number.isInteger(size) || size <= 0) throw new Error(`TrainOrder: dataset size must be positive, got ${size}`);
    if (!Number.isSafeInteger(seed) || seed < 0) throw new Error(`TrainOrder: seed must be a non-negative integer, got ${seed}`);
  }

  permutation(epoch: number): Uint32Array {
    let perm = this.cache.get(epoch);
    if (!perm) {
      perm = seededPermutation(this.size, hashSeed(this.seed, epoch));
      this.cache.set(epoch, perm);
      for (const key of this.cache.keys()) if (key < epoch - 1 || key > epoch + 1) this.cache.delete(key);
    }
    return perm;
  }

  epochOf(position: number): number {
    return Math.floor(position / this.size);
  }

  /** Example index at `offset` within epoch `epoch` (offset taken mod n). */
  exampleIn(epoch: number, offset: number): number {
    return this.permutation(epoch)[offset % this.size]!;
  }

  exampleAt(position: number): number {
    return this.exampleIn(this.epochOf(position), position % this.size);
  }
}

export function checkTrainBatchOptions(batchSize: number, seed: number, start: number): void {
  if (!Number.isInteger(batchSize) || batchSize <= 0) throw new Error(`trainBatches: batchSize must be a positive integer, got ${batchSize}`);
  if (!Number.isSafeInteger(seed) || seed < 0) throw new Error(`trainBatches: seed must be a non-negative integer, got ${seed}`);
  if (!Number.isSafeInteger(start) || start < 0) throw new Error(`trainBatches: start must be a non-negative integer, got ${start}`);
}
