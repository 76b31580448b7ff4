/**
 * MaxPoolGrad for the wasm backend (the stock kernel is a slow scalar loop). For each output position the arg-max of
 * its window is found for all channels at once (the first maximum in row-major window order wins, as on the cpu
 * backend) and dy is added to dx there.
 */
import { backend_util } from '@tensorflow/tfjs';
import type { KernelFunc, MaxPoolGradAttrs, TensorInfo } from '@tensorflow/tfjs';
import type { WasmBackend } from './wasm-backend.ts';

export function makeMaxPoolGrad(original: KernelFunc) {
  return function maxPoolGrad(args: {
    inputs: { dy: TensorInfo; input: TensorInfo; output: TensorInfo };
    backend: WasmBackend;
    attrs: MaxPoolGradAttrs;
  }): TensorInfo {
    const { inputs, backend, attrs } = args;
    const { dy, input } = inputs;
    if (input.dtype !== 'float32') return original(args as unknown as Parameters<KernelFunc>[0]) as TensorInfo;
    const { filterSize, strides, pad, dimRoundingMode } = attrs;
    const info = backend_util.computePool2DInfo(
      input.shape as [number, number, number, number],
      filterSize,
      strides,
      1,
      pad,
      dimRoundingMode,
    );
    const { batchSize, inHeight, inWidth, inChannels: C, outHeight, outWidth } = info;
    const { strideHeight, strideWidth, filterHeight, filterWidth } = info;
    const { top, left } = info.padInfo;
    const dx = backend.makeOutput(input.shape, 'float32');
    const x = backend.typedArrayFromHeap(input) as Float32Array;
    const g = backend.typedArrayFromHeap(dy) as Float32Array;
    const out = backend.typedArrayFromHeap(dx) as Float32Array;
    out.fill(0);
    const best = new Float32Array(C);
    const where = new Int32Array(C);
    let gi = 0;
    for (let b = 0; b < batchSize; b++) {
      const imageBase = b * inHeight * inWidth * C;
      for (let oh = 0; oh < outHeight; oh++) {
        const h0 = oh * strideHeight - top;
        for (let ow = 0; ow < outWidth; ow++, gi += C) {
          const w0 = ow * strideWidth - left;
          best.fill(-Infinity);
          where.fill(-1);
          for (let fh = 0; fh < filterHeight; fh++) {
            const h = h0 + fh;
            if (h < 0 || h >= inHeight) continue;
            for (let fw = 0; fw < filterWidth; fw++) {
              const w = w0 + fw;
              if (w < 0 || w >= inWidth) continue;
              const base = imageBase + (h * inWidth + w) * C;
              for (let c = 0; c < C; c++) {
                const v = x[base + c];
                if (v > best[c]) {
                  best[c] = v;
                  where[c] = base + c;
                }
              }
            }
          }
          for (let c = 0; c < C; c++) if (where[c] >= 0) out[where[c]] += g[gi + c];
        }
      }
    }
    return dx;
  };
}
