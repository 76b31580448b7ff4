/**
 * `npm run bench -- train [--model NAME] [--input HxWxC] [--image-size N] [--batch-size N] [--backend B] [--steps N]
 *                         [--width W] [--threads N] [--engine local|data-parallel] [--workers N]
 *                         [--compare] [--compare-with torch,wasm,cpu,peer] [--cpu-batch-size N]
 *                         [--peer shared|graph] [--peer-device cpu|cuda] [--torch <script>] [--profile]
 *                         [--cudnn-benchmark] [--no-capture]`
 *
 * Training throughput (a StepEngine: RMSProp, BatchNorm in training mode, random data) and inference throughput
 * (`model.predict` in batches) of a registered model on one backend. Prints one JSON object per run:
 * backend, model, batch_size, input, params, train_img_per_s, infer_img_per_s, peak_rss_mb, steps (+ details).
 *
 * `--compare` measures, in the same invocation and right after this run, the others it is judged against
 * (`--compare-with`, default all): the `torch` and `wasm` backends in child processes (same model, batch and
 * threads; a backend that cannot load is reported and skipped), the plain cpu backend (a child, `--cpu-batch-size`
 * images, one step: its per-image cost does not depend on the batch), and the PyTorch peer (train-peer.ts) at the
 * same thread count, plus 1 thread when that differs; then a summary object with every result and the ratios to the
 * peer. `--threads` (default: the cores available) sets the torch backend's intra-op threads and the peer's.
 * Every time is read after the device has finished its queued kernels (synchronizeDevice; CUDA runs them
 * asynchronously). `--cudnn-benchmark` (or NET2NET_CUDNN_BENCHMARK=1) lets cuDNN pick the fastest convolution
 * algorithms; recorded as `cudnn_benchmark`.
 * On torch (local engine) steps are captured and replayed natively (src/train/captured-step-engine.ts), as in
 * experiments: the run first times the same steps through TF.js on a model of its own (`step_ms_uncaptured`), then
 * the captured engine (`step_ms`, after at least 2 warm-up steps: the second is the one recorded), and reports
 * `capture_speedup`; at near-zero compute (a thin network, batch 1) step_ms is the host's cost of issuing a step.
 * `--no-capture` measures TF.js steps only.
 * `--profile` adds the kernel times of one training step (tf.profile; through TF.js, which is what it can see) and,
 * when captured, the native time per op of one replayed step (`replay_profile`). With `--engine data-parallel`, `--compare`
 * also measures the single-thread LocalStepEngine in this process, and every data-parallel result carries
 * `machine_two_thread_speedup` (see machine-control.ts) to read its ratio by.
 */
import { spawnSync } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import yargs from 'yargs';
import * as tf from '@tensorflow/tfjs';
import { BACKEND_CHOICES, selectBackend, type BackendChoice } from '../../src/backend/backend.ts';
import { applyCudnnBenchmark, cudnnBenchmarkFromEnv } from '../../src/backend/cudnn-benchmark.ts';
import { synchronizeDevice } from '../../src/backend/synchronize.ts';
import { buildModel, MODEL_NAMES, modelFamily } from '../../src/models/registry.ts';
import { LocalStepEngine } from '../../src/train/local-step-engine.ts';
import { CapturedStepEngine } from '../../src/train/captured-step-engine.ts';
import type { TorchBackend } from '../../src/backend/torch/torch-backend.ts';
import { createDataParallelStepEngine } from '../../src/train/data-parallel/data-parallel-step-engine.ts';
import type { RmsPropConfig, StepEngine } from '../../src/train/step-engine.ts';
import { twoThreadSpeedup } from './machine-control.ts';
import { UsageError } from '../../src/usage-error.ts';
import {
  PRECISION_CHOICES,
  precisionFromEnv,
  resolvePrecision,
  setTrainingPrecision,
  type Precision,
  type PrecisionChoice,
} from '../../src/backend/precision.ts';
import {
  measurePeer,
  PEER_KINDS,
  SHARED_PEER,
  type PeerKind,
  type PeerRequest,
  type PeerResult,
} from './train-peer.ts';

