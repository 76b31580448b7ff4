/**
 * Loading the native torch addon (built by scripts/build-torch-addon.mjs into native/build/). NET2NET_TORCH_ADDON
 * names another file (tests point it at a missing one to see the machine without libtorch).
 */
import { createRequire } from 'node:module';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export type NativeValues = Float32Array | Int32Array | Uint8Array;

/** The Node-API surface of native/torch-backend/addon.cc. */
export interface TorchAddon {
  setMeta(meta: Int32Array): void;
  /** Each op's declaration, `name(argument: kind, ...)`, in op index order. */
  opSignatures(): string[];
  /** Runs op `index` with tensor ids, numbers, strings and number lists; describes its outputs in the meta buffer. */
  run(index: number, ...args: (number | string | boolean | readonly number[])[]): number;
  fromArray(values: NativeValues, shape: readonly number[], dtype: number): number;
  toArray(id: number): NativeValues;
  release(id: number): void;
  liveTensors(): number;
  setThreads(threads: number): number;
  cudaDevices(): number;
  useDevice(kind: 'cpu' | 'cuda', index: number): string;
  /** true starts recording the bytes of each CPU allocation on this thread; false stops and returns them. */
  traceAllocations(on: boolean): number[];
  /** Convolutions and matrix products in 'fp32' (TF32 off), 'bf16' or 'tf32' (native/torch-backend/precision.cc). */
  setPrecision(precision: 'fp32' | 'bf16' | 'tf32'): void;
  /** Whether the current device computes bf16 natively, and whether it is a CUDA device (tf32). */
  precisionSupport(): { bf16: boolean; tf32: boolean };
  /** ATen's global cuDNN flags: deterministic on and benchmark off from load (no effect without CUDA). */
  cudnnFlags(): CudnnFlags;
  /** Turns cuDNN's algorithm search (benchmark) on or off; returns the flags now in effect. */
  setCudnnBenchmark(on: boolean): CudnnFlags;
  /** Waits for the current CUDA device's queued kernels; returns false on the CPU, where there is nothing to wait for. */
  synchronize(): boolean;
  /** Whether the ops with a CPU fast path take their device-generic branch (NET2NET_TORCH_GENERIC_KERNELS=1 at load). */
  genericKernels(): boolean;
  /** Forces (true) or releases (false) the device-generic branch; returns the setting in effect. */
  setGenericKernels(on: boolean): boolean;
  /** Starts recording every op call, upload and release (native/torch-backend/step-capture.cc). */
  captureBegin(): void;
  /** Closes the recording: the step's inputs, each variable's tensor id before and after it, and its outputs. */
  captureEnd(
    inputIds: readonly number[],
    variableIdsBefore: readonly number[],
    variableIdsAfter: readonly number[],
    outputIds: readonly number[],
  ): CaptureOutcome;
  /** Drops an open recording (the step threw). */
  captureAbort(): void;
  /** Runs a captured step on new inputs; variables get their new tensors in place; returns the outputs' values. */
  replay(handle: number, inputIds: readonly number[], variableIds: readonly number[], learningRate: number): number[];
  /** Frees a captured step and the constants it holds. */
  releaseCapture(handle: number): void;
  /** true: time each replayed op from now on (synchronizing the device); false: stop, return the times by op. */
  replayProfile(on: boolean): Record<string, { ms: number; calls: number }>;
  /** How a captured step's last replay ran: plain, static (fixed buffers, op by op) or as a CUDA graph. */
  replayMode(handle: number): ReplayMode;
  /** Forces (true) static replays on any device, as CUDA graphs need them; returns the setting in effect. */
  setStaticReplay(on: boolean): boolean;
  /** Whether CPU convolutions run as the addon's own oneDNN primitives (native/torch-backend/onednn-conv.cc). */
  oneDnnPrimitives(): { built: boolean; on: boolean };
  /** Switches them off (false: convolutions take ATen's call) or on again; returns whether they are in use. */
  setOneDnnPrimitives(on: boolean): boolean;
  /** The caching allocator of CPU tensor memory (native/torch-backend/cpu-block-cache.cc); zeros where it is off. */
  cpuBlockCache(): CpuBlockCacheStats;
  /** Frees the freed blocks it keeps. */
  emptyCpuBlockCache(): void;
}

export interface CpuBlockCacheStats {
  /** Most bytes of freed blocks kept (NET2NET_TORCH_CPU_CACHE_MB; 0: off). */
  limitBytes: number;
  cachedBytes: number;
  liveBytes: number;
  hits: number;
  misses: number;
}

export interface ReplayMode {
  mode: 'plain' | 'static' | 'graph';
  /** Replays that were one CUDA graph launch. */
  graphReplays: number;
  /** Why the step runs without a CUDA graph (on CUDA: the capture failed, or the build has no CUDA graphs). */
  graphRefused?: string;
}

/** A recording that can be replayed (its handle and size), or why it cannot. */
export type CaptureOutcome = { handle: number; ops: number; uploads: number; constants: number } | { refused: string };

export interface CudnnFlags {
  deterministic: boolean;
  benchmark: boolean;
}

export interface BuildInfo {
  libtorch: string;
  version: string | null;
  cuda: boolean;
}

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

export function addonPath(): string {
  return process.env.NET2NET_TORCH_ADDON ?? join(repoRoot, 'native', 'build', 'torch-backend.node');
}

let loaded: TorchAddon | undefined;

/** Loads the addon once; throws a one-line reason (and how to build it) when it is missing or cannot load. */
export function loadTorchAddon(): TorchAddon {
  if (loaded) return loaded;
  const path = addonPath();
  if (!existsSync(path)) {
    throw new Error(
      `the native torch addon is not built (${path} is missing): apt-get install libtorch-dev g++, or install ` +
        'PyTorch, then run `node scripts/build-torch-addon.mjs`',
    );
  }
  // libtorch's OpenMP threads sleep at once when idle instead of spinning: on a machine whose cores are also busy
  // with other work, spinning threads take the CPU from the one with work (README, Benchmarks); on an idle machine
  // the two policies train at the same speed. libgomp reads this when it loads, with the addon. A value the user set
  // is kept.
  process.env.OMP_WAIT_POLICY ??= 'PASSIVE';
  try {
    loaded = createRequire(import.meta.url)(path) as TorchAddon;
  } catch (err) {
    const why = String(err instanceof Error ? err.message : err).split('\n')[0];
    throw new Error(`the native torch addon ${path} cannot load (${why}); rebuild: node scripts/build-torch-addon.mjs`);
  }
  return loaded;
}

/** What the addon was built against (written next to it by the build), or null. */
export function addonBuildInfo(): BuildInfo | null {
  const file = addonPath().replace(/\.node$/, '.json');
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as BuildInfo;
  } catch {
    return null;
  }
}
