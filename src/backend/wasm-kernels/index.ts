/**
 * Training kernels for the wasm backend (TensorFlow.js 4.22's wasm backend cannot train conv nets fast, or at all):
 * registered for backend 'wasm' only, never for the native or cpu backends. Kernels the backend already has are
 * re-registered with their original `setupFunc` (it binds the wasm functions the fallbacks call).
 *
 * Call before `tf.setBackend('wasm')` (or in each worker before its first wasm op); calling again is a no-op.
 */
import {
  AvgPoolGrad,
  Concat,
  Conv2DBackpropFilter,
  Conv2DBackpropInput,
  FusedBatchNorm,
  getKernel,
  Identity,
  MaxPoolGrad,
  Mean,
  registerKernel,
  SplitV,
  Sum,
  Tile,
  unregisterKernel,
} from '@tensorflow/tfjs';
import type { KernelConfig, KernelFunc } from '@tensorflow/tfjs';
import { originalWasmKernel } from './wasm-backend.ts';
import { conv2dBackpropFilter } from './conv2d-backprop-filter.ts';
import { makeConv2dBackpropInput } from './conv2d-backprop-input.ts';
import { makeTile } from './tile.ts';
import { makeReduction } from './reduce-leading-axes.ts';
import { makeMaxPoolGrad } from './max-pool-grad.ts';
import { makeConcat, makeSplitV } from './concat-split.ts';
import { makeIdentity } from './identity.ts';
import { makeFusedBatchNorm } from './fused-batch-norm.ts';
import { makeAvgPoolGrad } from './avg-pool-grad.ts';

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

/** Builds our kernel function around the backend's own one (the fallback for the cases without a fast path). */
type KernelExtension = (original: KernelFunc) => unknown;

/** Kernels the wasm backend has, replaced by ours. */
const EXTENSIONS: Record<string, KernelExtension> = {
  [Conv2DBackpropInput]: makeConv2dBackpropInput,
  [Tile]: makeTile,
  [Sum]: (original) => makeReduction('sum', original),
  [Mean]: (original) => makeReduction('mean', original),
  [MaxPoolGrad]: makeMaxPoolGrad,
  [AvgPoolGrad]: makeAvgPoolGrad,
  [Concat]: makeConcat,
  [SplitV]: makeSplitV,
  [Identity]: makeIdentity,
  [FusedBatchNorm]: makeFusedBatchNorm,
};

/** Our kernel in place of the backend's `name`, with its setupFunc (it binds the wasm functions the fallback calls). */
function extendedKernel(name: string, extend: KernelExtension): KernelConfig {
  const original = getKernel(name, 'wasm');
  if (original === undefined) throw new Error(`the wasm backend has no '${name}' kernel to extend`);
  return {
    kernelName: name,
    backendName: 'wasm',
    setupFunc: original.setupFunc,
    kernelFunc: extend(original.kernelFunc) as KernelFunc,
  };
}

/** The one kernel the wasm backend lacks. */
const FILTER_GRADIENT: KernelConfig = {
  kernelName: Conv2DBackpropFilter,
  backendName: 'wasm',
  kernelFunc: conv2dBackpropFilter as unknown as KernelFunc,
};

const registered = new Set<string>();

function register(config: KernelConfig): void {
  if (getKernel(config.kernelName, 'wasm') !== undefined) unregisterKernel(config.kernelName, 'wasm');
  registerKernel(config);
  registered.add(config.kernelName);
}

export function registerWasmTrainingKernels(): string[] {
  for (const name of COMPOSED_KERNELS) originalWasmKernel(name);
  if (!registered.has(FILTER_GRADIENT.kernelName)) register(FILTER_GRADIENT);
  for (const [name, extend] of Object.entries(EXTENSIONS))
    if (!registered.has(name)) register(extendedKernel(name, extend));
  return [...registered];
}