const ENGINES = ['local', 'data-parallel'] as const;
type EngineName = (typeof ENGINES)[number];
const RMSPROP: RmsPropConfig = { learningRate: 0.01, decay: 0.9, momentum: 0.9, epsilon: 1, weightDecay: 4e-5 };
const COMPARABLE = ['torch', 'wasm', 'cpu', 'peer'] as const;
type Comparable = (typeof COMPARABLE)[number];

export interface TrainBenchResult {
  backend: string;
  /** The training precision in effect (`--precision` resolved on this backend). */
  precision: Precision;
  /** cuDNN benchmark mode (--cudnn-benchmark; acts on the torch backend on CUDA only). */
  cudnn_benchmark: boolean;
  engine: EngineName;
  /** Worker threads of the data-parallel engine (the main thread computes one more shard); 0 for local. */
  workers: number;
  machine_two_thread_speedup?: number;
  model: string;
  width: number;
  batch_size: number;
  input: string;
  params: number;
  /** Trainable parameters only (what PyTorch's `parameters()` counts: BatchNorm's moving statistics are buffers). */
  trainable_params: number;
  /** Intra-op threads the backend reports using (null: the backend has no setting). */
  threads: number | null;
  train_img_per_s: number;
  infer_img_per_s: number;
  steps: number;
  warmup_steps: number;
  step_ms: number;
  /** Whether step_ms is of captured steps replayed natively (torch, local engine, without --no-capture). */
  captured: boolean;
  /** With capture: the same steps through TF.js, measured first in the same process; null without. */
  step_ms_uncaptured: number | null;
  step_cpu_ms_uncaptured: number | null;
  /** step_ms_uncaptured / step_ms. */
  capture_speedup: number | null;
  /** CPU time of this process per timed step (all its threads): steadier than wall time on a shared machine. */
  step_cpu_ms: number;
  first_step_ms: number | null;
  /** Tensors left behind by the timed steps (null without a warm-up step: the first step creates optimizer slots). */
  leaked_tensors: number | null;
  /** This process's peak resident set size. */
  peak_rss_mb: number;
  notes: string[];
  profile?: Record<string, { ms: number; calls: number }>;
  replay_profile?: Record<string, { ms: number; calls: number }>;
}

function parseInput(text: string): [number, number, number] {
  const parts = text.split('x').map(Number);
  if (parts.length !== 3 || !parts.every((n) => Number.isInteger(n) && n > 0)) {
    console.error(`bench train: --input '${text}' is invalid: expected HxWxC, e.g. 28x28x1`);
    process.exit(2);
  }
  return parts as [number, number, number];
}

/** Four significant digits: throughputs range from 0.004 img/s (cpu) to thousands. */
function round(v: number): number {
  return Number.isFinite(v) ? Number(v.toPrecision(4)) : v;
}

