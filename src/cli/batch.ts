/**
 * npm run batch -- <jobs file> [--concurrency N] [--gpus 0,1,2,3] [--state-dir results/batch] [--dry-run]
 *                  [--emit slurm [--out file]]
 * Runs the jobs file's experiments as an overnight queue (one child process per job, one GPU each), or writes a
 * Slurm job-array script for the same jobs. Exit status: 0 all jobs done, 1 some failed, 2 bad arguments or jobs
 * file, 130/143 interrupted by SIGINT/SIGTERM (the running jobs are recorded as interrupted and resume next time).
 */
import { chmodSync } from 'node:fs';
import { join, resolve } from 'node:path';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { writeFileAtomic } from '../io/atomic-file.ts';
import { defaultConcurrency, jobLogPath, jobPlan, runBatch } from '../batch/batch-runner.ts';
import { BatchState, BatchStateError } from '../batch/batch-state.ts';
import { detectGpus } from '../batch/gpu-detection.ts';
import { localCommandLine, PROJECT_ROOT } from '../batch/job-command.ts';
import { JobsFileError, readJobsFile } from '../batch/jobs-file.ts';
import type { BatchJob } from '../batch/jobs-file.ts';
import { shellCommand } from '../batch/shell-quote.ts';
import { slurmArrayScript } from '../batch/slurm-script.ts';

import { UsageError } from './usage-error.ts';
import { integerArgument, nonNegativeNumberArgument } from './arguments.ts';

const SIGNAL_EXIT: Record<string, number> = { SIGINT: 130, SIGTERM: 143, SIGHUP: 129 };

async function main(argv: string[]): Promise<number> {
  const args = await yargs(argv)
    .scriptName('npm run batch --')
    .command('$0 <jobs>', 'run a queue of experiments', (y) =>
      y.positional('jobs', {
        type: 'string',
        demandOption: true,
        describe: 'jobs file: JSON { defaults?, jobs: [{ name, args | command, gpus?, env? }] } or JSON lines',
      }),
    )
    .option('concurrency', { type: 'number', describe: 'jobs at once (default: number of GPUs, 1 without GPUs)' })
    .option('gpus', {
      type: 'string',
      describe: 'GPU ids to use, e.g. 0,1,2,3, or none (default: CUDA_VISIBLE_DEVICES, else nvidia-smi -L)',
    })
    .option('state-dir', {
      type: 'string',
      default: 'results/batch',
      describe: 'where state.json, logs and summary.md go',
    })
    .option('dry-run', { type: 'boolean', default: false, describe: 'print what would run, and change nothing' })
    .option('retry-failed', { type: 'boolean', default: true, describe: 'rerun jobs that failed in an earlier run' })
    .option('kill-after', {
      type: 'number',
      default: 30,
      describe: 'seconds between SIGTERM and SIGKILL when interrupted',
    })
    .option('emit', {
      choices: ['slurm'] as const,
      describe: 'write a Slurm job-array script for the jobs instead of running them',
    })
    .option('out', { type: 'string', describe: 'with --emit slurm: script path (default <state-dir>/batch.sbatch)' })
    .option('slurm-workdir', {
      type: 'string',
      describe: 'with --emit slurm: project folder on the cluster (default this one)',
    })
    .option('slurm-partition', { type: 'string' })
    .option('slurm-time', { type: 'string', describe: 'e.g. 3-00:00:00' })
    .option('slurm-cpus', { type: 'number', default: 8, describe: 'CPUs per array task' })
    .option('slurm-mem', { type: 'string', describe: 'memory per array task, e.g. 64G' })
    .strict()
    .help()
    .exitProcess(false)
    .fail((message, error) => {
      throw new UsageError(message ?? error?.message ?? 'bad arguments');
    })
    .parseAsync();
  if (args.help) return 0;

  integerArgument('concurrency', args.concurrency);
  integerArgument('slurm-cpus', args['slurm-cpus']);
  nonNegativeNumberArgument('kill-after', args['kill-after']);
  if (args.out !== undefined && args.emit === undefined) throw new UsageError('--out is only for --emit slurm');

  const jobsFile = args.jobs as string;
  const jobs = readJobsFile(jobsFile);
  const stateDir = resolve(args['state-dir']);

  if (args.emit === 'slurm') {
    emitSlurm(jobs, stateDir, args);
    return 0;
  }

  const gpus = detectGpus(args.gpus);
  const concurrency = args.concurrency ?? defaultConcurrency(gpus);
  if (args['dry-run']) {
    printPlan(jobs, stateDir, jobsFile, gpus.ids, gpus.source, concurrency, args['retry-failed']);
    return 0;
  }

  return runQueue(jobs, jobsFile, stateDir, gpus, concurrency, args['retry-failed'], args['kill-after']);
}

