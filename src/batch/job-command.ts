/**
 * The command line a job runs. An experiment job runs `src/cli/experiment.ts` with tsx in a fresh Node process (the
 * same Node binary as the batch runner), adding the job's resume arguments when it has been started before.
 */
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { BatchJob } from './jobs-file.ts';

export const PROJECT_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const EXPERIMENT_ENTRY = 'src/cli/experiment.ts';

/** tsx's ESM loader as an absolute file URL, so `--import` works whatever the child's working directory. */
function tsxLoaderUrl(): string {
  const require = createRequire(import.meta.url);
  return pathToFileURL(require.resolve('tsx')).href;
}

/** The argv to spawn for `job` on this machine. */
export function localCommandLine(job: BatchJob, resume: boolean): string[] {
  const resumeArgs = resume ? job.resumeArgs : [];
  if (job.kind === 'command') return [...job.argv, ...resumeArgs];
  return [
    process.execPath,
    '--import',
    tsxLoaderUrl(),
    fileURLToPath(new URL(`../../${EXPERIMENT_ENTRY}`, import.meta.url)),
    ...job.argv,
    ...resumeArgs,
  ];
}

/** The argv for `job` without resume arguments, relative to the project root, for scripts run elsewhere (Slurm). */
export function portableCommandLine(job: BatchJob): string[] {
  if (job.kind === 'command') return [...job.argv];
  return ['node', '--import', 'tsx', EXPERIMENT_ENTRY, ...job.argv];
}
