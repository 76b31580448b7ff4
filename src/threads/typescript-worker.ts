/**
 * Starting a worker thread on a TypeScript module. On Node 20, `execArgv: ['--import', 'tsx']` does not apply tsx to
 * the worker's entry module (ERR_UNKNOWN_FILE_EXTENSION), so the worker runs a small bootstrap that registers tsx
 * through its API and then imports the entry.
 */
import { Worker } from 'node:worker_threads';

export function startTypeScriptWorker(entry: URL, workerData: unknown): Worker {
  const tsxApi = import.meta.resolve('tsx/esm/api');
  const bootstrap =
    `import(${JSON.stringify(tsxApi)})` +
    `.then(({ register }) => { register(); return import(${JSON.stringify(entry.href)}); });`;
  return new Worker(bootstrap, { eval: true, workerData, execArgv: [] });
}
