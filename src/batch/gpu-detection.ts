/**
 * Which GPUs the batch may hand out: `--gpus 0,1,2` if given, else CUDA_VISIBLE_DEVICES if set, else the GPUs
 * `nvidia-smi -L` lists, else none (jobs then run one at a time unless --concurrency says otherwise).
 */
import { spawnSync } from 'node:child_process';
import { UsageError } from '../usage-error.ts';

export interface GpuInventory {
  /** Device ids as CUDA_VISIBLE_DEVICES takes them (indices or GPU-UUIDs). */
  ids: string[];
  source: string;
}

function splitIds(list: string): string[] {
  return list
    .split(',')
    .map((id) => id.trim())
    .filter((id) => id !== '');
}

/** GPU indices listed by `nvidia-smi -L`, or null when nvidia-smi is absent or fails. */
export function nvidiaSmiGpus(): string[] | null {
  const result = spawnSync('nvidia-smi', ['-L'], { encoding: 'utf8', timeout: 15000 });
  if (result.error || result.status !== 0) return null;
  return parseNvidiaSmiList(result.stdout);
}

export function parseNvidiaSmiList(output: string): string[] {
  return output
    .split('\n')
    .map((line) => /^GPU (\d+):/.exec(line.trim()))
    .filter((match): match is RegExpExecArray => match !== null)
    .map((match) => match[1]!);
}

export function detectGpus(
  gpusOption: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
  listGpus: () => string[] | null = nvidiaSmiGpus,
): GpuInventory {
  if (gpusOption !== undefined) {
    if (gpusOption === 'none' || gpusOption.trim() === '') return { ids: [], source: '--gpus none' };
    const ids = splitIds(gpusOption);
    if (new Set(ids).size !== ids.length) throw new UsageError(`--gpus ${gpusOption} names a GPU twice`);
    if (!ids.every((id) => /^(\d+|GPU-[0-9a-fA-F-]+|MIG-[0-9a-zA-Z/-]+)$/.test(id))) {
      throw new UsageError(`--gpus ${gpusOption}: expected comma-separated indices (0,1,2) or GPU UUIDs, or none`);
    }
    return { ids, source: `--gpus ${gpusOption}` };
  }
  const visible = env.CUDA_VISIBLE_DEVICES;
  if (visible !== undefined) {
    const ids = splitIds(visible).filter((id) => id !== '-1');
    return { ids, source: `CUDA_VISIBLE_DEVICES=${visible}` };
  }
  const listed = listGpus();
  if (listed !== null) return { ids: listed, source: `nvidia-smi -L (${listed.length} GPU(s))` };
  return { ids: [], source: 'no --gpus, no CUDA_VISIBLE_DEVICES, no nvidia-smi: no GPU' };
}
