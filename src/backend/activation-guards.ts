/**
 * What selectBackend wraps around loading any backend: TensorFlow.js's side effects in Node undone (the cpu
 * backend's tfjs-node banner, the wasm glue's process error handlers) and the wasm heap guarded, in every thread that
 * selects a backend (the data-parallel replicas too).
 */
import * as tf from '@tensorflow/tfjs';
import { silenceCpuBackendBanner } from './cpu-backend-banner.ts';
import { guardWasmHeap } from './wasm-heap.ts';
import { withoutAddedErrorHandlers } from './wasm-process-handlers.ts';

export async function guardedActivation<T>(activate: () => Promise<T>): Promise<T> {
  silenceCpuBackendBanner();
  const result = await withoutAddedErrorHandlers(activate);
  if (tf.getBackend() === 'wasm') guardWasmHeap(tf.backend());
  return result;
}