/** The intra-op threads the active backend reports (the torch backend's `threads`), or null where it has none. */
function backendThreads(): number | null {
  const threads = (tf.backend() as unknown as { threads?: unknown }).threads;
  return typeof threads === 'number' ? threads : null;
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

interface MeasureOptions {
  backend: BackendChoice;
  model: string;
  input: [number, number, number];
  width: number;
  batchSize: number;
  steps: number;
  warmup: number;
  threads: number;
  profile: boolean;
  engine: EngineName;
  workers: number;
  precision: PrecisionChoice;
  cudnnBenchmark: boolean;
  /** Capture and replay steps on torch (local engine). */
  capture: boolean;
}

/** The clock, read once the device has finished the work queued so far. */
function syncedNow(): number {
  synchronizeDevice();
  return performance.now();
}

function benchBatch(options: MeasureOptions): { x: tf.Tensor4D; y: tf.Tensor1D } {
  const { input, batchSize } = options;
  const x = tf.randomNormal([batchSize, ...input], 0, 1, 'float32', 7) as tf.Tensor4D;
  const y = tf.tensor1d(
    Array.from({ length: batchSize }, (_, i) => i % 10),
    'float32',
  );
  return { x, y };
}

/** Warm-up steps, then timed steps. */
async function timeTraining(engine: StepEngine, x: tf.Tensor4D, y: tf.Tensor1D, options: MeasureOptions) {
  let firstStepMs: number | null = null;
  for (let i = 0; i < options.warmup; i++) {
    const t0 = syncedNow();
    await engine.step(x, y, RMSPROP.learningRate);
    firstStepMs ??= syncedNow() - t0;
  }
  const tensorsBefore = tf.memory().numTensors;
  const cpu0 = process.cpuUsage();
  const t0 = syncedNow();
  for (let i = 0; i < options.steps; i++) await engine.step(x, y, RMSPROP.learningRate);
  const trainSeconds = (syncedNow() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const stepCpuMs = (cpu.user + cpu.system) / 1000 / options.steps;
  const leaked = options.warmup > 0 ? tf.memory().numTensors - tensorsBefore : null;
  return { trainSeconds, stepCpuMs, firstStepMs, leaked };
}

/** Native time per op of one replayed step (the engine has captured its step by now). */
async function profileReplay(engine: StepEngine, options: MeasureOptions) {
  const { x, y } = benchBatch(options);
  try {
    const times = await (tf.backend() as unknown as TorchBackend).profileReplays(async () => {
      await engine.step(x, y, RMSPROP.learningRate);
    });
    const sorted = Object.entries(times).sort((a, b) => b[1].ms - a[1].ms);
    return Object.fromEntries(sorted.map(([name, e]) => [name, { ms: round(e.ms), calls: e.calls }]));
  } finally {
    tf.dispose([x, y]);
  }
}

/** The same training steps through TF.js on a model of its own (a second engine on one model adds variables). */
async function timeUncaptured(options: MeasureOptions) {
  const { x, y } = benchBatch(options);
  const model = buildModel(options.model, { inputShape: options.input, classes: 10, width: options.width, seed: 1 });
  const engine = new LocalStepEngine(model, RMSPROP);
  try {
    const timed = await timeTraining(engine, x, y, options);
    const profile = options.profile ? await profileStep(engine, x, y) : undefined;
    return { ...timed, profile };
  } finally {
    await engine.dispose();
    model.dispose();
    tf.dispose([x, y]);
  }
}

/** Timed training steps then timed predict passes; returns steps/s-derived throughputs. */
async function timeSteps(engine: StepEngine, model: tf.LayersModel, options: MeasureOptions) {
  const { batchSize } = options;
  const { x, y } = benchBatch(options);
  const { trainSeconds, stepCpuMs, firstStepMs, leaked } = await timeTraining(engine, x, y, options);
  // tf.profile sees only this thread's kernels: no profile for the data-parallel engine.
  const profile = options.profile && options.engine === 'local' ? await profileStep(engine, x, y) : undefined;

  const predict = () => tf.tidy(() => (model.predict(x, { batchSize }) as tf.Tensor).dataSync());
  predict();
  const t1 = syncedNow();
  const inferRuns = Math.max(1, options.steps);
  for (let i = 0; i < inferRuns; i++) predict();
  const inferSeconds = (syncedNow() - t1) / 1000;
  tf.dispose([x, y]);
  return { trainSeconds, stepCpuMs, inferSeconds, inferRuns, firstStepMs, leaked, profile };
}

async function measure(options: MeasureOptions): Promise<TrainBenchResult> {
  // The torch backend reads its intra-op thread count from NET2NET_THREADS when it registers.
  process.env.NET2NET_THREADS = String(options.threads);
  const info = await selectBackend(options.backend, (line) => console.error(line));
  const threads = backendThreads();
  const precision = setTrainingPrecision(options.precision);
  console.error(`bench train: ${await applyCudnnBenchmark(info, options.cudnnBenchmark)}`);
  const { input, batchSize } = options;
  const model = buildModel(options.model, { inputShape: input, classes: 10, width: options.width, seed: 1 });
  const parallel = options.engine === 'data-parallel';
  if (parallel && info.choice !== 'wasm' && info.choice !== 'cpu')
    throw new Error(`--engine data-parallel runs on wasm or cpu, not on ${info.choice}`);
  const captured = options.capture && !parallel && info.choice === 'torch';
  const uncaptured = captured ? await timeUncaptured(options) : null;
  const engine: StepEngine = parallel
    ? await createDataParallelStepEngine(model, RMSPROP, {
        workers: options.workers,
        backend: info.choice as 'wasm' | 'cpu',
      })
    : captured
      ? new CapturedStepEngine(model, RMSPROP, tf.backend() as unknown as TorchBackend, (line) => console.error(line))
      : new LocalStepEngine(model, RMSPROP);
  const warmup = captured ? Math.max(2, options.warmup) : options.warmup;
  const timed = await timeSteps(engine, model, { ...options, warmup, profile: options.profile && !captured });
  const replayProfile = captured && options.profile ? await profileReplay(engine, options) : undefined;
  const stepMs = (timed.trainSeconds * 1000) / options.steps;
  const uncapturedMs = uncaptured ? (uncaptured.trainSeconds * 1000) / options.steps : null;
  const result: TrainBenchResult = {
    backend: info.choice,
    precision,
    cudnn_benchmark: options.cudnnBenchmark,
    engine: options.engine,
    workers: parallel ? options.workers : 0,
    ...(parallel ? { machine_two_thread_speedup: round(await twoThreadSpeedup()) } : {}),
    model: options.model,
    width: options.width,
    batch_size: batchSize,
    input: input.join('x'),
    params: model.countParams(),
    trainable_params: model.trainableWeights.reduce((n, w) => n + tf.util.sizeFromShape(w.shape as number[]), 0),
    threads,
    train_img_per_s: round((batchSize * options.steps) / timed.trainSeconds),
    infer_img_per_s: round((batchSize * timed.inferRuns) / timed.inferSeconds),
    steps: options.steps,
    warmup_steps: warmup,
    step_ms: round(stepMs),
    captured,
    step_ms_uncaptured: uncapturedMs === null ? null : round(uncapturedMs),
    step_cpu_ms_uncaptured: uncaptured ? round(uncaptured.stepCpuMs) : null,
    capture_speedup: uncapturedMs === null ? null : round(uncapturedMs / stepMs),
    step_cpu_ms: round(timed.stepCpuMs),
    first_step_ms: timed.firstStepMs === null ? null : round(timed.firstStepMs),
    leaked_tensors: timed.leaked,
    peak_rss_mb: round(process.resourceUsage().maxRSS / 1024),
    notes: info.notes,
    ...((uncaptured?.profile ?? timed.profile) ? { profile: uncaptured?.profile ?? timed.profile } : {}),
    ...(replayProfile ? { replay_profile: replayProfile } : {}),
  };
  await engine.dispose();
  model.dispose();
  return result;
}

/** Another backend measured in a child process (a process has one active backend). */
function measureChild(backend: string, options: MeasureOptions): TrainBenchResult | null {
  const bench = fileURLToPath(new URL('../bench.ts', import.meta.url));
  const args = ['--import', 'tsx', bench, 'train', '--backend', backend, '--model', options.model];
  args.push('--input', options.input.join('x'), '--width', String(options.width));
  args.push('--batch-size', String(options.batchSize), '--steps', String(options.steps));
  args.push('--warmup', String(options.warmup), '--threads', String(options.threads));
  args.push('--precision', options.precision);
  if (options.cudnnBenchmark) args.push('--cudnn-benchmark');
  if (!options.capture) args.push('--no-capture');
  const child = spawnSync(process.execPath, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  const line = child.stdout
    .split('\n')
    .reverse()
    .find((l) => l.startsWith('{'));
  if (child.status !== 0 || !line) {
    console.error(`bench train: the ${backend} backend could not be measured (exit ${child.status}); skipped`);
    return null;
  }
  console.log(line);
  return JSON.parse(line) as TrainBenchResult;
}

interface CompareOptions {
  main: TrainBenchResult;
  /** The LocalStepEngine run in this process when `main` is data-parallel. */
  local: TrainBenchResult | null;
  common: MeasureOptions;
  compareWith: Comparable[];
  cpuBatchSize: number;
  peer: PeerKind;
  peerDevice: 'cpu' | 'cuda';
  sharedScript: string;
}

/** The torch backend and the peer at the precision the main run did not use (fp32 <-> bf16). */
interface PrecisionRun {
  precision: Precision;
  ours: TrainBenchResult | null;
  peer: PeerResult | null;
}

/** On torch with native bf16, the other of fp32 and bf16: ours in a child process, then the peer at it. */
function otherPrecision(options: CompareOptions, request: PeerRequest): PrecisionRun | null {
  const { main, common } = options;
  if (main.backend !== 'torch' || resolvePrecision('auto') !== 'bf16') return null;
  if (main.precision !== 'fp32' && main.precision !== 'bf16') return null;
  const precision: Precision = main.precision === 'fp32' ? 'bf16' : 'fp32';
  const ours = measureChild('torch', { ...common, precision });
  return { precision, ours, peer: measurePeer({ ...request, precision }) };
}

/** Per precision: ours and the peer's img/s and the ratios (train, inference). */
function byPrecision(main: TrainBenchResult, peer: PeerResult | null, other: PrecisionRun | null) {
  const entry = (ours: TrainBenchResult | null, p: PeerResult | null) => ({
    train_img_per_s: ours?.train_img_per_s ?? null,
    infer_img_per_s: ours?.infer_img_per_s ?? null,
    peer_train_img_per_s: p?.train_img_per_s ?? null,
    peer_infer_img_per_s: p?.infer_img_per_s ?? null,
    ratio_to_peer_train: ours && p ? round(ours.train_img_per_s / p.train_img_per_s) : null,
    ratio_to_peer_infer: ours && p ? round(ours.infer_img_per_s / p.infer_img_per_s) : null,
  });
  return {
    [main.precision]: entry(main, peer),
    ...(other ? { [other.precision]: entry(other.ours, other.peer) } : {}),
  };
}

/** The comparison runs and the summary object with every result and the ratios to the peer. */
function compare(options: CompareOptions): void {
  const { main, common, compareWith } = options;
  const results: Record<string, TrainBenchResult | null> = { [main.backend]: main };
  for (const backend of ['torch', 'wasm'] as const) {
    if (!compareWith.includes(backend) || backend === main.backend) continue;
    if ((BACKEND_CHOICES as readonly string[]).includes(backend)) results[backend] = measureChild(backend, common);
    else console.error(`bench train: this checkout has no '${backend}' backend; skipped`);
  }
  if (compareWith.includes('cpu') && main.backend !== 'cpu')
    results.cpu = measureChild('cpu', { ...common, batchSize: options.cpuBatchSize, steps: 1, warmup: 0 });
  const peers: Record<string, PeerResult | null> = {};
  let precisionRuns: PrecisionRun | null = null;
  if (compareWith.includes('peer')) {
    const topology = buildModel(common.model, { inputShape: common.input, classes: 10, width: common.width });
    const request = {
      kind: options.peer,
      topology: topology.toJSON(undefined, false) as object,
      width: common.width,
      batchSize: common.batchSize,
      input: common.input,
      steps: Math.max(common.steps, 3),
      device: options.peerDevice,
      channelsLast: true,
      sharedScript: options.sharedScript,
      precision: main.precision,
    };
    topology.dispose();
    peers.same_threads = measurePeer({ ...request, threads: common.threads });
    precisionRuns = otherPrecision(options, { ...request, threads: common.threads });
    if (common.threads !== 1 && options.peerDevice === 'cpu')
      peers.one_thread = measurePeer({ ...request, threads: 1 });
  }
  const peer = peers.same_threads ?? null;
  const ratio = (r: TrainBenchResult | null, key: 'train_img_per_s' | 'infer_img_per_s', p: PeerResult | null) =>
    r && p ? round(r[key] / p[key]) : null;
  // The peer's CPU ms per step over ours (same batch): above 1, our step costs less CPU time.
  const cpuRatio = (r: TrainBenchResult | null, p: PeerResult | null) =>
    r && p?.step_cpu_ms ? round(p.step_cpu_ms / r.step_cpu_ms) : null;
  const brief = (r: TrainBenchResult | null) =>
    r && {
      train_img_per_s: r.train_img_per_s,
      infer_img_per_s: r.infer_img_per_s,
      batch_size: r.batch_size,
      threads: r.threads,
      peak_rss_mb: r.peak_rss_mb,
      step_ms: r.step_ms,
      step_ms_uncaptured: r.step_ms_uncaptured,
      capture_speedup: r.capture_speedup,
      ratio_to_peer_train: ratio(r, 'train_img_per_s', peer),
      ratio_to_peer_infer: ratio(r, 'infer_img_per_s', peer),
      cpu_ratio_to_peer_train: cpuRatio(r, peer),
      ratio_to_peer_1thread_train: ratio(r, 'train_img_per_s', peers.one_thread ?? null),
    };
  console.log(
    JSON.stringify({
      name: 'summary',
      backend: main.backend,
      model: main.model,
      input: main.input,
      width: main.width,
      batch_size: main.batch_size,
      threads: common.threads,
      engine: main.engine,
      workers: main.workers,
      machine_two_thread_speedup: main.machine_two_thread_speedup ?? null,
      speedup_vs_local: options.local ? round(main.train_img_per_s / options.local.train_img_per_s) : null,
      backends: Object.fromEntries(Object.entries(results).map(([name, r]) => [name, brief(r)])),
      peer: peer && { ...peer },
      peer_1thread: peers.one_thread ?? null,
      /** The graph peer builds the same network: its parameter count must equal ours. */
      peer_params_match: peer ? peer.params === main.trainable_params : null,
      ratio_to_peer_train: ratio(main, 'train_img_per_s', peer),
      ratio_to_peer_infer: ratio(main, 'infer_img_per_s', peer),
      precisions: byPrecision(main, peer, precisionRuns),
    }),
  );
}

function positiveInteger(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1) {
    console.error(`bench train: --${name} ${value} is invalid: expected an integer >= 1`);
    process.exit(2);
  }
  return value;
}

function parseCompareWith(text: string): Comparable[] {
  const items = text.split(',').map((s) => s.trim());
  const bad = items.filter((s) => !(COMPARABLE as readonly string[]).includes(s));
  if (bad.length > 0) {
    console.error(
      `bench train: --compare-with '${bad.join(',')}' is invalid: expected some of ${COMPARABLE.join(',')}`,
    );
    process.exit(2);
  }
  return items as Comparable[];
}

/** `--input`, else the family's default input; `--image-size` replaces its height and width. */
function resolveInput(model: string, input: string | undefined, imageSize: number | undefined) {
  const [h, w, c] = input === undefined ? modelFamily(model).defaultInputShape : parseInput(input);
  if (imageSize === undefined) return [h, w, c] as [number, number, number];
  const size = positiveInteger('image-size', imageSize);
  return [size, size, c] as [number, number, number];
}

/** A request the backend cannot serve (e.g. --precision bf16 on wasm): the message and exit status 2. */
async function refuseUsage<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    console.error(`bench train: ${err.message}`);
    process.exit(2);
  }
}

