/**
 * Registers the `torch` TensorFlow.js backend: loads the addon, picks the device (CUDA when the libtorch has it and
 * a GPU is visible, unless NET2NET_TORCH_DEVICE=cpu) and the intra-op thread count (the option, else
 * NET2NET_THREADS, else every core), then registers the backend and its kernels.
 */
import * as tf from '@tensorflow/tfjs';
import { availableParallelism } from 'node:os';
import { addonBuildInfo, loadTorchAddon } from './addon.ts';
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
}

let setup: TorchSetup | undefined;

function threadCount(requested: number | undefined): number {
  const fromEnv = Number(process.env.NET2NET_THREADS);
  const threads = requested ?? (Number.isInteger(fromEnv) && fromEnv > 0 ? fromEnv : availableParallelism());
  if (!Number.isInteger(threads) || threads < 1) throw new Error(`threads must be a positive integer, got ${threads}`);
  return threads;
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
  const wantCuda = process.env.NET2NET_TORCH_DEVICE !== 'cpu' && addon.cudaDevices() > 0;
  const device = addon.useDevice(wantCuda ? 'cuda' : 'cpu', 0);
  registerTorchKernels();
  tf.registerBackend(TORCH, () => new TorchBackend(addon, device, threads), 1);
  const info = addonBuildInfo();
  setup = { device, threads, libtorch: info ? info.libtorch : 'unknown libtorch' };
  return setup;
}
