/**
 * `npm run bench -- train [--model NAME] [--input HxWxC] [--batch-size N] [--backend B] [--steps N] [--width W]
 *                         [--engine local|data-parallel] [--workers N]
 *                         [--compare] [--cpu-batch-size N] [--torch <script>] [--profile]`
 *
 * Training throughput (a StepEngine: RMSProp, BatchNorm in training mode, random data) and inference throughput
 * (`model.predict` in batches) of a registered model on one backend. Prints one JSON object per run:
 * backend, model, batch_size, input, params, train_img_per_s, infer_img_per_s, steps (+ details).
 *
 * `--compare` measures, in the same invocation and right after this run, the baselines the wasm kernels are judged
 * against: the plain cpu backend (a child process, `--cpu-batch-size` images, one step: its per-image cost does not
 * depend on the batch) and the PyTorch peer `--torch` (run with /usr/bin/python3 on the same model size, with 2 threads
 * and with 1 thread: the wasm step runs on one thread), then prints a summary object with the ratios. `--profile` adds the kernel times of one training step (tf.profile).
 * With `--engine data-parallel`, `--compare` also measures the single-thread LocalStepEngine in this process, and
 * every data-parallel result carries `machine_two_thread_speedup` (see machine-control.ts) to read its ratio by.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import yargs from 'yargs';
import * as tf from '@tensorflow/tfjs';
import { BACKEND_CHOICES, selectBackend, type BackendChoice } from '../../src/backend/backend.ts';
import { buildModel, MODEL_NAMES } from '../../src/models/registry.ts';
import { LocalStepEngine } from '../../src/train/local-step-engine.ts';
import { createDataParallelStepEngine } from '../../src/train/data-parallel/data-parallel-step-engine.ts';
import type { RmsPropConfig, StepEngine } from '../../src/train/step-engine.ts';
import { twoThreadSpeedup } from './machine-control.ts';

const TORCH_PEER = fileURLToPath(new URL('../../../shared/peers/torch_inception_small.py', import.meta.url));
const ENGINES = ['local', 'data-parallel'] as const;
type EngineName = (typeof ENGINES)[number];
const RMSPROP: RmsPropConfig = { learningRate: 0.01, decay: 0.9, momentum: 0.9, epsilon: 1, weightDecay: 4e-5 };

export interface TrainBenchResult {
  backend: string;
  engine: EngineName;
  /** Worker threads of the data-parallel engine (the main thread computes one more shard); 0 for local. */
  workers: number;
  machine_two_thread_speedup?: number;
  model: string;
  width: number;
  batch_size: number;
  input: string;
  params: number;
  train_img_per_s: number;
  infer_img_per_s: number;
  steps: number;
  warmup_steps: number;
  step_ms: number;
  first_step_ms: number | null;
  /** Tensors left behind by the timed steps (null without a warm-up step: the first step creates optimizer slots). */
  leaked_tensors: number | null;
  notes: string[];
  profile?: Record<string, { ms: number; calls: number }>;
}

function parseInput(text: string): [number, number, number] {
  const parts = text.split('x').map(Number);
  if (parts.length !== 3 || !parts.every((n) => Number.isInteger(n) && n > 0)) {
    console.error(`bench train: --input '${text}' is invalid: expected HxWxC, e.g. 28x28x1`);
    process.exit(2);
  }
  return parts as [number, number, number];
}

/** Four significant digits: throughputs range from 0.004 img/s (cpu) to hundreds. */
function round(v: number): number {
  return Number.isFinite(v) ? Number(v.toPrecision(4)) : v;
}

async function profileStep(
  engine: StepEngine,
  x: tf.Tensor4D,
  y: tf.Tensor1D,
): Promise<Record<string, { ms: number; calls: number }>> {
  const info = await tf.profile(async () => {
    await engine.step(x, y, RMSPROP.learningRate);
  });
  const byKernel = new Map<string, { ms: number; calls: number }>();
  for (const k of info.kernels) {
    // Ops that wrap kernels (`fusedConv2d__op`, ...) are listed besides their kernels; keep kernels only.
    if (k.name.endsWith('__op')) continue;
    const entry = byKernel.get(k.name) ?? { ms: 0, calls: 0 };
    entry.ms += Number(k.kernelTimeMs);
    entry.calls++;
    byKernel.set(k.name, entry);
  }
  const sorted = [...byKernel].sort((a, b) => b[1].ms - a[1].ms);
  return Object.fromEntries(sorted.map(([name, e]) => [name, { ms: round(e.ms), calls: e.calls }]));
}

