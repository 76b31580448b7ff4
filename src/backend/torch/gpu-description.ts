/**
 * The name and memory of the GPU a process's `cuda:<index>` is, for the backend's log line. libtorch's device
 * properties need the CUDA headers at build time, which a pip torch does not ship; nvidia-smi comes with the driver.
 */
import { spawnSync } from 'node:child_process';

/** The physical id nvidia-smi takes for the process's device `index` (CUDA_VISIBLE_DEVICES renumbers from 0). */
export function physicalGpuId(index: number, visible: string | undefined): string {
  const ids = (visible ?? '')
    .split(',')
    .map((id) => id.trim())
    .filter((id) => id !== '');
  return ids.length > index ? ids[index]! : String(index);
}

/** 'NVIDIA H200, 143771 MiB' from nvidia-smi's CSV line, or null for anything else. */
export function parseGpuQuery(output: string): string | null {
  const [name, memory] = output
    .trim()
    .split('\n')[0]!
    .split(',')
    .map((field) => field.trim());
  if (!name || !memory || !/^\d+$/.test(memory)) return null;
  return `${name}, ${memory} MiB`;
}

/** The GPU behind `cuda:<index>`, or a note that nvidia-smi could not say. */
export function describeGpu(index: number, env: NodeJS.ProcessEnv = process.env): string {
  const id = physicalGpuId(index, env.CUDA_VISIBLE_DEVICES);
  const query = spawnSync('nvidia-smi', ['--query-gpu=name,memory.total', '--format=csv,noheader,nounits', '-i', id], {
    encoding: 'utf8',
    timeout: 15000,
  });
  const described = query.status === 0 ? parseGpuQuery(query.stdout) : null;
  return described ?? `GPU ${id} (nvidia-smi could not describe it)`;
}
