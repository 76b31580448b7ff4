/**
 * Data-parallel training over worker threads: every replica (a worker with its own backend instance, and optionally
 * the calling thread) runs forward and backward on a contiguous shard of the batch; the main thread averages the
 * gradients weighted by shard size and applies ONE RMSProp update with the optimizer it owns, so the optimizer step
 * is the full-batch step (up to float rounding) for models without BatchNorm.
 *
 * BatchNorm: each replica normalizes with its own shard's batch statistics (like PyTorch DDP without SyncBN), so with
 * BatchNorm the gradient is not the full-batch gradient. Moving statistics: after each step the main model's moving
 * mean and variance become the shard-size-weighted average of the replicas' updated ones, and every replica starts the
 * next step from them. That average is m * old + (1 - m) * (weighted mean of shard statistics): exact for the moving
 * mean, while the moving variance misses the between-shard spread of the means and uses per-shard unbiased variances.
 *
 * Per step the main thread publishes all weights (trainable and non-trainable) into one SharedArrayBuffer, posts each
 * worker its shard, and waits (Atomics.waitAsync) until every worker has stored the step's generation number in its
 * signal slot; gradients and statistics come back in one float32 SharedArrayBuffer per replica.
 */
import * as tf from '@tensorflow/tfjs';
import type { Worker } from 'node:worker_threads';
import { createRmsProp, setLearningRate } from '../local-step-engine.ts';
import type { RmsPropConfig, StepEngine, StepResult } from '../step-engine.ts';
import { readOptimizerState, writeOptimizerState, type NamedSlot } from '../optimizer-slots.ts';
import {
  publishedSlot,
  type ReplicaBackend,
  type ReplicaInit,
  type ReplicaMessage,
  type StepRequest,
} from './replica-protocol.ts';
import { computeShardGradients, type ReplicaVariables } from './shard-gradients.ts';
import { shardSizes, shardStarts } from './shard-sizes.ts';
import { startTypeScriptWorker } from '../../threads/typescript-worker.ts';
import { readVariables, variablesInLayout, weightLayout, type WeightLayout } from './weight-layout.ts';

export interface DataParallelOptions {
  /** Replicas in worker threads (at least 1). */
  workers: number;
  /** The backend every worker selects (wasm registers the project's training kernels there too). */
  backend: ReplicaBackend;
  /**
   * Whether the calling thread computes a shard too, on its own backend (then there are workers + 1 replicas).
   * Default: true when the calling thread runs the workers' backend, false otherwise (a main thread on the plain cpu
   * backend would be the slowest replica by far; on wasm, a shard on the main thread costs less CPU per image than
   * one more worker, since the main thread's serial part is small: README, Benchmarks).
   */
  mainThreadShard?: boolean;
  /** A step fails, naming the replica, when a worker has not finished its shard by then. Default 10 minutes. */
  stepTimeoutMs?: number;
  /** Starting fails, naming the replica, when a worker is not ready by then. Default 2 minutes. */
  startTimeoutMs?: number;
}

const DEFAULT_STEP_TIMEOUT_MS = 600_000;
const DEFAULT_START_TIMEOUT_MS = 120_000;

type WaitAsyncResult = { async: false; value: 'not-equal' | 'timed-out' } | { async: true; value: Promise<string> };
/** Atomics.waitAsync (Node 16+) is missing from TypeScript's ES2023 lib. */
function waitAsync(signals: Int32Array, index: number, value: number, timeoutMs: number): WaitAsyncResult {
  return (Atomics as unknown as { waitAsync: typeof waitAsync }).waitAsync(signals, index, value, timeoutMs);
}

/** One replica's part of a step: its shard size, result buffer (layout offsets) and scores. */
interface ShardOutcome {
  size: number;
  buffer: Float32Array;
  /** Mean cross-entropy over the shard. */
  loss: number;
  correct: number;
}

interface WorkerReplica {
  index: number;
  worker: Worker;
  /** Gradients then moving statistics, in layout offsets. */
  result: Float32Array;
  /** Set by the worker's error message, crash or exit; wakes the waiting step. */
  failure?: Error;
}

export async function createDataParallelStepEngine(
  model: tf.LayersModel,
  config: RmsPropConfig,
  options: DataParallelOptions,
): Promise<DataParallelStepEngine> {
  if (!Number.isInteger(options.workers) || options.workers < 1)
    throw new Error(`data-parallel engine needs at least one worker, got workers=${options.workers}`);
  if (options.backend !== 'wasm' && options.backend !== 'cpu')
    throw new Error(`data-parallel workers run on 'wasm' or 'cpu', got backend '${String(options.backend)}'`);
  const engine = new DataParallelStepEngine(model, config, options);
  await engine.start(options.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS);
  return engine;
}

