/** Every kernel of the torch backend; registering them twice is a no-op. */
import { registerKernel } from '@tensorflow/tfjs';
import { elementwiseKernels } from './elementwise.ts';
import { shapeKernels } from './shape.ts';
import { reduceKernels } from './reduce.ts';
import { convPoolKernels } from './conv-pool.ts';
import { normalizationKernels } from './normalization.ts';

let registered: string[] | undefined;

export function torchKernelConfigs() {
  return [
    ...elementwiseKernels(),
    ...shapeKernels(),
    ...reduceKernels(),
    ...convPoolKernels(),
    ...normalizationKernels(),
  ];
}

export function registerTorchKernels(): string[] {
  if (registered) return registered;
  const configs = torchKernelConfigs();
  for (const config of configs) registerKernel(config);
  registered = configs.map((c) => c.kernelName);
  return registered;
}