export async function run(argv: string[]): Promise<void> {
  const args = await yargs(argv)
    .option('model', { type: 'string', default: 'inception-bn-small', choices: MODEL_NAMES as string[] })
    .option('input', { type: 'string', describe: "HxWxC (default: the model's, 28x28x1 or 224x224x3)" })
    .option('image-size', { type: 'number', describe: 'sets the input height and width (keeps its channels)' })
    .option('batch-size', { type: 'number', default: 64 })
    .option('backend', { type: 'string', default: 'auto', choices: BACKEND_CHOICES as readonly string[] })
    .option('steps', { type: 'number', default: 3, describe: 'timed training steps (and predict passes)' })
    .option('warmup', { type: 'number', default: 1, describe: 'untimed training steps first' })
    .option('width', { type: 'number', default: 1 })
    .option('threads', { type: 'number', default: availableParallelism(), describe: 'intra-op threads (torch, peer)' })
    .option('profile', { type: 'boolean', default: false, describe: 'kernel times of one step (tf.profile)' })
    .option('compare', { type: 'boolean', default: false, describe: 'also measure other backends and PyTorch' })
    .option('compare-with', { type: 'string', default: COMPARABLE.join(','), describe: 'what --compare measures' })
    .option('cpu-batch-size', { type: 'number', default: 2 })
    .option('peer', {
      type: 'string',
      choices: PEER_KINDS as readonly string[],
      describe: 'PyTorch peer: shared (the hand-written small net; default for inception-bn-small) or graph',
    })
    .option('peer-device', { type: 'string', choices: ['cpu', 'cuda'], describe: 'default: cuda when a GPU is in use' })
    .option('torch', { type: 'string', default: SHARED_PEER, describe: 'the shared PyTorch peer script' })
    .option('engine', { type: 'string', default: 'local', choices: ENGINES as readonly string[] })
    .option('precision', {
      type: 'string',
      choices: PRECISION_CHOICES as readonly string[],
      describe: 'training precision (default NET2NET_PRECISION, else fp32)',
    })
    .option('workers', { type: 'number', default: 1, describe: 'worker threads of the data-parallel engine' })
    .option('capture', {
      type: 'boolean',
      default: true,
      describe: 'torch: replay captured steps (and time TF.js steps first); --no-capture: TF.js steps only',
    })
    .option('cudnn-benchmark', {
      type: 'boolean',
      describe: 'cuDNN picks the fastest convolution algorithms (default: NET2NET_CUDNN_BENCHMARK, else off)',
    })
    .strict()
    .parseAsync();
  for (const name of ['batch-size', 'steps', 'cpu-batch-size', 'workers', 'threads'] as const)
    positiveInteger(name, args[name]);
  const common: MeasureOptions = {
    backend: args.backend as BackendChoice,
    model: args.model,
    input: resolveInput(args.model, args.input, args['image-size']),
    width: args.width,
    batchSize: args['batch-size'],
    steps: args.steps,
    warmup: Math.max(0, Math.floor(args.warmup)),
    threads: args.threads,
    profile: false,
    engine: 'local',
    workers: 0,
    precision: (args.precision as PrecisionChoice | undefined) ?? precisionFromEnv() ?? 'fp32',
    cudnnBenchmark: args['cudnn-benchmark'] ?? cudnnBenchmarkFromEnv(),
    capture: args.capture,
  };
  const compareWith = parseCompareWith(args['compare-with']);
  const main = await refuseUsage(() =>
    measure({
      ...common,
      profile: args.profile,
      engine: args.engine as EngineName,
      workers: args.workers,
    }),
  );
  console.log(JSON.stringify(main));
  if (!args.compare) return;
  const local = main.engine === 'local' ? null : await measure(common);
  if (local) console.log(JSON.stringify(local));
  const gpuInUse = (await selectBackend(common.backend, () => {})).gpuInUse === true;
  compare({
    main,
    local,
    common: { ...common, backend: main.backend as BackendChoice },
    compareWith,
    cpuBatchSize: args['cpu-batch-size'],
    peer: (args.peer as PeerKind | undefined) ?? (args.model === 'inception-bn-small' ? 'shared' : 'graph'),
    peerDevice: (args['peer-device'] as 'cpu' | 'cuda' | undefined) ?? (gpuInUse ? 'cuda' : 'cpu'),
    sharedScript: args.torch,
  });
}