async function measure(options: {
  backend: BackendChoice;
  model: string;
  input: [number, number, number];
  width: number;
  batchSize: number;
  steps: number;
  warmup: number;
  profile: boolean;
  engine: EngineName;
  workers: number;
}): Promise<TrainBenchResult> {
  const info = await selectBackend(options.backend, (line) => console.error(line));
  const { input, batchSize } = options;
  const model = buildModel(options.model, { inputShape: input, classes: 10, width: options.width, seed: 1 });
  const parallel = options.engine === 'data-parallel';
  if (parallel && info.choice !== 'wasm' && info.choice !== 'cpu')
    throw new Error(`--engine data-parallel runs on wasm or cpu, not on ${info.choice}`);
  const engine: StepEngine = parallel
    ? await createDataParallelStepEngine(model, RMSPROP, {
        workers: options.workers,
        backend: info.choice as 'wasm' | 'cpu',
      })
    : new LocalStepEngine(model, RMSPROP);
  const x = tf.randomNormal([batchSize, ...input], 0, 1, 'float32', 7) as tf.Tensor4D;
  const y = tf.tensor1d(
    Array.from({ length: batchSize }, (_, i) => i % 10),
    'float32',
  );

  let firstStepMs: number | null = null;
  for (let i = 0; i < options.warmup; i++) {
    const t0 = performance.now();
    await engine.step(x, y, RMSPROP.learningRate);
    firstStepMs ??= performance.now() - t0;
  }
  const tensorsBefore = tf.memory().numTensors;
  const t0 = performance.now();
  for (let i = 0; i < options.steps; i++) await engine.step(x, y, RMSPROP.learningRate);
  const trainSeconds = (performance.now() - t0) / 1000;
  const leaked = options.warmup > 0 ? tf.memory().numTensors - tensorsBefore : null;
  // tf.profile sees only this thread's kernels: no profile for the data-parallel engine.
  const profile = options.profile && !parallel ? await profileStep(engine, x, y) : undefined;

  const predict = () => tf.tidy(() => (model.predict(x, { batchSize }) as tf.Tensor).dataSync());
  predict();
  const t1 = performance.now();
  const inferRuns = Math.max(1, options.steps);
  for (let i = 0; i < inferRuns; i++) predict();
  const inferSeconds = (performance.now() - t1) / 1000;

  const result: TrainBenchResult = {
    backend: info.choice,
    engine: options.engine,
    workers: parallel ? options.workers : 0,
    ...(parallel ? { machine_two_thread_speedup: round(await twoThreadSpeedup()) } : {}),
    model: options.model,
    width: options.width,
    batch_size: batchSize,
    input: input.join('x'),
    params: model.countParams(),
    train_img_per_s: round((batchSize * options.steps) / trainSeconds),
    infer_img_per_s: round((batchSize * inferRuns) / inferSeconds),
    steps: options.steps,
    warmup_steps: options.warmup,
    step_ms: round((trainSeconds * 1000) / options.steps),
    first_step_ms: firstStepMs === null ? null : round(firstStepMs),
    leaked_tensors: leaked,
    notes: info.notes,
    ...(profile ? { profile } : {}),
  };
  await engine.dispose();
  model.dispose();
  tf.dispose([x, y]);
  return result;
}

