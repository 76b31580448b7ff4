/**
 * What the torch backend's `memory()` reports. On the CPU the bytes of the live tensors are what the backend holds.
 * On CUDA the caching allocator keeps freed blocks for reuse, and its statistics are read through the c10/cuda
 * headers, which a pip-installed torch may lack when the addon is built: the count is then marked unreliable, with the
 * reason, as TensorFlow.js's MemoryInfo allows.
 */
export interface TorchMemoryInfo {
  unreliable: boolean;
  reasons?: string[];
  /** Bytes of the tensors the backend holds (shape x element size). */
  numBytesInTorch: number;
  /** Tensors alive in the addon's table. */
  nativeTensors: number;
}

export const CUDA_MEMORY_REASON =
  "numBytesInTorch counts the torch backend's live tensors; on CUDA the caching allocator holds more (freed blocks " +
  'kept for reuse), and its statistics need the c10/cuda headers, which the addon is built without';

/** The memory report of a backend on `device` ('cpu' or 'cuda:N'). */
export function torchMemoryInfo(device: string, bytes: number, nativeTensors: number): TorchMemoryInfo {
  if (device.startsWith('cuda')) {
    return { unreliable: true, reasons: [CUDA_MEMORY_REASON], numBytesInTorch: bytes, nativeTensors };
  }
  return { unreliable: false, numBytesInTorch: bytes, nativeTensors };
}
