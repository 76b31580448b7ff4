/**
 * Sum and Mean for the wasm backend with a fast path for reductions over leading axes (BatchNorm's statistics and
 * gradients reduce [B, H, W, C] over [0, 1, 2]). The stock kernels first transpose the whole tensor so that the
 * reduced axes are innermost. Here the tensor is viewed as [P, Q1, Q2, M] (P the first reduced axis, Q2 the last,
 * M everything kept), an XNNPACK average pool over the whole Q1 x Q2 window gives [P, M], and the P rows are added
 * here in float64. (A matrix product with a ones vector would be faster only if XNNPACK did not repack its weight
 * operand, the data, on every call.) Small tensors are summed directly; other reductions use the stock kernels.
 */
import { util } from '@tensorflow/tfjs';
import type { KernelFunc, MeanAttrs, SumAttrs, TensorInfo } from '@tensorflow/tfjs';
import { release, reshapeInfo, runWasm, type WasmBackend } from './wasm-backend.ts';

const DIRECT_LIMIT = 1 << 15;

/** Number of leading axes `axis` names when it names exactly 0..k-1 with k < rank; otherwise 0. */
export function leadingAxisCount(axis: number | number[], rank: number): number {
  const axes = [...new Set(util.parseAxisParam(axis, new Array<number>(rank).fill(1)))].sort((a, b) => a - b);
  if (axes.length === 0 || axes.length >= rank) return 0;
  return axes.every((a, i) => a === i) ? axes.length : 0;
}

export function makeReduction(kind: 'sum' | 'mean', original: KernelFunc) {
  return function reduce(args: {
    inputs: { x: TensorInfo };
    backend: WasmBackend;
    attrs: SumAttrs | MeanAttrs;
  }): TensorInfo {
    const { inputs, backend, attrs } = args;
    const { x } = inputs;
    const k = x.dtype === 'float32' ? leadingAxisCount(attrs.axis, x.shape.length) : 0;
    const rows = util.sizeFromShape(x.shape.slice(0, k));
    const inner = x.shape.slice(k);
    const width = util.sizeFromShape(inner);
    if (k === 0 || rows === 0 || width === 0)
      return original(args as unknown as Parameters<KernelFunc>[0]) as TensorInfo;
    const outShape = attrs.keepDims ? [...new Array<number>(k).fill(1), ...inner] : inner;
    const out = backend.makeOutput(outShape, 'float32');
    let pooled: TensorInfo | undefined;
    let partialRows = rows;
    let windowSize = 1;
    if (rows * width > DIRECT_LIMIT) {
      const p = k === 1 ? 1 : x.shape[0];
      const q2 = x.shape[k - 1];
      const q1 = rows / (p * q2);
      const view = reshapeInfo(backend, x, [p, q1, q2, width]);
      pooled = runWasm('AvgPool', backend, { x: view }, { filterSize: [q1, q2], strides: [1, 1], pad: 'valid' });
      release(backend, view);
      partialRows = p;
      windowSize = q1 * q2;
    }
    const src = backend.typedArrayFromHeap(pooled ?? x) as Float32Array;
    const dst = backend.typedArrayFromHeap(out) as Float32Array;
    const acc = new Float64Array(width);
    for (let r = 0, o = 0; r < partialRows; r++, o += width) {
      for (let c = 0; c < width; c++) acc[c] += src[o + c];
    }
    const scale = kind === 'mean' ? 1 / partialRows : windowSize;
    for (let c = 0; c < width; c++) dst[c] = acc[c] * scale;
    if (pooled) release(backend, pooled);
    return out;
  };
}
