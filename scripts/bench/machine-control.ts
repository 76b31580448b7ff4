/**
 * A control for the machine, not for our code: the same pure-JS work split over 2 worker threads vs 1. About 2 when
 * a second core is free; about 1 when other processes take it (Linux autogroup gives each session an equal share,
 * however many threads it runs). Report it beside any multi-threaded speed-up so the ratio can be read.
 */
import { Worker } from 'node:worker_threads';

export async function twoThreadSpeedup(iterations = 4e8): Promise<number> {
  const code =
    'const { workerData, parentPort } = require("node:worker_threads"); let x = 0;' +
    'for (let i = 0; i < workerData; i++) x += Math.sqrt(i); parentPort.postMessage(x);';
  const time = async (threads: number) => {
    const start = performance.now();
    await Promise.all(
      Array.from({ length: threads }, () => {
        const worker = new Worker(code, { eval: true, workerData: iterations / threads });
        return new Promise((resolve) => worker.once('message', resolve));
      }),
    );
    return performance.now() - start;
  };
  return (await time(1)) / (await time(2));
}
