/**
 * How training steps run: on this thread (on torch: captured and replayed natively), or data-parallel over worker
 * threads (wasm and cpu backends).
 */
import * as tf from '@tensorflow/tfjs';
import type { BackendInfo } from '../backend/backend.ts';
import type { TorchBackend } from '../backend/torch/torch-backend.ts';
import { CapturedStepEngine } from '../train/captured-step-engine.ts';
import { createDataParallelStepEngine } from '../train/data-parallel/data-parallel-step-engine.ts';
import type { EngineFactory } from '../train/trainer.ts';
import { localEngine } from '../train/trainer.ts';
import { UsageError } from '../usage-error.ts';

export interface EngineChoice {
  /** Data-parallel worker threads (wasm, cpu); 1 = this thread. */
  workers: number;
  /** On torch, replay captured steps (src/train/captured-step-engine.ts); off: every step runs through TF.js. */
  capture: boolean;
  log?: (line: string) => void;
}

/** Whether `engineFactory` captures steps with these settings (torch on this thread, capture not turned off). */
export function capturesSteps(backend: BackendInfo, choice: EngineChoice): boolean {
  return choice.capture && choice.workers === 1 && backend.choice === 'torch';
}

export function engineFactory(backend: BackendInfo, choice: EngineChoice): EngineFactory {
  const { workers } = choice;
  if (!Number.isInteger(workers) || workers < 1)
    throw new UsageError(`--workers must be a positive integer, got ${workers}`);
  if (capturesSteps(backend, choice)) {
    return (model, optimizer) =>
      new CapturedStepEngine(model, optimizer, tf.backend() as unknown as TorchBackend, choice.log);
  }
  if (workers === 1) return localEngine;
  if (backend.choice !== 'wasm' && backend.choice !== 'cpu')
    throw new UsageError(
      `--workers ${workers} needs the wasm or cpu backend (data-parallel worker threads); the backend is ` +
        `'${backend.choice}', which uses its own threads: drop --workers`,
    );
  const replicaBackend = backend.choice;
  return (model, optimizer) => createDataParallelStepEngine(model, optimizer, { workers, backend: replicaBackend });
}
