/**
 * Waiting for the active backend's device before a time is read: CUDA queues kernels and returns at once, so a clock
 * read without waiting measures the queueing. Backends without a `synchronize` (cpu, wasm, tensorflow) compute
 * synchronously; for them this does nothing.
 */
import * as tf from '@tensorflow/tfjs';

/** Calls the active backend's `synchronize()` where it has one; true when it did. */
export function synchronizeDevice(): boolean {
  const backend = tf.backend() as unknown as { synchronize?: () => void };
  if (typeof backend.synchronize !== 'function') return false;
  backend.synchronize();
  return true;
}
