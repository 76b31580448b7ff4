/**
 * Decode worker threads for the image-folder pipeline: file reads, sharp and the resampler run off the main thread,
 * and so does the queue: the dataset hands the whole prefetch window to the pool at once and each worker runs
 * `activePerThread` decodes at a time from its own FIFO. A trainer whose steps hold the main thread for seconds
 * (every TensorFlow.js backend runs ops synchronously) therefore does not stall the prefetch: the workers go through
 * the window meanwhile, and the replies wait in the main thread's message queue. A request goes to the worker with
 * the fewest requests outstanding; the dataset's DecodeSettings travel once, as workerData, so a request is a path
 * and a seed.
 */
import type { Worker } from 'node:worker_threads';
import { startTypeScriptWorker } from '../../threads/typescript-worker.ts';
import type { DecodeRequest, DecodeResult, DecodeSettings } from './example-decoder.ts';

export interface DecodeTask {
  id: number;
  request: DecodeRequest;
}

/**
 * What the main thread sends a worker: the requests and returned buffers of one turn of its event loop together
 * (every message may wake the worker: at most one message per image instead of two, fewer when the consumer takes
 * several finished examples in one turn).
 */
export interface ToDecodeWorker {
  tasks: DecodeTask[];
  /** Result buffers handed back for reuse. */
  recycled: ArrayBuffer[];
}

export interface DecodeReply {
  id: number;
  result: DecodeResult;
  /** Date.now() in the worker when the decode finished. */
  finishedAt: number;
}

/** What a decode worker starts with. */
export interface DecodeWorkerData {
  settings: DecodeSettings;
  /** Decodes a worker runs at once (sharp calls in flight on libuv's pool); the rest wait in its FIFO. */
  activePerThread: number;
}

interface Pending {
  resolve: (result: DecodeResult) => void;
  reject: (err: Error) => void;
}

interface DecodeWorker {
  index: number;
  worker: Worker;
  pending: Map<number, Pending>;
  /** Sent at the end of the current turn (a microtask). */
  outbox: ToDecodeWorker | null;
}

export class DecodePool {
  private readonly workers: DecodeWorker[] = [];
  private nextId = 0;
  private nextRecycler = 0;
  private closed = false;
  /** Sees every reply as it arrives (diagnostics and tests: when did the workers finish what). */
  observer: ((reply: DecodeReply) => void) | null = null;

  constructor(
    readonly threads: number,
    private readonly settings: DecodeSettings,
    private readonly name: string,
    private readonly activePerThread = 2,
  ) {
    if (!Number.isInteger(threads) || threads < 1) throw new Error(`${name}: decode threads must be a positive integer, got ${threads}`);
    if (!Number.isInteger(activePerThread) || activePerThread < 1) {
      throw new Error(`${name}: decodes per thread must be a positive integer, got ${activePerThread}`);
    }
    for (let i = 0; i < threads; i++) this.workers.push(this.start(i));
  }

  decode(request: DecodeRequest): Promise<DecodeResult> {
    if (this.closed) return Promise.reject(new Error(`${this.name}: the decode pool is closed`));
    let target = this.workers[0]!;
    for (const w of this.workers) if (w.pending.size < target.pending.size) target = w;
    const id = this.nextId++;
    return new Promise<DecodeResult>((resolve, reject) => {
      target.pending.set(id, { resolve, reject });
      target.worker.ref();
      this.outbox(target).tasks.push({ id, request });
    });
  }

  /** Gives a result's buffer back (after copying its values): the workers reuse it instead of allocating. */
  recycle(values: Float32Array): void {
    if (this.closed || values.byteOffset !== 0 || values.byteLength !== values.buffer.byteLength) return;
    const target = this.workers[this.nextRecycler++ % this.workers.length]!;
    this.outbox(target).recycled.push(values.buffer as ArrayBuffer);
  }

  private outbox(entry: DecodeWorker): ToDecodeWorker {
    if (entry.outbox === null) {
      const outbox: ToDecodeWorker = { tasks: [], recycled: [] };
      entry.outbox = outbox;
      queueMicrotask(() => {
        if (entry.outbox !== outbox) return; // the worker was replaced meanwhile
        entry.outbox = null;
        entry.worker.postMessage(outbox, outbox.recycled);
      });
    }
    return entry.outbox;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all(this.workers.map((w) => w.worker.terminate()));
    for (const w of this.workers) this.failPending(w, new Error(`${this.name}: the decode pool was closed`));
  }

  private start(index: number): DecodeWorker {
    const worker = startTypeScriptWorker(new URL('./decode-worker.ts', import.meta.url), {
      settings: this.settings,
      activePerThread: this.activePerThread,
    } satisfies DecodeWorkerData);
    const entry: DecodeWorker = { index, worker, pending: new Map(), outbox: null };
    worker.on('message', (message: DecodeReply) => {
      this.observer?.(message);
      const pending = entry.pending.get(message.id);
      entry.pending.delete(message.id);
      if (entry.pending.size === 0) worker.unref();
      pending?.resolve(message.result);
    });
    worker.on('error', (err) => this.replace(entry, `failed: ${err.message}`));
    worker.on('exit', (code) => this.replace(entry, `exited with code ${code}`));
    // an idle pool must not keep the process alive (ref'd while requests are in flight); after the listeners:
    // adding a 'message' listener refs the worker's port again
    worker.unref();
    return entry;
  }

  /** A dead worker's requests fail (a decode error never kills a worker: it becomes a bad-file result); a new one takes its place. */
  private replace(entry: DecodeWorker, what: string): void {
    if (this.closed || this.workers[entry.index] !== entry) return;
    entry.outbox = null;
    this.failPending(entry, new Error(`${this.name}: decode worker ${entry.index} ${what}`));
    this.workers[entry.index] = this.start(entry.index);
  }

  private failPending(entry: DecodeWorker, err: Error): void {
    for (const p of entry.pending.values()) p.reject(err);
    entry.pending.clear();
  }
}
