/**
 * Identity for the wasm backend that shares the input's data (one more reference) instead of copying it, as the cpu
 * backend's Identity does. Tensors are immutable, and while the gradient tape records, the engine clones every
 * tensor a kernel saves for its gradient: with the stock wasm Identity each of those clones was a full memcpy
 * (hundreds per training step of the small Inception-BN).
 */
import type { IdentityInputs, KernelFunc, TensorInfo } from '@tensorflow/tfjs';
import type { WasmBackend } from './wasm-backend.ts';

export function makeIdentity(original: KernelFunc) {
  return function identity(args: { inputs: IdentityInputs; backend: WasmBackend }): TensorInfo {
    const x = args.inputs.x as TensorInfo;
    if (x.dtype === 'string') return original(args as unknown as Parameters<KernelFunc>[0]) as TensorInfo;
    args.backend.incRef(x.dataId);
    return { dataId: x.dataId, shape: [...x.shape], dtype: x.dtype };
  };
}
