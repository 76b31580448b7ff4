/** The intra-op thread count of the backend that runs (torch's), which a run's numbers depend on; null elsewhere. */
import * as tf from '@tensorflow/tfjs';
import type { BackendInfo } from '../backend/backend.ts';

export function backendThreads(backend: BackendInfo): number | null {
  if (backend.tfBackend !== 'torch') return null;
  const threads = (tf.findBackend('torch') as { threads?: unknown } | null)?.threads;
  return typeof threads === 'number' ? threads : null;
}
