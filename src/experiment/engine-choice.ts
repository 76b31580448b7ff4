/** How training steps run: on this thread, or data-parallel over worker threads (wasm and cpu backends). */
import type { BackendInfo } from '../backend/backend.ts';
import { createDataParallelStepEngine } from '../train/data-parallel/data-parallel-step-engine.ts';
import type { EngineFactory } from '../train/trainer.ts';
import { localEngine } from '../train/trainer.ts';
import { UsageError } from '../usage-error.ts';

export function engineFactory(backend: BackendInfo, workers: number): EngineFactory {
  if (!Number.isInteger(workers) || workers < 1)
    throw new UsageError(`--workers must be a positive integer, got ${workers}`);
  if (workers === 1) return localEngine;
  if (backend.choice !== 'wasm' && backend.choice !== 'cpu')
    throw new UsageError(
      `--workers ${workers} needs the wasm or cpu backend (data-parallel worker threads); the backend is ` +
        `'${backend.choice}', which uses its own threads: drop --workers`,
    );
  const choice = backend.choice;
  return (model, optimizer) => createDataParallelStepEngine(model, optimizer, { workers, backend: choice });
}
