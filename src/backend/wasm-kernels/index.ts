/**
 * Training kernels for the wasm backend (TensorFlow.js 4.22's wasm backend cannot train conv nets fast, or at all):
 * registered for backend 'wasm' only, never for the native or cpu backends. Kernels the backend already has are
 * re-registered with their original `setupFunc` (it binds the wasm functions the fallbacks call).
 *
 * Call before `tf.setBackend('wasm')` (or in each worker before its first wasm op); calling again is a no-op.
 */
import { getKernel, registerKernel, unregisterKernel } from '@tensorflow/tfjs';
import type { KernelConfig } from '@tensorflow/tfjs';
import { originalWasmKernel } from './wasm-backend.ts';
import { conv2dBackpropFilterConfig } from './conv2d-backprop-filter.ts';
import { conv2dBackpropInputConfig } from './conv2d-backprop-input.ts';
import { tileConfig } from './tile.ts';
import { meanConfig, sumConfig } from './reduce-leading-axes.ts';
import { maxPoolGradConfig } from './max-pool-grad.ts';
import { concatConfig, splitVConfig } from './concat-split.ts';
import { identityConfig } from './identity.ts';
import { fusedBatchNormConfig } from './fused-batch-norm.ts';
import { avgPoolGradConfig } from './avg-pool-grad.ts';

/** Kernels of the wasm backend that our kernels call; captured before anything is replaced. */
const COMPOSED_KERNELS = [
  'Conv2D',
  'Transpose',
  'Reshape',
  'Slice',
  'AvgPool',
  'Multiply',
  'Add',
  'DepthwiseConv2dNative',
];

type ConfigFactory = (original: KernelConfig | undefined) => KernelConfig;

const FACTORIES: Record<string, ConfigFactory> = {
  Conv2DBackpropFilter: () => conv2dBackpropFilterConfig(),
  Conv2DBackpropInput: (original) => conv2dBackpropInputConfig(required(original, 'Conv2DBackpropInput')),
  Tile: (original) => tileConfig(required(original, 'Tile')),
  Sum: (original) => sumConfig(required(original, 'Sum')),
  Mean: (original) => meanConfig(required(original, 'Mean')),
  MaxPoolGrad: (original) => maxPoolGradConfig(required(original, 'MaxPoolGrad')),
  AvgPoolGrad: (original) => avgPoolGradConfig(required(original, 'AvgPoolGrad')),
  Concat: (original) => concatConfig(required(original, 'Concat')),
  SplitV: (original) => splitVConfig(required(original, 'SplitV')),
  Identity: (original) => identityConfig(required(original, 'Identity')),
  FusedBatchNorm: (original) => fusedBatchNormConfig(required(original, 'FusedBatchNorm')),
};

function required(config: KernelConfig | undefined, name: string): KernelConfig {
  if (config === undefined) throw new Error(`the wasm backend has no '${name}' kernel to extend`);
  return config;
}

const registered = new Set<string>();

export function registerWasmTrainingKernels(): string[] {
  for (const name of COMPOSED_KERNELS) originalWasmKernel(name);
  for (const [name, factory] of Object.entries(FACTORIES)) {
    if (registered.has(name)) continue;
    const original = getKernel(name, 'wasm');
    const config = factory(original);
    if (original !== undefined) unregisterKernel(name, 'wasm');
    registerKernel(config);
    registered.add(name);
  }
  return [...registered];
}
