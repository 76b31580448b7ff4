/**
 * Refusing to run where the user would not want to: a job that asked for a GPU backend, or a preset sized for a GPU,
 * must not crawl on a CPU overnight because a CUDA library was missing. tfjs-node-gpu falls back to the CPU silently;
 * `auto` falls through to CPU backends; both are caught here, after the backend has loaded and said what it runs on.
 */
import type { BackendInfo } from './backend.ts';

export interface DevicePolicy {
  /** The preset needs a GPU to finish in reasonable time (the `paper` preset). */
  presetNeedsGpu: boolean;
  /** The user said a CPU is fine (`--allow-cpu`). */
  allowCpu: boolean;
}

export class GpuNotInUseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GpuNotInUseError';
  }
}

/** Throws GpuNotInUseError, saying why and what to do, when the loaded backend runs on a CPU against the policy. */
export function enforceDevicePolicy(info: BackendInfo, policy: DevicePolicy): void {
  if (info.gpuInUse === true) return;
  const where = `backend '${info.choice}' runs on the CPU`;
  if (info.requested === 'tensorflow-gpu') {
    throw new GpuNotInUseError(
      `--backend tensorflow-gpu asked for a GPU, but ${where}: tfjs-node-gpu 4.22 needs CUDA 11.2 and cuDNN 8.1 on ` +
        `the library path (LD_LIBRARY_PATH) and a visible GPU (CUDA_VISIBLE_DEVICES)`,
    );
  }
  if (policy.presetNeedsGpu && !policy.allowCpu) {
    throw new GpuNotInUseError(
      `this preset is sized for a GPU, but ${where} (requested '${info.requested}'); it would take weeks. ` +
        `Use a GPU backend, or pass --allow-cpu to run it on the CPU anyway`,
    );
  }
}
