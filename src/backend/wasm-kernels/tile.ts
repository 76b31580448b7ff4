/**
 * Tile for the wasm backend with a fast path for the case the BatchNorm gradient produces (tfjs-core's FusedBatchNorm
 * gradient tiles 1/sqrt(var) of shape [1, 1, 1, C] to [B, H, W, 1]): when every tiled axis has only size-1 axes at
 * and before it, the output is the input's flat data repeated, written with doubling `copyWithin` (memcpy speed).
 * The stock wasm Tile computes an index per element. Everything else goes to the stock kernel.
 */
import { util } from '@tensorflow/tfjs';
import type { KernelFunc, TensorInfo, TileAttrs } from '@tensorflow/tfjs';
import type { WasmBackend } from './wasm-backend.ts';

/** True when tiling `shape` by `reps` repeats the whole flat input end to end. */
export function isWholeRepeat(shape: number[], reps: number[]): boolean {
  let allOnesSoFar = true;
  for (let d = 0; d < shape.length; d++) {
    allOnesSoFar &&= shape[d] === 1;
    if (reps[d] > 1 && !allOnesSoFar) return false;
  }
  return true;
}

export function makeTile(original: KernelFunc) {
  return function tile(args: { inputs: { x: TensorInfo }; backend: WasmBackend; attrs: TileAttrs }): TensorInfo {
    const { inputs, backend, attrs } = args;
    const { x } = inputs;
    const { reps } = attrs;
    if (x.dtype === 'string' || x.dtype === 'complex64' || !isWholeRepeat(x.shape, reps)) {
      return original(args as unknown as Parameters<KernelFunc>[0]) as TensorInfo;
    }
    const outShape = x.shape.map((n, d) => n * reps[d]);
    const out = backend.makeOutput(outShape, x.dtype);
    const src = backend.typedArrayFromHeap(x);
    const dst = backend.typedArrayFromHeap(out);
    const total = util.sizeFromShape(outShape);
    if (total === 0) return out;
    dst.set(src, 0);
    for (let filled = src.length; filled < total;) {
      const n = Math.min(filled, total - filled);
      dst.copyWithin(filled, 0, n);
      filled += n;
    }
    return out;
  };
}
