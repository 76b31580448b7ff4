/**
 * Resampling an 8-bit RGB crop (HWC) to size x size float32 values, with the horizontal flip and the per-channel
 * normalization folded in, written straight into a batch buffer.
 *
 * The filter is Pillow's BILINEAR (a triangle filter whose support grows with the reduction factor, so reductions
 * are antialiased; enlargements are plain bilinear with pixel centres at i + 0.5), as torchvision's
 * RandomResizedCrop applies it. It runs in a small wasm SIMD module (wasm/resample-crop.c, rebuilt by
 * scripts/build-wasm.sh): libvips' own resize of a crop costs more than decoding the JPEG, plain JavaScript about as
 * much, the wasm module a fraction of either (`npm run bench -- data` measures the pipeline against libvips' resize).
 */
import { readFileSync } from 'node:fs';

/** Per-channel affine map applied to resampled 0..255 values: min(v, 255) * scale[c] + bias[c]. */
export interface ChannelAffine {
  scale: readonly [number, number, number];
  bias: readonly [number, number, number];
}

// The ES2023 lib and @types/node 20 do not declare WebAssembly; the little used here, typed by hand.
interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
declare const WebAssembly: {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: unknown };
};

interface ResampleExports {
  memory: WasmMemory;
  __heap_base: { value: number };
  taps_bytes(width: number, height: number, size: number): number;
  horizontal_padding(width: number, height: number, size: number): number;
  resample_crop(
    src: number,
    width: number,
    height: number,
    size: number,
    flip: number,
    affine: number,
    sourceFloats: number,
    between: number,
    dst: number,
    scratch: number,
  ): void;
}

let compiled: object | undefined;

function resampleModule(): object {
  compiled ??= new WebAssembly.Module(readFileSync(new URL('./wasm/resample-crop.wasm', import.meta.url)));
  return compiled;
}

const PAGE_BYTES = 65536;

function align16(n: number): number {
  return (n + 15) & ~15;
}

/**
 * One wasm instance with its own memory: use one per thread. The memory grows to the largest crop seen
 * (a 500x375 crop to 224: ~2 MB) and is reused.
 */
export class CropResampler {
  private readonly wasm: ResampleExports;
  private readonly heapBase: number;

  constructor() {
    this.wasm = new WebAssembly.Instance(resampleModule(), {}).exports as unknown as ResampleExports;
    this.heapBase = align16(this.wasm.__heap_base.value);
  }

  /**
   * Resamples `src` (width x height x 3 bytes) to size x size x 3 values in `dst` from `dstOffset`, mirrored left
   * to right when `flip`, each value mapped by `affine`.
   */
  resample(
    src: Uint8Array,
    width: number,
    height: number,
    size: number,
    flip: boolean,
    affine: ChannelAffine,
    dst: Float32Array,
    dstOffset: number,
  ): void {
    if (!(width >= 1 && height >= 1 && size >= 1)) throw new Error(`resample: bad sizes ${width}x${height} -> ${size}`);
    if (src.length < width * height * 3) {
      throw new Error(`resample: ${src.length} bytes are fewer than a ${width}x${height}x3 image`);
    }
    const values = size * size * 3;
    if (dstOffset < 0 || dstOffset + values > dst.length) throw new Error(`resample: no room for ${size}x${size}x3 values at ${dstOffset}`);
    // memory layout (see resample-crop.c): tap tables | affine (6 floats) | src bytes (+16) | src as floats (+pad) |
    // result of the first pass (+pad) | dst (+4 floats)
    const pad = this.wasm.horizontal_padding(width, height, size);
    const scratchAt = this.heapBase;
    const affineAt = align16(scratchAt + this.wasm.taps_bytes(width, height, size));
    const srcAt = align16(affineAt + 24);
    const sourceFloatsAt = align16(srcAt + width * height * 3 + 16);
    const betweenAt = align16(sourceFloatsAt + (width * height * 3 + pad) * 4);
    const dstAt = align16(betweenAt + (Math.max(height, size) * Math.max(width, size) * 3 + pad) * 4);
    const end = dstAt + (values + 4) * 4;
    const memory = this.wasm.memory;
    if (end > memory.buffer.byteLength) memory.grow(Math.ceil((end - memory.buffer.byteLength) / PAGE_BYTES));
    const heap = memory.buffer;
    new Float32Array(heap, affineAt, 6).set([...affine.scale, ...affine.bias]);
    new Uint8Array(heap, srcAt, width * height * 3).set(src.subarray(0, width * height * 3));
    this.wasm.resample_crop(srcAt, width, height, size, flip ? 1 : 0, affineAt, sourceFloatsAt, betweenAt, dstAt, scratchAt);
    dst.set(new Float32Array(heap, dstAt, values), dstOffset);
  }
}