/** The cpu baseline in a child process (a process has one active backend, and the wasm kernels stay out of it). */
function measureCpuChild(model: string, input: string, width: number, batchSize: number): TrainBenchResult | null {
  const bench = fileURLToPath(new URL('../bench.ts', import.meta.url));
  const args = ['--import', 'tsx', bench, 'train', '--backend', 'cpu', '--model', model, '--input', input];
  args.push('--width', String(width), '--batch-size', String(batchSize), '--steps', '1', '--warmup', '0');
  const child = spawnSync(process.execPath, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  const line = child.stdout
    .split('\n')
    .reverse()
    .find((l) => l.startsWith('{'));
  if (child.status !== 0 || !line) {
    console.error(`bench train: the cpu baseline failed (exit ${child.status})`);
    return null;
  }
  console.log(line);
  return JSON.parse(line) as TrainBenchResult;
}

interface TorchResult {
  backend: string;
  threads: number;
  train_img_per_s: number;
  infer_img_per_s: number;
  params: number;
  line: string;
}

function measureTorch(
  script: string,
  threads: number,
  width: number,
  batchSize: number,
  input: [number, number, number],
  steps: number,
) {
  if (!existsSync(script)) {
    console.error(`bench train: PyTorch peer ${script} not found; skipped`);
    return null;
  }
  const args = [script, String(width), String(batchSize), String(input[0]), String(input[2]), String(steps)];
  const env = { ...process.env, THREADS: String(threads) };
  const child = spawnSync('/usr/bin/python3', args, { encoding: 'utf8', env });
  const line = child.stdout.trim().split('\n').pop() ?? '';
  const field = (name: string) => Number(new RegExp(`${name}=([\\d.]+)`).exec(line)?.[1] ?? NaN);
  if (child.status !== 0 || !Number.isFinite(field('train_img_s'))) {
    console.error(`bench train: PyTorch peer failed (exit ${child.status}): ${child.stderr.trim().split('\n').pop()}`);
    return null;
  }
  const result: TorchResult = {
    backend: 'pytorch-cpu',
    threads: field('threads'),
    train_img_per_s: field('train_img_s'),
    infer_img_per_s: field('infer_img_s'),
    params: field('params'),
    line,
  };
  console.log(
    JSON.stringify({ ...result, model: 'torch_inception_small', batch_size: batchSize, input: input.join('x') }),
  );
  return result;
}

export async function run(argv: string[]): Promise<void> {
  const args = await yargs(argv)
    .option('model', { type: 'string', default: 'inception-bn-small', choices: MODEL_NAMES as string[] })
    .option('input', { type: 'string', default: '28x28x1', describe: 'HxWxC' })
    .option('batch-size', { type: 'number', default: 64 })
    .option('backend', { type: 'string', default: 'auto', choices: BACKEND_CHOICES as readonly string[] })
    .option('steps', { type: 'number', default: 3, describe: 'timed training steps (and predict passes)' })
    .option('warmup', { type: 'number', default: 1, describe: 'untimed training steps first' })
    .option('width', { type: 'number', default: 1 })
    .option('profile', { type: 'boolean', default: false, describe: 'kernel times of one step (tf.profile)' })
    .option('compare', { type: 'boolean', default: false, describe: 'also measure the cpu backend and PyTorch' })
    .option('cpu-batch-size', { type: 'number', default: 2 })
    .option('torch', { type: 'string', default: TORCH_PEER, describe: 'PyTorch peer script for --compare' })
    .option('engine', { type: 'string', default: 'local', choices: ENGINES as readonly string[] })
    .option('workers', { type: 'number', default: 1, describe: 'worker threads of the data-parallel engine' })
    .strict()
    .parseAsync();
  for (const name of ['batch-size', 'steps', 'cpu-batch-size', 'workers'] as const) {
    if (!Number.isInteger(args[name]) || args[name] < 1) {
      console.error(`bench train: --${name} ${args[name]} is invalid: expected an integer >= 1`);
      process.exit(2);
    }
  }
  const input = parseInput(args.input);
  const common = {
    backend: args.backend as BackendChoice,
    model: args.model,
    input,
    width: args.width,
    batchSize: args['batch-size'],
    steps: args.steps,
    warmup: Math.max(0, Math.floor(args.warmup)),
  };
  const main = await measure({
    ...common,
    profile: args.profile,
    engine: args.engine as EngineName,
    workers: args.workers,
  });
  console.log(JSON.stringify(main));
  if (!args.compare) return;

  const local =
    main.engine === 'local' ? main : await measure({ ...common, profile: false, engine: 'local', workers: 0 });
  if (local !== main) console.log(JSON.stringify(local));

  const cpu = measureCpuChild(args.model, args.input, args.width, args['cpu-batch-size']);
  const torchSteps = Math.max(args.steps, 3);
  const torch = measureTorch(args.torch, 2, args.width, args['batch-size'], input, torchSteps);
  const torch1 = measureTorch(args.torch, 1, args.width, args['batch-size'], input, torchSteps);
  console.log(
    JSON.stringify({
      name: 'summary',
      backend: main.backend,
      model: main.model,
      batch_size: main.batch_size,
      engine: main.engine,
      workers: main.workers,
      train_img_per_s: main.train_img_per_s,
      local_train_img_per_s: local.train_img_per_s,
      speedup_vs_local: round(main.train_img_per_s / local.train_img_per_s),
      machine_two_thread_speedup: main.machine_two_thread_speedup ?? null,
      cpu_train_img_per_s: cpu?.train_img_per_s ?? null,
      torch_train_img_per_s: torch?.train_img_per_s ?? null,
      torch_threads: torch?.threads ?? null,
      speedup_vs_cpu: cpu ? round(main.train_img_per_s / cpu.train_img_per_s) : null,
      ratio_to_torch_train: torch ? round(main.train_img_per_s / torch.train_img_per_s) : null,
      ratio_to_torch_infer: torch ? round(main.infer_img_per_s / torch.infer_img_per_s) : null,
      torch_1thread_train_img_per_s: torch1?.train_img_per_s ?? null,
      ratio_to_torch_1thread_train: torch1 ? round(main.train_img_per_s / torch1.train_img_per_s) : null,
    }),
  );
}
