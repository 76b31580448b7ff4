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

/** This session's runs plus those an earlier session (e.g. another `--runs` job) listed, in definition order. */
export function withEarlierRuns(
  out: string,
  definition: ExperimentDefinition,
  runs: RunDescription[],
): RunDescription[] {
  const earlier = readWrittenManifest(out);
  if (earlier?.experiment !== definition.name) return runs;
  const names = new Set([...runs, ...earlier.runs].map((r) => r.run));
  return [
    runs[0]!,
    ...definition.methods.filter((m) => names.has(m.run)).map((m) => ({ run: m.run, role: m.role, label: m.label })),
  ];
}
