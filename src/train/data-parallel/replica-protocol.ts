/**
 * Messages and shared memory between the data-parallel engine (main thread) and its replica workers.
 *
 * Shared memory: `weights` (float32, the layout's totalSize) is written by the main thread before each step and read
 * by every replica; each replica owns one `result` buffer (float32, totalSize: gradients, then moving statistics),
 * one pair of float64 in `scores` (shard loss, correct count) and one int32 in `signals`, where it stores the
 * generation number of the step it has finished and notifies (Atomics) the main thread. The last int32 of `signals`
 * holds the generation whose weights the main thread has published.
 */
import type { WeightLayout } from './weight-layout.ts';

export type ReplicaBackend = 'wasm' | 'cpu';

/** `workerData` of a replica worker. */
export interface ReplicaInit {
  index: number;
  backend: ReplicaBackend;
  /** `model.toJSON(null, false)`: the topology the worker rebuilds. */
  modelTopology: object;
  layout: WeightLayout;
  weights: SharedArrayBuffer;
  result: SharedArrayBuffer;
  scores: SharedArrayBuffer;
  signals: SharedArrayBuffer;
}

export interface StepRequest {
  type: 'step';
  generation: number;
  x: Float32Array;
  xShape: [number, number, number, number];
  y: Float32Array | Int32Array;
  yDtype: 'float32' | 'int32';
  weightDecay: number;
}

export type ReplicaMessage =
  | { type: 'ready'; tfBackend: string }
  | { type: 'start-error'; message: string }
  | { type: 'step-error'; generation: number; message: string };

/** Index in `signals` of the published generation (after one slot per worker). */
export function publishedSlot(signals: Int32Array): number {
  return signals.length - 1;
}
