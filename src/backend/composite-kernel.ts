/**
 * Kernels of our own (fused ops that a native backend runs as one call) get composite implementations from tf ops
 * for the backends that have no native version. A kernel function receives the tensors given to `runKernel` and may
 * return tensors, which the engine takes as they are.
 */
import * as tf from '@tensorflow/tfjs';
import type { KernelFunc, NamedTensorInfoMap } from '@tensorflow/tfjs';

/** Backends that get the composite kernels; `torch` brings native ones. */
export const COMPOSITE_BACKENDS = ['cpu', 'wasm', 'tensorflow'] as const;

/** One input of a composite kernel as a tensor, or an error naming the kernel and the input. */
export function inputTensor(inputs: NamedTensorInfoMap, name: string, kernel: string): tf.Tensor {
  const value = inputs[name];
  if (!(value instanceof tf.Tensor)) throw new Error(`kernel ${kernel}: input '${name}' is missing or not a tensor`);
  return value;
}

/** Registers `kernelFunc` for each backend in COMPOSITE_BACKENDS that has no kernel of that name yet. */
export function registerCompositeKernel(kernelName: string, kernelFunc: KernelFunc): void {
  for (const backendName of COMPOSITE_BACKENDS) {
    if (tf.getKernel(kernelName, backendName) === undefined) tf.registerKernel({ kernelName, backendName, kernelFunc });
  }
}