/** Runs the queue until done or interrupted; returns the exit status. */
async function runQueue(
  jobs: BatchJob[],
  jobsFile: string,
  stateDir: string,
  gpus: ReturnType<typeof detectGpus>,
  concurrency: number,
  retryFailed: boolean,
  killAfterSeconds: number,
): Promise<number> {
  const controller = new AbortController();
  let stoppedBy: string | null = null;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stoppedBy !== null) {
      console.error(`batch: ${signal} again; still waiting for the running jobs to stop (SIGKILL after --kill-after)`);
      return;
    }
    stoppedBy = signal;
    console.error(`batch: ${signal}: stopping the running jobs; they resume on the next run`);
    controller.abort();
  };
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, onSignal);

  const report = await runBatch({
    jobs,
    jobsFile,
    stateDir,
    gpus,
    concurrency,
    retryFailed,
    signal: controller.signal,
    killGraceMs: killAfterSeconds * 1000,
    log: (line) => console.error(line),
  });
  console.log(report.table);
  console.log(`summary: ${report.summaryPath}\nstate: ${report.statePath}`);
  if (stoppedBy !== null) return SIGNAL_EXIT[stoppedBy] ?? 130;
  return report.failed > 0 || report.rows.some((row) => row.status !== 'done') ? 1 : 0;
}

/** Writes the Slurm job-array script for the jobs. */
function emitSlurm(
  jobs: BatchJob[],
  stateDir: string,
  args: {
    out?: string;
    concurrency?: number;
    'slurm-workdir'?: string;
    'slurm-partition'?: string;
    'slurm-time'?: string;
    'slurm-cpus': number;
    'slurm-mem'?: string;
  },
): void {
  const out = resolve(args.out ?? join(stateDir, 'batch.sbatch'));
  const script = slurmArrayScript(jobs, {
    workDir: args['slurm-workdir'] ?? PROJECT_ROOT.replace(/\/$/, ''),
    stateDir,
    maxParallel: args.concurrency,
    partition: args['slurm-partition'],
    time: args['slurm-time'],
    cpusPerTask: args['slurm-cpus'],
    mem: args['slurm-mem'],
  });
  writeFileAtomic(out, script);
  chmodSync(out, 0o755);
  console.log(`wrote ${out}: a Slurm array of ${jobs.length} job(s); submit with: sbatch ${shellCommand([out])}`);
}

function printPlan(
  jobs: BatchJob[],
  stateDir: string,
  jobsFile: string,
  gpuIds: string[],
  gpuSource: string,
  concurrency: number,
  retryFailed: boolean,
): void {
  const state = BatchState.load(join(stateDir, 'state.json'), resolve(jobsFile));
  console.log(
    `dry run: ${jobs.length} job(s), concurrency ${concurrency}, GPUs ${gpuIds.join(',') || 'none'} (${gpuSource})`,
  );
  for (const job of jobs) {
    const entry = state.get(job.name);
    const plan = jobPlan(entry, retryFailed);
    const gpusNeeded = gpuIds.length > 0 ? (job.gpus ?? 1) : 0;
    console.log(
      `\n${job.name}: ${plan}${entry ? ` (state: ${entry.status}, ${entry.attempts} attempt(s))` : ''}, ${gpusNeeded} GPU(s)`,
    );
    if (plan === 'start' || plan === 'resume') {
      const env = Object.entries(job.env).map(([key, value]) => `${key}=${value}`);
      console.log(`  ${shellCommand([...env, ...localCommandLine(job, plan === 'resume')])}`);
      console.log(`  log: ${jobLogPath(stateDir, job.name)}`);
    }
  }
}

main(hideBin(process.argv)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof UsageError || err instanceof JobsFileError) {
      console.error(`batch: ${err.message}`);
      console.error(
        'usage: npm run batch -- <jobs file> [--concurrency N] [--gpus 0,1] [--state-dir dir] [--dry-run] [--emit slurm [--out file]]',
      );
      process.exitCode = 2;
    } else if (err instanceof BatchStateError) {
      console.error(`batch: ${err.message}`);
      process.exitCode = 2;
    } else {
      console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
      process.exitCode = 1;
    }
  },
);
