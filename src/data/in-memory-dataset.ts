/**
 * A dataset held in memory as 8-bit HWC images (Fashion-MNIST, synthetic): batches are gathered, optionally
 * augmented (zero-pad + random crop + horizontal flip, drawn from (seed, position)), normalized and wrapped as tensors.
 */
import type { Batch, Dataset, InputShape, TrainBatchOptions } from './dataset.ts';
import { PixelNormalizer, makeBatch } from './pixel-normalization.ts';
import type { Normalization } from './pixel-normalization.ts';
import { SeededRandom, hashSeed } from '../random/seeded-random.ts';
import { TrainOrder, checkTrainBatchOptions } from './train-order.ts';

/** Images [n, h, w, c] as bytes and their class indices. */
export interface ImageArray {
  pixels: Uint8Array;
  labels: Int32Array;
}

export interface InMemoryAugmentation {
  /** Zero padding on each side before a random crop back to the original size; 0 disables the crop. */
  pad: number;
  flip: boolean;
}

export interface InMemoryDatasetConfig {
  name: string;
  inputShape: InputShape;
  classNames: readonly string[];
  train: ImageArray;
  val: ImageArray;
  normalization: Normalization;
  augmentation?: InMemoryAugmentation | null;
}

export class InMemoryDataset implements Dataset {
  readonly name: string;
  readonly inputShape: InputShape;
  readonly classNames: readonly string[];
  readonly numTrain: number;
  readonly numVal: number;
  readonly skipped: readonly { path: string; reason: string }[] = [];
  readonly normalization: Normalization;
  readonly augmentation: InMemoryAugmentation | null;
  private readonly train: ImageArray;
  private readonly val: ImageArray;
  private readonly normalizer: PixelNormalizer;
  private readonly imageSize: number;

  constructor(config: InMemoryDatasetConfig) {
    const [h, w, c] = config.inputShape;
    this.imageSize = h * w * c;
    for (const [split, data] of [
      ['train', config.train],
      ['val', config.val],
    ] as const) {
      if (data.pixels.length !== data.labels.length * this.imageSize) {
        throw new Error(`${config.name}: ${split} has ${data.pixels.length} bytes for ${data.labels.length} images of ${h}x${w}x${c}`);
      }
      for (const label of data.labels) {
        if (label < 0 || label >= config.classNames.length) {
          throw new Error(`${config.name}: ${split} label ${label} outside 0..${config.classNames.length - 1}`);
        }
      }
    }
    if (config.train.labels.length === 0) throw new Error(`${config.name}: no training images`);
    this.name = config.name;
    this.inputShape = config.inputShape;
    this.classNames = config.classNames;
    this.train = config.train;
    this.val = config.val;
    this.numTrain = config.train.labels.length;
    this.numVal = config.val.labels.length;
    this.normalization = config.normalization;
    this.normalizer = new PixelNormalizer(config.normalization, c);
    this.augmentation = config.augmentation ?? null;
  }

  async *trainBatches(options: TrainBatchOptions): AsyncIterableIterator<Batch> {
    const { batchSize, seed } = options;
    const start = options.start ?? 0;
    checkTrainBatchOptions(batchSize, seed, start);
    const order = new TrainOrder(this.numTrain, seed);
    for (let position = start; ; position += batchSize) {
      const x = new Float32Array(batchSize * this.imageSize);
      const y = new Int32Array(batchSize);
      for (let i = 0; i < batchSize; i++) {
        const example = order.exampleAt(position + i);
        y[i] = this.train.labels[example]!;
        if (this.augmentation) this.writeAugmented(example, hashSeed(seed, position + i), x, i * this.imageSize);
        else this.normalizer.write(this.train.pixels, example * this.imageSize, x, i * this.imageSize, this.imageSize / this.inputShape[2]);
      }
      yield makeBatch(x, y, this.inputShape);
    }
  }

  async *valBatches(batchSize: number): AsyncIterableIterator<Batch> {
    if (!Number.isInteger(batchSize) || batchSize <= 0) throw new Error(`valBatches: batchSize must be a positive integer, got ${batchSize}`);
    const pixelsPerImage = this.imageSize / this.inputShape[2];
    for (let first = 0; first < this.numVal; first += batchSize) {
      const n = Math.min(batchSize, this.numVal - first);
      const x = new Float32Array(n * this.imageSize);
      this.normalizer.write(this.val.pixels, first * this.imageSize, x, 0, n * pixelsPerImage);
      yield makeBatch(x, this.val.labels.slice(first, first + n), this.inputShape);
    }
  }

  async close(): Promise<void> {}

  /** Pad-crop-flip of one training image, drawn from `augmentSeed`, normalized into `dst`. */
  private writeAugmented(example: number, augmentSeed: number, dst: Float32Array, dstOffset: number): void {
    const [h, w, c] = this.inputShape;
    const { pad, flip } = this.augmentation!;
    const rng = new SeededRandom(augmentSeed);
    const dy = pad > 0 ? rng.int(2 * pad + 1) - pad : 0;
    const dx = pad > 0 ? rng.int(2 * pad + 1) - pad : 0;
    const mirror = flip && rng.next() < 0.5;
    const src = this.train.pixels;
    const base = example * this.imageSize;
    for (let y = 0; y < h; y++) {
      const sy = y + dy;
      for (let x = 0; x < w; x++) {
        const sx = (mirror ? w - 1 - x : x) + dx;
        const inside = sy >= 0 && sy < h && sx >= 0 && sx < w;
        const o = dstOffset + (y * w + x) * c;
        const s = base + (sy * w + sx) * c;
        for (let ch = 0; ch < c; ch++) dst[o + ch] = this.normalizer.value(inside ? src[s + ch]! : 0, ch);
      }
    }
  }
}
