/**
 * Per-channel normalization of 8-bit pixels to float32: (v / 255 - mean[c]) / std[c], through one 256-entry lookup
 * table per channel, and assembly of normalized batches into tensors.
 */
import * as tf from '@tensorflow/tfjs';
import type { Batch, InputShape } from './dataset.ts';

/** Mean and standard deviation per channel, in [0, 1] pixel units. */
export interface Normalization {
  mean: readonly number[];
  std: readonly number[];
}

/** The usual ImageNet RGB statistics. */
export const IMAGENET_NORMALIZATION: Normalization = { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] };

export class PixelNormalizer {
  private readonly tables: Float32Array[];

  constructor(
    readonly normalization: Normalization,
    readonly channels: number,
  ) {
    const { mean, std } = normalization;
    if (mean.length !== channels || std.length !== channels) {
      throw new Error(`normalization has ${mean.length} means and ${std.length} stds for ${channels} channels`);
    }
    this.tables = mean.map((m, c) => {
      const s = std[c]!;
      if (!(s > 0)) throw new Error(`normalization std of channel ${c} must be positive, got ${s}`);
      const table = new Float32Array(256);
      for (let v = 0; v < 256; v++) table[v] = (v / 255 - m) / s;
      return table;
    });
  }

  /** Normalized value of raw pixel value `v` in channel `c`. */
  value(v: number, c: number): number {
    return this.tables[c]![v]!;
  }

  /** Writes `pixels` interleaved pixels (HWC) from `src` at `srcOffset` into `dst` at `dstOffset`. */
  write(src: Uint8Array, srcOffset: number, dst: Float32Array, dstOffset: number, pixels: number): void {
    const channels = this.channels;
    if (channels === 1) {
      const t = this.tables[0]!;
      for (let i = 0; i < pixels; i++) dst[dstOffset + i] = t[src[srcOffset + i]!]!;
    } else if (channels === 3) {
      const [t0, t1, t2] = this.tables as [Float32Array, Float32Array, Float32Array];
      const n = pixels * 3;
      for (let i = 0; i < n; i += 3) {
        dst[dstOffset + i] = t0[src[srcOffset + i]!]!;
        dst[dstOffset + i + 1] = t1[src[srcOffset + i + 1]!]!;
        dst[dstOffset + i + 2] = t2[src[srcOffset + i + 2]!]!;
      }
    } else {
      const n = pixels * channels;
      for (let i = 0; i < n; i++) dst[dstOffset + i] = this.tables[i % channels]![src[srcOffset + i]!]!;
    }
  }
}

/** Wraps filled buffers as a batch; the tensors take the buffers over (do not reuse them). */
export function makeBatch(x: Float32Array, labels: Int32Array, shape: InputShape): Batch {
  const n = labels.length;
  if (x.length !== n * shape[0] * shape[1] * shape[2]) {
    throw new Error(`makeBatch: ${x.length} values do not make ${n} images of ${shape.join('x')}`);
  }
  return { x: tf.tensor4d(x, [n, ...shape], 'float32'), y: tf.tensor1d(labels, 'int32') };
}
