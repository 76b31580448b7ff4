/**
 * A Slurm job-array script that runs the batch's jobs on a cluster: array task i runs job i from the project folder,
 * appends its output to `<state dir>/<job>.log`, adds the job's resume arguments when a marker shows the task has
 * started before (a requeue or resubmission), and skips jobs whose done marker exists.
 */
import { portableCommandLine } from './job-command.ts';
import type { BatchJob } from './jobs-file.ts';
import { shellCommand, shellQuote } from './shell-quote.ts';

export interface SlurmOptions {
  /** Folder the tasks cd into: the project root on the cluster. */
  workDir: string;
  /** Folder for logs and markers (absolute, or relative to workDir). */
  stateDir: string;
  jobName?: string;
  /** Most array tasks running at once (`%N`). */
  maxParallel?: number;
  partition?: string;
  time?: string;
  cpusPerTask?: number;
  mem?: string;
}

/**
 * An `#SBATCH` option value: sbatch reads these lines itself (not through the shell), grouping characters in
 * quotes and taking a backslash as "the next character literally" (src/sbatch/opt.c, _get_argument).
 */
export function sbatchValue(value: string): string {
  return `"${value.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

/** A literal path inside a Slurm filename pattern: `%` introduces a replacement symbol there, `%%` is a `%`. */
function filenamePatternLiteral(path: string): string {
  return path.replace(/%/g, '%%');
}

export function slurmArrayScript(jobs: readonly BatchJob[], options: SlurmOptions): string {
  if (jobs.length === 0) throw new Error('a Slurm array needs at least one job');
  const gpusPerTask = Math.max(...jobs.map((job) => job.gpus ?? 1));
  const quotedState = shellQuote(options.stateDir);
  const header = [
    '#!/usr/bin/env bash',
    `#SBATCH --job-name=${sbatchValue(options.jobName ?? 'net2net-batch')}`,
    `#SBATCH --array=0-${jobs.length - 1}${options.maxParallel ? `%${options.maxParallel}` : ''}`,
    ...(gpusPerTask > 0 ? [`#SBATCH --gres=gpu:${gpusPerTask}`] : []),
    `#SBATCH --cpus-per-task=${options.cpusPerTask ?? 8}`,
    ...(options.mem ? [`#SBATCH --mem=${options.mem}`] : []),
    ...(options.time ? [`#SBATCH --time=${options.time}`] : []),
    ...(options.partition ? [`#SBATCH --partition=${sbatchValue(options.partition)}`] : []),
    `#SBATCH --output=${sbatchValue(`${filenamePatternLiteral(options.stateDir)}/slurm-%A_%a.out`)}`,
    '#SBATCH --open-mode=append',
    '#SBATCH --requeue',
    '',
    `# ${jobs.length} job(s); task i runs job i; each job's output goes to ${options.stateDir}/<job>.log.`,
    ...(jobs.some((job) => (job.gpus ?? 1) !== gpusPerTask)
      ? [`# Every task gets ${gpusPerTask} GPU(s), the most any job asks for.`]
      : []),
    'set -euo pipefail',
    `cd ${shellQuote(options.workDir)}`,
    `state_dir=${quotedState}`,
    'mkdir -p "$state_dir"',
    '',
    'case "${SLURM_ARRAY_TASK_ID:?not a Slurm array task: submit with sbatch}" in',
  ];
  const cases = jobs.flatMap((job, index) => {
    const env = Object.entries(job.env).map(([key, value]) => `${key}=${shellQuote(value)}`);
    const command = [...(env.length > 0 ? ['env', ...env] : []), shellCommand(portableCommandLine(job))].join(' ');
    const lines = [`  ${index})`, `    job=${shellQuote(job.name)}`];
    if (job.resumeArgs.length > 0) {
      lines.push(
        '    resume=()',
        `    if [ -e "$state_dir/$job.started" ]; then resume=(${shellCommand(job.resumeArgs)}); fi`,
        `    run() { ${command} \${resume[@]+"\${resume[@]}"}; }`,
      );
    } else {
      lines.push(`    run() { ${command}; }`);
    }
    lines.push('    ;;');
    return lines;
  });
  const footer = [
    '  *)',
    '    echo "no job for array task $SLURM_ARRAY_TASK_ID (the array has ' + jobs.length + ' job(s))" >&2',
    '    exit 2',
    '    ;;',
    'esac',
    '',
    'log="$state_dir/$job.log"',
    'if [ -e "$state_dir/$job.done" ]; then',
    '  echo "=== $(date -u +%FT%TZ) job $job already done, skipped" >>"$log"',
    '  exit 0',
    'fi',
    'touch "$state_dir/$job.started"',
    'echo "=== $(date -u +%FT%TZ) job $job, array task $SLURM_ARRAY_TASK_ID on $(hostname), CUDA_VISIBLE_DEVICES=${CUDA_VISIBLE_DEVICES:-}" >>"$log"',
    'set +e',
    'run >>"$log" 2>&1',
    'status=$?',
    'set -e',
    'echo "=== $(date -u +%FT%TZ) exit code $status" >>"$log"',
    'if [ "$status" -eq 0 ]; then touch "$state_dir/$job.done"; fi',
    'exit "$status"',
    '',
  ];
  return [...header, ...cases, ...footer].join('\n');
}
