/**
 * The parts of tfjs-backend-wasm's BackendWasm that our kernels use, and calls into the wasm backend's own kernel
 * functions. Kernels here compose the backend's kernels directly (not through `tf.*` ops): no engine bookkeeping, no
 * gradient tape. Every TensorInfo such a call returns owns one reference to its data (Reshape shares its input's
 * data and adds a reference), so each intermediate is released with exactly one `release`.
 */
import { getKernel } from '@tensorflow/tfjs';
import type { KernelBackend, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';

export interface WasmBackend extends KernelBackend {
  makeOutput(shape: number[], dtype: 'float32' | 'int32' | 'bool'): TensorInfo;
  disposeData(dataId: object, force?: boolean): boolean;
  /** A view of the tensor's float32 data in the wasm heap; invalid after any allocation (the heap can grow). */
  typedArrayFromHeap(info: TensorInfo): Float32Array | Int32Array | Uint8Array;
}

type KernelInputs = Record<string, TensorInfo>;
type WasmKernelFunc = (args: { inputs: KernelInputs; backend: WasmBackend; attrs?: NamedAttrMap }) => TensorInfo;

const wasmKernels = new Map<string, WasmKernelFunc>();

/** The wasm backend's own kernel function for `name` as registered by tfjs-backend-wasm (captured before we wrap it). */
export function originalWasmKernel(name: string): WasmKernelFunc {
  let fn = wasmKernels.get(name);
  if (fn === undefined) {
    const config = getKernel(name, 'wasm');
    if (config === undefined) throw new Error(`the wasm backend has no '${name}' kernel`);
    fn = config.kernelFunc as unknown as WasmKernelFunc;
    wasmKernels.set(name, fn);
  }
  return fn;
}

/** Runs one of the wasm backend's own kernels; the result belongs to the caller. */
export function runWasm(
  name: string,
  backend: WasmBackend,
  inputs: KernelInputs,
  attrs: Record<string, unknown> = {},
): TensorInfo {
  return originalWasmKernel(name)({ inputs, backend, attrs: attrs as NamedAttrMap });
}

export function release(backend: WasmBackend, ...infos: TensorInfo[]): void {
  for (const info of infos) backend.disposeData(info.dataId);
}

export function reshapeInfo(backend: WasmBackend, x: TensorInfo, shape: number[]): TensorInfo {
  return runWasm('Reshape', backend, { x }, { shape });
}

export function transposeInfo(backend: WasmBackend, x: TensorInfo, perm: number[]): TensorInfo {
  return runWasm('Transpose', backend, { x }, { perm });
}

/** Stride-1 NHWC convolution on the wasm backend's XNNPACK Conv2D, explicit padding [top, bottom, left, right]. */
export function conv2dInfo(
  backend: WasmBackend,
  x: TensorInfo,
  filter: TensorInfo,
  pad: [number, number, number, number],
  dilations: [number, number] = [1, 1],
): TensorInfo {
  const [top, bottom, left, right] = pad;
  return runWasm(
    'Conv2D',
    backend,
    { x, filter },
    {
      strides: [1, 1],
      pad: [
        [0, 0],
        [top, bottom],
        [left, right],
        [0, 0],
      ],
      dataFormat: 'NHWC',
      dilations,
      dimRoundingMode: undefined,
    },
  );
}

/** The whole wasm heap as float32, for kernels that move data with `copyWithin`; re-fetch after allocating. */
export function heapF32(backend: WasmBackend, info: TensorInfo): { heap: Float32Array; offset: number } {
  const view = backend.typedArrayFromHeap(info);
  // Unsigned: the heap grows to 4 GiB, and `>> 2` of a byte offset >= 2^31 is negative, which copyWithin counts
  // from the end of the heap (writing over the allocator's and other tensors' memory).
  return { heap: new Float32Array(view.buffer), offset: view.byteOffset >>> 2 };
}