export class DataParallelStepEngine implements StepEngine {
  private readonly optimizer: tf.RMSPropOptimizer;
  private readonly layout: WeightLayout;
  private readonly variables: ReplicaVariables;
  private readonly weights: Float32Array;
  private readonly scores: Float64Array;
  private readonly signals: Int32Array;
  private readonly replicas: WorkerReplica[] = [];
  /** The calling thread's result buffer when it computes a shard. */
  private readonly mainResult: Float32Array | null;
  /** Accumulators of the weighted averages. */
  private readonly sum: Float64Array;
  private readonly stepTimeoutMs: number;
  /** Shards per step: the workers, plus the calling thread when it computes one. */
  readonly replicaCount: number;
  private generation = 0;
  private busy = false;
  private disposed = false;
  /** Set once the workers are being terminated: their exits are expected from then on. */
  private stopping = false;
  /** Why the engine cannot step any more (a worker crashed or timed out). */
  private broken?: Error;

  constructor(
    readonly model: tf.LayersModel,
    private readonly config: RmsPropConfig,
    private readonly options: DataParallelOptions,
  ) {
    this.optimizer = createRmsProp(config);
    this.layout = weightLayout(model);
    this.variables = {
      trainable: variablesInLayout(model, this.layout.trainable, true),
      nonTrainable: variablesInLayout(model, this.layout.nonTrainable, false),
    };
    const floats = this.layout.totalSize;
    this.weights = new Float32Array(new SharedArrayBuffer(4 * floats));
    this.scores = new Float64Array(new SharedArrayBuffer(8 * 2 * options.workers));
    this.signals = new Int32Array(new SharedArrayBuffer(4 * (options.workers + 1)));
    const mainThreadShard = options.mainThreadShard ?? tf.getBackend() === options.backend;
    this.mainResult = mainThreadShard ? new Float32Array(floats) : null;
    this.replicaCount = options.workers + (mainThreadShard ? 1 : 0);
    this.sum = new Float64Array(floats);
    this.stepTimeoutMs = options.stepTimeoutMs ?? DEFAULT_STEP_TIMEOUT_MS;
  }

  /** Starts the workers and waits until each has rebuilt the model on its backend. */
  async start(timeoutMs: number): Promise<void> {
    const modelTopology = this.model.toJSON(null, false) as object;
    for (let index = 0; index < this.options.workers; index++) {
      const result = new SharedArrayBuffer(4 * this.layout.totalSize);
      const init: ReplicaInit = {
        index,
        backend: this.options.backend,
        modelTopology,
        layout: this.layout,
        weights: this.weights.buffer as SharedArrayBuffer,
        result,
        scores: this.scores.buffer as SharedArrayBuffer,
        signals: this.signals.buffer as SharedArrayBuffer,
      };
      const worker = startTypeScriptWorker(new URL('./replica-worker.ts', import.meta.url), init);
      this.replicas.push({ index, worker, result: new Float32Array(result) });
    }
    try {
      await Promise.all(this.replicas.map((replica) => this.waitUntilReady(replica, timeoutMs)));
    } catch (err) {
      await this.terminateWorkers();
      this.optimizer.dispose();
      throw err;
    }
    for (const replica of this.replicas) this.watch(replica);
  }

