/** Whether a run folder holds a finished run: its trainer summary says it reached the planned steps, with a checkpoint. */
import { existsSync } from 'node:fs';
import { checkpointDir } from '../train/checkpoint.ts';
import { readRunSummary } from '../train/run-summary.ts';

export function isFinished(runDir: string, steps: number): boolean {
  return readRunSummary(runDir)?.steps === steps && existsSync(checkpointDir(runDir));
}
