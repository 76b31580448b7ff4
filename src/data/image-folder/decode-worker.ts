/**
 * Entry of a decode worker thread (decode-pool.ts): answers each DecodeRequest with its DecodeResult, at most
 * `activePerThread` at a time in arrival order, and takes result buffers back for reuse.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { configureSharpForDatasets } from './decode-image.ts';
import { ExampleDecoder } from './example-decoder.ts';
import type { DecodeReply, DecodeTask, DecodeWorkerData, ToDecodeWorker } from './decode-pool.ts';

if (!parentPort) throw new Error('decode-worker.ts runs as a worker thread (see decode-pool.ts)');
const port = parentPort;
const { settings, activePerThread } = workerData as DecodeWorkerData;
configureSharpForDatasets();
const decoder = new ExampleDecoder(settings, true);
const waiting: DecodeTask[] = [];
let active = 0;

function startWaiting(): void {
  while (active < activePerThread && waiting.length > 0) {
    const task = waiting.shift()!;
    active++;
    void decoder.decode(task.request).then((result) => {
      active--;
      const reply: DecodeReply = { id: task.id, result, finishedAt: Date.now() };
      port.postMessage(reply, 'values' in result ? [result.values.buffer as ArrayBuffer] : []);
      startWaiting();
    });
  }
}

port.on('message', (message: ToDecodeWorker) => {
  for (const buffer of message.recycled) decoder.recycle(new Float32Array(buffer));
  waiting.push(...message.tasks);
  startWaiting();
});
