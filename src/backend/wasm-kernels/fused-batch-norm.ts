/**
 * FusedBatchNorm (inference form: (x - mean) / sqrt(var + eps) * scale + offset) for the wasm backend as one
 * per-channel affine map, x * a + b with a = scale / sqrt(var + eps) and b = offset - mean * a computed for the C
 * channels here, then two XNNPACK broadcast kernels (Multiply, Add). The stock kernel is a scalar loop. Only
 * per-channel statistics (every parameter of size C = last axis) take this path.
 */
import { util } from '@tensorflow/tfjs';
import type { FusedBatchNormAttrs, KernelFunc, TensorInfo } from '@tensorflow/tfjs';
import { release, runWasm, type WasmBackend } from './wasm-backend.ts';

export function makeFusedBatchNorm(original: KernelFunc) {
  return function fusedBatchNorm(args: {
    inputs: { x: TensorInfo; mean: TensorInfo; variance: TensorInfo; offset?: TensorInfo; scale?: TensorInfo };
    backend: WasmBackend;
    attrs: FusedBatchNormAttrs;
  }): TensorInfo {
    const { inputs, backend, attrs } = args;
    const { x, mean, variance, offset, scale } = inputs;
    const channels = x.shape[x.shape.length - 1];
    const params = [mean, variance, offset, scale].filter((p): p is TensorInfo => p !== undefined);
    const perChannel = params.every((p) => p.dtype === 'float32' && util.sizeFromShape(p.shape) === channels);
    if (x.dtype !== 'float32' || x.shape.length < 2 || !perChannel) {
      return original(args as unknown as Parameters<KernelFunc>[0]) as TensorInfo;
    }
    const a = backend.makeOutput([channels], 'float32');
    const b = backend.makeOutput([channels], 'float32');
    const m = backend.typedArrayFromHeap(mean) as Float32Array;
    const v = backend.typedArrayFromHeap(variance) as Float32Array;
    const o = offset ? (backend.typedArrayFromHeap(offset) as Float32Array) : undefined;
    const s = scale ? (backend.typedArrayFromHeap(scale) as Float32Array) : undefined;
    const av = backend.typedArrayFromHeap(a) as Float32Array;
    const bv = backend.typedArrayFromHeap(b) as Float32Array;
    for (let c = 0; c < channels; c++) {
      const k = (s ? s[c] : 1) / Math.sqrt(v[c] + attrs.varianceEpsilon);
      av[c] = k;
      bv[c] = (o ? o[c] : 0) - m[c] * k;
    }
    const scaled = runWasm('Multiply', backend, { a: x, b: a });
    const out = runWasm('Add', backend, { a: scaled, b });
    release(backend, a, b, scaled);
    return out;
  };
}
