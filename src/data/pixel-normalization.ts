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
  /** value = v * scale[c] + bias[c] = (v / 255 - mean[c]) / std[c] */
  private readonly scale: number[];
  private readonly bias: number[];

  constructor(
    readonly normalization: Normalization,
    readonly channels: number,
  ) {
    const { mean, std } = normalization;
    if (mean.length !== channels || std.length !== channels) {
      throw new Error(`normalization has ${mean.length} means and ${std.length} stds for ${channels} channels`);
    }
    std.forEach((s, c) => {
      if (!(s > 0)) throw new Error(`normalization std of channel ${c} must be positive, got ${s}`);
    });
    this.scale = std.map((s) => 1 / (255 * s));
    this.bias = mean.map((m, c) => -m / std[c]!);
  }

  /** The map as per-channel scale and bias, for three channels (what CropResampler takes). */
  affine3(): { scale: [number, number, number]; bias: [number, number, number] } {
    if (this.channels !== 3) throw new Error(`affine3: the normalization has ${this.channels} channels, not 3`);
    return { scale: [this.scale[0]!, this.scale[1]!, this.scale[2]!], bias: [this.bias[0]!, this.bias[1]!, this.bias[2]!] };
  }

  /** Normalized value of raw pixel value `v` in channel `c`. */
  value(v: number, c: number): number {
    return v * this.scale[c]! + this.bias[c]!;
  }

  /** Writes `pixels` interleaved pixels (HWC) from `src` at `srcOffset` into `dst` at `dstOffset`. */
  write(src: Uint8Array, srcOffset: number, dst: Float32Array, dstOffset: number, pixels: number): void {
    const channels = this.channels;
    if (channels === 3) {
      // unrolled: a multiply-add per value is cheaper than a table lookup in V8
      const [s0, s1, s2] = this.scale as [number, number, number];
      const [b0, b1, b2] = this.bias as [number, number, number];
      const n = pixels * 3;
      for (let i = 0; i < n; i += 3) {
        dst[dstOffset + i] = src[srcOffset + i]! * s0 + b0;
        dst[dstOffset + i + 1] = src[srcOffset + i + 1]! * s1 + b1;
        dst[dstOffset + i + 2] = src[srcOffset + i + 2]! * s2 + b2;
      }
    } else {
      const n = pixels * channels;
      for (let i = 0; i < n; i++) {
        const c = i % channels;
        dst[dstOffset + i] = src[srcOffset + i]! * this.scale[c]! + this.bias[c]!;
      }
    }
  }
}

/**
 * Whether the active backend copies a tensor's values when the tensor is made, so the buffer may be refilled for the
 * next batch at once: wasm copies into its heap then, torch into a native tensor; cpu keeps the array itself (and its
 * dataSync returns it), tfjs-node copies only at the tensor's first use. Reusing the batch buffer on wasm saves most of the main thread's
 * garbage collection.
 */
export function backendCopiesOnCreate(): boolean {
  return tf.getBackend() === 'wasm' || tf.getBackend() === 'torch';
}

/** Wraps filled buffers as a batch; the tensors take the buffers over (do not reuse them unless backendCopiesOnCreate()). */
export function makeBatch(x: Float32Array, labels: Int32Array, shape: InputShape): Batch {
  const n = labels.length;
  if (x.length !== n * shape[0] * shape[1] * shape[2]) {
    throw new Error(`makeBatch: ${x.length} values do not make ${n} images of ${shape.join('x')}`);
  }
  return { x: tf.tensor4d(x, [n, ...shape], 'float32'), y: tf.tensor1d(labels, 'int32') };
}
