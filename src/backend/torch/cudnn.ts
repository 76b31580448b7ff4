/**
 * cuDNN's benchmark mode: off by default (the torch addon sets cuDNN deterministic and benchmark off when it loads),
 * on with `--cudnn-benchmark` or NET2NET_CUDNN_BENCHMARK=1 for speed runs, where cuDNN times several convolution
 * algorithms per new shape and keeps the fastest (faster, and its choice may differ from run to run). The setting is
 * recorded (config.json, the bench JSON) whatever the backend; it acts only on the torch backend on CUDA.
 */
import { UsageError } from '../../usage-error.ts';

export const CUDNN_BENCHMARK_ENV = 'NET2NET_CUDNN_BENCHMARK';

/** NET2NET_CUDNN_BENCHMARK: '1' is on; '0', empty or unset is off; anything else is a usage error. */
export function cudnnBenchmarkFromEnv(value: string | undefined = process.env[CUDNN_BENCHMARK_ENV]): boolean {
  if (value === undefined || value === '' || value === '0') return false;
  if (value === '1') return true;
  throw new UsageError(`${CUDNN_BENCHMARK_ENV} must be 0 or 1, got '${value}'`);
}

/** The flags the torch addon reports, and the device they act on. */
export interface CudnnState {
  device: string;
  deterministic: boolean;
  benchmark: boolean;
}

/** A log line saying what the setting does on this backend (`state` null: a backend without cuDNN flags). */
export function describeCudnn(choice: string, on: boolean, state: CudnnState | null): string {
  if (state === null) return `cuDNN benchmark ${on ? 'on' : 'off'} (recorded; no effect on the ${choice} backend)`;
  const flags = `cuDNN ${state.deterministic ? 'deterministic' : 'nondeterministic'}, benchmark ${state.benchmark ? 'on' : 'off'}`;
  return state.device.startsWith('cuda') ? flags : `${flags} (recorded; no effect on the CPU)`;
}
