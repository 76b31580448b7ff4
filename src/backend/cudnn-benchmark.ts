/**
 * Applying `--cudnn-benchmark` to the active backend (the setting and its log line: ./torch/cudnn.ts). Only the torch
 * backend has cuDNN flags; on the others the setting is recorded and does nothing.
 */
import type { BackendInfo } from './backend.ts';
import { describeCudnn } from './torch/cudnn.ts';

export { cudnnBenchmarkFromEnv } from './torch/cudnn.ts';

/** Sets cuDNN's benchmark mode on the active backend (torch: ATen's global flag) and returns the log line. */
export async function applyCudnnBenchmark(backend: BackendInfo, on: boolean): Promise<string> {
  if (backend.choice !== 'torch') return describeCudnn(backend.choice, on, null);
  const { setTorchCudnnBenchmark } = await import('./torch/register.ts');
  return describeCudnn(backend.choice, on, setTorchCudnnBenchmark(on));
}
