/**
 * Registers the `torch` TensorFlow.js backend: loads the addon, picks the device (CUDA when the libtorch has it and
 * a GPU is visible, unless NET2NET_TORCH_DEVICE=cpu; NET2NET_TORCH_DEVICE=cuda is never a silent CPU fallback) and the intra-op thread count (the option, else
 * NET2NET_THREADS, else every core), then registers the backend and its kernels.
 */
import * as tf from '@tensorflow/tfjs';
import { availableParallelism } from 'node:os';
import { addonBuildInfo, loadTorchAddon } from './addon.ts';
import type { BuildInfo } from './addon.ts';
import { cudnnBenchmarkFromEnv } from './cudnn.ts';
import type { CudnnState } from './cudnn.ts';
import { describeGpu } from './gpu-description.ts';
import { TorchBackend } from './torch-backend.ts';
import { registerTorchKernels } from './kernels/index.ts';
import { TORCH } from './kernels/kernel.ts';

export interface TorchOptions {
  /** Intra-op threads; default NET2NET_THREADS or every core. */
  threads?: number;
}

export interface TorchSetup {
  device: string;
  threads: number;
  libtorch: string;
  /** The device that tensors live on ('cpu', 'cuda:0'), without the GPU's description. */
  deviceName: string;
  /** The addon's precision switch (src/backend/precision.ts drives it). */
  precision: {
    support(): { bf16: boolean; tf32: boolean };
    set(precision: 'fp32' | 'bf16' | 'tf32'): void;
  };
}

let setup: TorchSetup | undefined;

function threadCount(requested: number | undefined): number {
  const fromEnv = Number(process.env.NET2NET_THREADS);
  const threads = requested ?? (Number.isInteger(fromEnv) && fromEnv > 0 ? fromEnv : availableParallelism());
  if (!Number.isInteger(threads) || threads < 1) throw new Error(`threads must be a positive integer, got ${threads}`);
  return threads;
}

/** NET2NET_TORCH_DEVICE: 'cpu', 'cuda' (a GPU or an error), or unset (a GPU where there is one, else the CPU). */
export function requestedDevice(value: string | undefined): 'cpu' | 'cuda' | 'any' {
  if (value === undefined || value === '') return 'any';
  if (value === 'cpu' || value === 'cuda') return value;
  throw new Error(`NET2NET_TORCH_DEVICE must be cpu or cuda, got '${value}'`);
}

/** Why `cuda` cannot be used (the libtorch has no CUDA, or no GPU is visible), or null when it can. */
export function cudaRefusal(info: BuildInfo | null, visibleGpus: number): string | null {
  if (info && !info.cuda)
    return (
      `NET2NET_TORCH_DEVICE=cuda, but the torch addon was built against a libtorch without CUDA (${info.libtorch}); ` +
      'install a CUDA PyTorch and rebuild (npm run build:torch)'
    );
  if (visibleGpus === 0)
    return (
      'NET2NET_TORCH_DEVICE=cuda, but libtorch sees no GPU (check nvidia-smi, the driver and CUDA_VISIBLE_DEVICES)' +
      (info ? '' : '; the addon has no build record (torch-backend.json), so whether it has CUDA is unknown')
    );
  return null;
}

/** Registers the backend once (later calls may change the thread count); throws a one-line reason if it cannot. */
export function registerTorchBackend(options: TorchOptions = {}): TorchSetup {
  const addon = loadTorchAddon();
  const threads = addon.setThreads(threadCount(options.threads));
  if (setup) {
    const backend = tf.findBackend(TORCH) as TorchBackend | null;
    if (backend) backend.threads = threads;
    return (setup = { ...setup, threads });
  }
  const requested = requestedDevice(process.env.NET2NET_TORCH_DEVICE);
  const gpus = addon.cudaDevices();
  if (requested === 'cuda') {
    const refusal = cudaRefusal(addonBuildInfo(), gpus);
    if (refusal) throw new Error(refusal);
  }
  const device = addon.useDevice(requested === 'cpu' || gpus === 0 ? 'cpu' : 'cuda', 0);
  addon.setCudnnBenchmark(cudnnBenchmarkFromEnv());
  registerTorchKernels();
  tf.registerBackend(TORCH, () => new TorchBackend(addon, device, threads), 1);
  const info = addonBuildInfo();
  const described = device.startsWith('cuda')
    ? `${device} (${describeGpu(Number(device.split(':')[1] ?? 0))})`
    : device;
  setup = {
    device: described,
    threads,
    libtorch: info ? info.libtorch : 'unknown libtorch',
    deviceName: device,
    precision: { support: () => addon.precisionSupport(), set: (precision) => addon.setPrecision(precision) },
  };
  return setup;
}

/** Turns cuDNN's benchmark mode on or off in the registered torch backend; returns the native flags and the device. */
export function setTorchCudnnBenchmark(on: boolean): CudnnState {
  if (!setup) throw new Error('the torch backend is not registered, so its cuDNN flags cannot be set');
  const flags = loadTorchAddon().setCudnnBenchmark(on);
  return { device: setup.device, ...flags };
}
