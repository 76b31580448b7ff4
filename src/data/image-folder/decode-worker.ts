/**
 * Entry of a decode worker thread (decode-pool.ts): answers each DecodeRequest with its DecodeResult, and takes
 * result buffers back for reuse.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { configureSharpForDatasets } from './decode-image.ts';
import type { DecodeSettings } from './example-decoder.ts';
import { ExampleDecoder } from './example-decoder.ts';
import type { DecodeReply, DecodeTask, RecycledBuffer } from './decode-pool.ts';

if (!parentPort) throw new Error('decode-worker.ts runs as a worker thread (see decode-pool.ts)');
const port = parentPort;
configureSharpForDatasets();
const decoder = new ExampleDecoder(workerData as DecodeSettings);

port.on('message', (message: DecodeTask | RecycledBuffer) => {
  if ('recycled' in message) {
    decoder.recycle(new Float32Array(message.recycled));
    return;
  }
  const task = message;
  void decoder.decode(task.request).then((result) => {
    const reply: DecodeReply = { id: task.id, result };
    port.postMessage(reply, 'values' in result ? [result.values.buffer as ArrayBuffer] : []);
  });
});
