/**
 * The PyTorch peers of `bench train`, run with /usr/bin/python3 (or `$PYTHON`) in a child process:
 * - `shared`: `../shared/peers/torch_inception_small.py`, the anchor the issue measured (the small Inception-BN layout
 *   written by hand, NCHW, CPU only);
 * - `graph`: `torch_graph_peer.py`, the same network as ours built from the model's topology JSON, on the CPU or a
 *   CUDA device, channels-last or not.
 * Each returns one result with the peer's peak RSS, or null after printing why it could not run.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** `shared/peers/torch_inception_small.py` beside the checkout, beside a folder of worktrees, or in /work/shared. */
function findSharedPeer(): string {
  const candidates = ['../../../shared/peers/', '../../../../shared/peers/']
    .map((dir) => fileURLToPath(new URL(`${dir}torch_inception_small.py`, import.meta.url)))
    .concat('/work/shared/peers/torch_inception_small.py');
  return candidates.find((path) => existsSync(path)) ?? candidates[0];
}

export const SHARED_PEER = findSharedPeer();
const GRAPH_PEER = fileURLToPath(new URL('./torch_graph_peer.py', import.meta.url));
export const PEER_KINDS = ['shared', 'graph'] as const;
export type PeerKind = (typeof PEER_KINDS)[number];

export interface PeerResult {
  peer: PeerKind;
  device: string;
  threads: number;
  /** fp32, or bf16 (torch.autocast), or tf32 (CUDA). */
  precision: string;
  channels_last: boolean;
  batch_size: number;
  input: string;
  params: number;
  train_img_per_s: number;
  infer_img_per_s: number;
  /** Wall ms and process CPU ms per training step (the graph peer reports both; the shared peer neither). */
  step_ms?: number;
  step_cpu_ms?: number;
  peak_rss_mb: number | null;
  torch_version: string;
  cuda_peak_mb?: number;
}

export interface PeerRequest {
  kind: PeerKind;
  /** The model's `toJSON()` topology (graph peer). */
  topology: object;
  width: number;
  batchSize: number;
  input: [number, number, number];
  steps: number;
  threads: number;
  device: 'cpu' | 'cuda';
  channelsLast: boolean;
  /** The shared peer's script (`--torch`). */
  sharedScript: string;
  /** fp32 (default), bf16 (autocast; the shared peer also channels-last, as the issue measured it) or tf32. */
  precision?: string;
}

const python = () => process.env.PYTHON ?? '/usr/bin/python3';

/** Runs a Python script under a wrapper that prints the process's peak RSS after it. */
function runPython(script: string, args: string[], env: NodeJS.ProcessEnv) {
  const wrapper =
    'import resource, runpy, sys\nscript = sys.argv[1]\nsys.argv = sys.argv[1:]\ntry:\n' +
    "    runpy.run_path(script, run_name='__main__')\nfinally:\n" +
    "    print(f'peak_rss_kb={resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}', flush=True)\n";
  const child = spawnSync(python(), ['-c', wrapper, script, ...args], { encoding: 'utf8', env });
  const lines = (child.stdout ?? '').trim().split('\n');
  const rss = Number(/^peak_rss_kb=(\d+)/.exec(lines.find((l) => l.startsWith('peak_rss_kb=')) ?? '')?.[1] ?? NaN);
  const output = lines.filter((l) => !l.startsWith('peak_rss_kb=')).pop() ?? '';
  const failure =
    child.status === 0
      ? null
      : `exit ${child.status}: ${(child.stderr ?? String(child.error)).trim().split('\n').pop()}`;
  return { output, peakRssMb: Number.isFinite(rss) ? Math.round(rss / 102.4) / 10 : null, failure };
}

function runShared(request: PeerRequest): PeerResult | string {
  const { input, batchSize, width, steps, threads } = request;
  if (input[0] !== input[1]) return `the shared peer takes square inputs, got ${input.join('x')}`;
  const args = [String(width), String(batchSize), String(input[0]), String(input[2]), String(steps)];
  const precision = request.precision ?? 'fp32';
  if (precision === 'tf32') return 'the shared peer runs on the CPU: no tf32';
  const bf16 = precision === 'bf16' ? { PRECISION: 'bf16', CHANNELS_LAST: '1' } : {};
  const run = runPython(request.sharedScript, args, { ...process.env, THREADS: String(threads), ...bf16 });
  const field = (name: string) => Number(new RegExp(`${name}=([\\d.]+)`).exec(run.output)?.[1] ?? NaN);
  if (run.failure !== null || !Number.isFinite(field('train_img_s'))) return run.failure ?? `no result: ${run.output}`;
  return {
    peer: 'shared',
    device: 'cpu',
    threads: field('threads'),
    precision,
    channels_last: precision === 'bf16',
    batch_size: batchSize,
    input: input.join('x'),
    params: field('params'),
    train_img_per_s: field('train_img_s'),
    infer_img_per_s: field('infer_img_s'),
    peak_rss_mb: run.peakRssMb,
    torch_version: /^torch (\S+)/.exec(run.output)?.[1] ?? 'unknown',
  };
}

function runGraph(request: PeerRequest): PeerResult | string {
  const dir = mkdtempSync(join(tmpdir(), 'net2net-peer-'));
  try {
    const modelJson = join(dir, 'model.json');
    writeFileSync(modelJson, JSON.stringify(request.topology));
    const args = ['--model-json', modelJson, '--batch-size', String(request.batchSize)];
    args.push('--steps', String(request.steps), '--threads', String(request.threads), '--device', request.device);
    if (request.channelsLast) args.push('--channels-last');
    args.push('--precision', request.precision ?? 'fp32');
    const run = runPython(GRAPH_PEER, args, process.env);
    if (run.failure !== null || !run.output.startsWith('{')) return run.failure ?? `no result: ${run.output}`;
    const parsed = JSON.parse(run.output) as Omit<PeerResult, 'peer'>;
    return { ...parsed, peer: 'graph', peak_rss_mb: run.peakRssMb ?? parsed.peak_rss_mb };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function measurePeer(request: PeerRequest): PeerResult | null {
  const script = request.kind === 'shared' ? request.sharedScript : GRAPH_PEER;
  if (!existsSync(script)) {
    console.error(`bench train: PyTorch peer ${script} not found; skipped`);
    return null;
  }
  const result = request.kind === 'shared' ? runShared(request) : runGraph(request);
  if (typeof result === 'string') {
    console.error(`bench train: PyTorch peer (${request.kind}) failed: ${result}`);
    return null;
  }
  console.log(JSON.stringify({ name: 'peer', ...result }));
  return result;
}