  private waitUntilReady(replica: WorkerReplica, timeoutMs: number): Promise<void> {
    const name = `data-parallel replica ${replica.index} (worker thread)`;
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => finish(new Error(`${name} was not ready within ${timeoutMs} ms`)), timeoutMs);
      const onMessage = (message: ReplicaMessage): void => {
        if (message.type === 'start-error') finish(new Error(`${name} could not start: ${message.message}`));
        else if (message.type === 'ready' && message.tfBackend !== this.options.backend)
          finish(new Error(`${name} runs backend '${message.tfBackend}', not '${this.options.backend}'`));
        else if (message.type === 'ready') finish();
      };
      const onError = (err: Error): void => finish(new Error(`${name} could not start: ${err.message}`));
      const onExit = (code: number): void => finish(new Error(`${name} exited with code ${code} while starting`));
      const finish = (err?: Error): void => {
        clearTimeout(timer);
        replica.worker.off('message', onMessage).off('error', onError).off('exit', onExit);
        if (err) reject(err);
        else resolve();
      };
      replica.worker.on('message', onMessage).on('error', onError).on('exit', onExit);
    });
  }

  /** Routes a running worker's failures to the step that waits for it. */
  private watch(replica: WorkerReplica): void {
    const name = `data-parallel replica ${replica.index} (worker thread)`;
    replica.worker.on('message', (message: ReplicaMessage) => {
      if (message.type === 'step-error' && message.generation === this.generation)
        this.fail(replica, new Error(`${name} failed in step ${message.generation}: ${message.message}`));
    });
    replica.worker.on('error', (err: Error) => {
      this.broken ??= new Error(`${name} crashed: ${err.message}`);
      this.fail(replica, this.broken);
    });
    replica.worker.on('exit', (code: number) => {
      if (this.stopping) return;
      this.broken ??= new Error(`${name} exited unexpectedly with code ${code}`);
      this.fail(replica, this.broken);
    });
  }

  private fail(replica: WorkerReplica, err: Error): void {
    replica.failure ??= err;
    Atomics.notify(this.signals, replica.index); // wakes waitForReplica, which then sees the failure
  }

  async step(x: tf.Tensor4D, y: tf.Tensor1D, learningRate: number): Promise<StepResult> {
    this.assertUsable('step');
    if (this.busy) throw new Error('data-parallel step called while another step is running');
    const batch = x.shape[0];
    if (x.dtype !== 'float32') throw new Error(`step: x must be float32, got ${x.dtype}`);
    if (y.shape[0] !== batch) throw new Error(`step: x has ${batch} examples but y has ${y.shape[0]} labels`);
    this.busy = true;
    try {
      return await this.runStep(x, y, learningRate);
    } finally {
      this.busy = false;
    }
  }

  private async runStep(x: tf.Tensor4D, y: tf.Tensor1D, learningRate: number): Promise<StepResult> {
    const batch = x.shape[0];
    const workerCount = this.replicas.length;
    const sizes = shardSizes(batch, this.replicaCount);
    const starts = shardStarts(sizes);
    const { trainable, nonTrainable } = this.variables;
    await readVariables(
      [...trainable, ...nonTrainable],
      [...this.layout.trainable, ...this.layout.nonTrainable],
      this.weights,
    );
    const generation = ++this.generation;
    // Publishing the generation after the weights orders the writes before every worker's read of them.
    Atomics.store(this.signals, publishedSlot(this.signals), generation);

    const waits = await this.postShards(x, y, sizes, starts, generation);
    const outcomes: ShardOutcome[] = [];
    const errors: Error[] = [];
    if (this.mainResult && sizes[workerCount] > 0) {
      try {
        outcomes.push(await this.computeMainShard(x, y, starts[workerCount], sizes[workerCount], this.mainResult));
      } catch (err) {
        errors.push(new Error(`data-parallel main-thread shard failed: ${err instanceof Error ? err.message : err}`));
      }
    }
    for (const settled of await Promise.allSettled(waits)) {
      if (settled.status === 'rejected') errors.push(settled.reason as Error);
    }
    if (errors.length > 0) {
      if (this.mainResult) this.restoreNonTrainable();
      if (this.broken) await this.terminateWorkers();
      throw errors.length === 1 ? errors[0] : new Error(errors.map((e) => e.message).join('\n'));
    }
    for (const replica of this.replicas) {
      const size = sizes[replica.index];
      if (size === 0) continue;
      const [loss, correct] = this.scores.subarray(2 * replica.index, 2 * replica.index + 2);
      outcomes.push({ size, buffer: replica.result, loss, correct });
    }

    this.averageInto(outcomes, batch);
    this.applyUpdate(learningRate);
    return {
      loss: outcomes.reduce((sum, o) => sum + o.size * o.loss, 0) / batch,
      correct: outcomes.reduce((sum, o) => sum + o.correct, 0),
    };
  }

  /** Sends each worker its shard (a copy of the examples) and returns the waits for their signals. */
  private async postShards(
    x: tf.Tensor4D,
    y: tf.Tensor1D,
    sizes: number[],
    starts: number[],
    generation: number,
  ): Promise<Promise<void>[]> {
    const [xs, ys] = await Promise.all([x.data<'float32'>(), y.data()]);
    const perExample = x.shape[1] * x.shape[2] * x.shape[3];
    const deadline = performance.now() + this.stepTimeoutMs;
    const waits: Promise<void>[] = [];
    for (const replica of this.replicas) {
      replica.failure = undefined;
      const size = sizes[replica.index];
      if (size === 0) continue;
      const start = starts[replica.index];
      const labels = ys.subarray(start, start + size);
      const request: StepRequest = {
        type: 'step',
        generation,
        x: xs.slice(start * perExample, (start + size) * perExample),
        xShape: [size, x.shape[1], x.shape[2], x.shape[3]],
        y: y.dtype === 'int32' ? Int32Array.from(labels) : Float32Array.from(labels),
        yDtype: y.dtype === 'int32' ? 'int32' : 'float32',
        weightDecay: this.config.weightDecay,
      };
      replica.worker.postMessage(request, [request.x.buffer as ArrayBuffer, request.y.buffer as ArrayBuffer]);
      waits.push(this.waitForReplica(replica, generation, deadline));
    }
    return waits;
  }

  private async computeMainShard(
    x: tf.Tensor4D,
    y: tf.Tensor1D,
    start: number,
    size: number,
    buffer: Float32Array,
  ): Promise<ShardOutcome> {
    const xPart = tf.slice(x, [start, 0, 0, 0], [size, -1, -1, -1]);
    const yPart = tf.slice(y, [start], [size]);
    try {
      const { weightDecay } = this.config;
      const score = await computeShardGradients(
        this.model,
        this.variables,
        this.layout,
        xPart,
        yPart,
        weightDecay,
        buffer,
      );
      return { size, buffer, ...score };
    } finally {
      xPart.dispose();
      yPart.dispose();
    }
  }

  /** Resolves when the worker has signalled `generation`; rejects on its failure or at the deadline. */
  private async waitForReplica(replica: WorkerReplica, generation: number, deadline: number): Promise<void> {
    for (;;) {
      const seen = Atomics.load(this.signals, replica.index);
      if (seen === generation) return;
      if (replica.failure) throw replica.failure;
      if (this.stopping) throw this.broken ?? new Error('data-parallel engine was disposed during a step');
      const remaining = deadline - performance.now();
      if (remaining <= 0) {
        this.broken ??= new Error(
          `data-parallel replica ${replica.index} (worker thread) did not finish step ${generation} ` +
            `within ${this.stepTimeoutMs} ms`,
        );
        throw this.broken;
      }
      const wait = waitAsync(this.signals, replica.index, seen, remaining);
      if (wait.async) await wait.value;
    }
  }

  /** sum = shard-size-weighted mean of the replicas' buffers (gradients, then moving statistics). */
  private averageInto(results: ShardOutcome[], batch: number): void {
    const sum = this.sum;
    sum.fill(0);
    for (const { size, buffer } of results) {
      for (let i = 0; i < sum.length; i++) sum[i] += size * buffer[i];
    }
    // Dividing the float64 sum of size * value by the batch gives back a float32 value exactly when all replicas
    // agree, so weights that no replica changes (frozen layers) stay bit-identical.
    for (let i = 0; i < sum.length; i++) sum[i] /= batch;
  }

  private applyUpdate(learningRate: number): void {
    setLearningRate(this.optimizer, learningRate);
    const { trainable, nonTrainable } = this.layout;
    tf.tidy(() => {
      // Keys in trainable-weight order: RMSPropOptimizer matches its slots to gradients by position.
      const gradients: Record<string, tf.Tensor> = {};
      trainable.forEach((slot, i) => {
        gradients[this.variables.trainable[i].name] = tf.tensor(
          Float32Array.from(this.sum.subarray(slot.offset, slot.offset + slot.size)),
          slot.shape,
          'float32',
        );
      });
      this.optimizer.applyGradients(gradients);
      nonTrainable.forEach((slot, i) => {
        const value = Float32Array.from(this.sum.subarray(slot.offset, slot.offset + slot.size));
        this.variables.nonTrainable[i].assign(tf.tensor(value, slot.shape, 'float32'));
      });
    });
  }

  /** Undoes the main-thread shard's moving-statistics update when the step fails (values published at its start). */
  private restoreNonTrainable(): void {
    tf.tidy(() =>
      this.layout.nonTrainable.forEach((slot, i) => {
        const value = this.weights.slice(slot.offset, slot.offset + slot.size);
        this.variables.nonTrainable[i].assign(tf.tensor(value, slot.shape, 'float32'));
      }),
    );
  }

  async getOptimizerState(): Promise<NamedSlot[]> {
    this.assertUsable('getOptimizerState');
    return readOptimizerState(this.optimizer, this.model);
  }

  async setOptimizerState(state: NamedSlot[]): Promise<void> {
    this.assertUsable('setOptimizerState');
    await writeOptimizerState(this.optimizer, this.model, state);
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    await this.terminateWorkers();
    this.optimizer.dispose();
  }

  private async terminateWorkers(): Promise<void> {
    this.stopping = true;
    for (const replica of this.replicas) Atomics.notify(this.signals, replica.index);
    await Promise.all(this.replicas.map((replica) => replica.worker.terminate()));
  }

  private assertUsable(what: string): void {
    if (this.broken) throw new Error(`data-parallel engine cannot ${what}: ${this.broken.message}`);
    if (this.disposed) throw new Error(`data-parallel engine cannot ${what}: it was disposed`);
  }
}
