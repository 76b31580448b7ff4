/**
 * Training kernels for the wasm backend (see issue: fast training without native TensorFlow).
 * Returns the names of the kernels it registered.
 */
export function registerWasmTrainingKernels(): string[] {
  return [];
}
