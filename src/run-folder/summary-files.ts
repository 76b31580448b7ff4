/**
 * Where an experiment folder's summaries live: `<out>/summary.json` (the session's), `<out>/figures/summary.json`
 * (beside the figures) and `<figures>/seed-curves.json` (the per-seed curves the figures were drawn from). Their
 * types are the analysis's (src/analysis/experiment-summary.ts); this module only places, writes and reads the JSON.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeJsonAtomic } from '../io/atomic-file.ts';
import { UsageError } from '../usage-error.ts';

export const EXPERIMENT_SUMMARY_JSON = 'summary.json';
export const FIGURES_DIR = 'figures';

export function sessionSummaryPath(experimentDir: string): string {
  return join(experimentDir, EXPERIMENT_SUMMARY_JSON);
}

export function figuresSummaryPath(figuresDir: string): string {
  return join(figuresDir, EXPERIMENT_SUMMARY_JSON);
}

export function writeJsonFile(path: string, value: unknown): void {
  writeJsonAtomic(path, value);
}

/** The JSON at `path` as the caller's type, or null when there is no file; a file that is not JSON is an error. */
export function readJsonIfPresent<T>(path: string): T | null {
  if (!existsSync(path)) return null;
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as T;
  } catch (err) {
    throw new UsageError(`${path} is not valid JSON: ${(err as Error).message}`);
  }
}
