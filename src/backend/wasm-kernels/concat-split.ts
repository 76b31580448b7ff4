/**
 * Concat and SplitV for the wasm backend along any axis, for 4-byte dtypes, moving each contiguous run with
 * `copyWithin` inside the wasm heap (Inception modules concatenate branches on the channel axis; the gradient splits
 * it again). The stock Concat allocates a subarray per row; the stock SplitV runs a strided Slice per output.
 */
import { backend_util, util } from '@tensorflow/tfjs';
import type { ConcatAttrs, KernelFunc, SplitVAttrs, TensorInfo } from '@tensorflow/tfjs';
import { heapF32, type WasmBackend } from './wasm-backend.ts';

const FOUR_BYTE = new Set(['float32', 'int32']);

export function makeConcat(original: KernelFunc) {
  return function concat(args: { inputs: TensorInfo[]; backend: WasmBackend; attrs: ConcatAttrs }): TensorInfo {
    const { inputs, backend, attrs } = args;
    const parts = inputs.filter((t) => util.sizeFromShape(t.shape) > 0);
    if (parts.length < 2 || !parts.every((t) => FOUR_BYTE.has(t.dtype) && t.dtype === parts[0].dtype)) {
      return original(args as unknown as Parameters<KernelFunc>[0]) as TensorInfo;
    }
    const axis = util.parseAxisParam(attrs.axis, parts[0].shape)[0];
    backend_util.assertParamsConsistent(
      parts.map((t) => t.shape),
      axis,
    );
    const outShape = backend_util.computeOutShape(
      parts.map((t) => t.shape),
      axis,
    );
    const out = backend.makeOutput(outShape, parts[0].dtype as 'float32' | 'int32');
    const outer = util.sizeFromShape(outShape.slice(0, axis));
    const runs = parts.map((t) => util.sizeFromShape(t.shape.slice(axis)));
    const total = runs.reduce((a, b) => a + b, 0);
    const { heap, offset: dst0 } = heapF32(backend, out);
    parts.forEach((part, i) => {
      const src0 = heapF32(backend, part).offset;
      const run = runs[i];
      let dst = dst0 + runs.slice(0, i).reduce((a, b) => a + b, 0);
      for (let r = 0, src = src0; r < outer; r++, src += run, dst += total) heap.copyWithin(dst, src, src + run);
    });
    return out;
  };
}

export function makeSplitV(original: KernelFunc) {
  return function splitV(args: { inputs: { x: TensorInfo }; backend: WasmBackend; attrs: SplitVAttrs }): TensorInfo[] {
    const { inputs, backend, attrs } = args;
    const { x } = inputs;
    if (!FOUR_BYTE.has(x.dtype) || util.sizeFromShape(x.shape) === 0) {
      return original(args as unknown as Parameters<KernelFunc>[0]) as TensorInfo[];
    }
    const axis = util.parseAxisParam(attrs.axis, x.shape)[0];
    const sizes = backend_util.prepareSplitSize(x as never, attrs.numOrSizeSplits, axis);
    const outer = util.sizeFromShape(x.shape.slice(0, axis));
    const innerPerIndex = util.sizeFromShape(x.shape.slice(axis + 1));
    const total = x.shape[axis] * innerPerIndex;
    const outs = sizes.map((s) => {
      const shape = [...x.shape];
      shape[axis] = s;
      return backend.makeOutput(shape, x.dtype as 'float32' | 'int32');
    });
    let start = 0;
    outs.forEach((out, i) => {
      const run = sizes[i] * innerPerIndex;
      const { heap, offset: dst0 } = heapF32(backend, out);
      const src0 = heapF32(backend, x).offset + start;
      for (let r = 0, dst = dst0, src = src0; r < outer; r++, dst += run, src += total) {
        heap.copyWithin(dst, src, src + run);
      }
      start += run;
    });
    return outs;
  };
}
