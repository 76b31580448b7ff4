/** The experiment folder before the runs: refuse to mix a new experiment into an old one, and list its runs. */
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { RunDescription } from '../run-folder/experiment-manifest.ts';
import { EXPERIMENT_JSON, readWrittenManifest } from '../run-folder/experiment-manifest.ts';
import { EXPERIMENT_SUMMARY_JSON, FIGURES_DIR } from '../run-folder/summary-files.ts';
import { UsageError } from '../usage-error.ts';
import type { ExperimentDefinition } from './definition.ts';

/** Refuses to mix a new experiment into an existing folder unless resuming or overwriting. */
export function prepareOutDir(
  out: string,
  runs: readonly string[],
  mode: { resume: boolean; overwrite: boolean },
): void {
  const existing = [EXPERIMENT_JSON, ...runs].filter((name) => existsSync(join(out, name)));
  if (existing.length === 0 || mode.resume) return;
  if (!mode.overwrite)
    throw new UsageError(
      `'${out}' already holds ${existing.join(', ')}: pass --resume to continue those runs, --overwrite to start ` +
        'them again, or another --out',
    );
  for (const name of [...existing, FIGURES_DIR, EXPERIMENT_SUMMARY_JSON])
    rmSync(join(out, name), { recursive: true, force: true });
}

/**
 * This session's runs plus those an earlier session (e.g. another `--runs` job) listed, in definition order (the runs
 * of a learning-rate sweep, `net2wider@lr0.002`, under their method; this session's description of a run wins).
 */
export function withEarlierRuns(
  out: string,
  definition: ExperimentDefinition,
  runs: RunDescription[],
): RunDescription[] {
  const earlier = readWrittenManifest(out);
  if (earlier?.experiment !== definition.name) return runs;
  const byName = new Map([...earlier.runs, ...runs].map((r) => [r.run, r]));
  for (const r of runs) byName.set(r.run, r);
  const methodIndex = (run: string) => definition.methods.findIndex((m) => m.run === run.split('@')[0]);
  const students = [...byName.values()].filter((r) => methodIndex(r.run) >= 0);
  return [runs[0]!, ...students.sort((a, b) => methodIndex(a.run) - methodIndex(b.run))];
}
