/**
 * A finished training session's `summary.json` in the run folder: how far the run got and its final and best
 * validation accuracy. Written by the trainer at the end of every session; read to tell a finished run.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeJsonAtomic } from '../io/atomic-file.ts';

export const RUN_SUMMARY_JSON = 'summary.json';

/** Who ran: the caller's names for the run, recorded as they are. */
export interface RunLabels {
  run: string;
  label: string;
  backend: string;
  /** The training precision (fp32, bf16, tf32). */
  precision?: string;
}

export interface RunSummary extends Partial<RunLabels> {
  /** Optimizer steps done. */
  steps: number;
  images: number;
  epochs: number;
  final_val_acc: number | null;
  final_val_loss: number | null;
  best_val_acc: number | null;
  best_step: number | null;
  wall_s: number;
  params: number;
  /** The model's forward multiply-adds per image (null: shapes not fixed); absent in summaries written before. */
  forward_macs_per_image?: number | null;
  /** The last curve row's compute columns (curve-log.ts: training and evaluation multiply-adds and wall seconds). */
  train_macs?: number | null;
  train_wall_s?: number | null;
  eval_macs?: number | null;
  eval_wall_s?: number | null;
}

export function writeRunSummary(runDir: string, summary: RunSummary): void {
  writeJsonAtomic(join(runDir, RUN_SUMMARY_JSON), summary);
}

/** The run's summary, or null when it has none (a run never finished) or it is not one (no numeric `steps`). */
export function readRunSummary(runDir: string): RunSummary | null {
  const path = join(runDir, RUN_SUMMARY_JSON);
  if (!existsSync(path)) return null;
  const parsed = JSON.parse(readFileSync(path, 'utf8')) as Partial<RunSummary> | null;
  return typeof parsed?.steps === 'number' ? (parsed as RunSummary) : null;
}
