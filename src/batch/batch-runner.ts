/**
 * Runs a queue of jobs (p-queue), one child process each, at most `concurrency` at a time, each with its own GPUs in
 * CUDA_VISIBLE_DEVICES and its output appended to `<state dir>/<job>.log`. Progress is kept in `<state dir>/state.json`
 * so a restarted batch skips the jobs that are done and restarts the others with their resume arguments. Aborting
 * `signal` stops the queue, sends SIGTERM to every running job's process group (SIGKILL after `killGraceMs`) and
 * records those jobs as interrupted.
 */
import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { join, resolve } from 'node:path';
import PQueue from 'p-queue';
import { writeFileAtomic } from '../io/atomic-file.ts';
import { processAlive } from '../io/wait-lock.ts';
import { acquireBatchLock } from './batch-lock.ts';
import { BatchState, BatchStateError, now } from './batch-state.ts';
import type { JobState } from './batch-state.ts';
import { batchSummaryTable } from './batch-summary.ts';
import type { BatchSummaryRow } from './batch-summary.ts';
import type { GpuInventory } from './gpu-detection.ts';
import { GpuPool } from './gpu-pool.ts';
import { localCommandLine } from './job-command.ts';
import { shellCommand } from './shell-quote.ts';
import type { BatchJob } from './jobs-file.ts';

export interface RunBatchOptions {
  jobs: BatchJob[];
  jobsFile: string;
  stateDir: string;
  gpus: GpuInventory;
  /** Jobs running at once; default the number of GPUs, or 1 without GPUs. */
  concurrency?: number;
  /** Rerun jobs that failed in an earlier batch run (default true); false keeps them as failed. */
  retryFailed?: boolean;
  signal?: AbortSignal;
  /** Milliseconds between SIGTERM and SIGKILL when the batch is interrupted (default 30 s). */
  killGraceMs?: number;
  log?: (line: string) => void;
}

export interface BatchReport {
  rows: BatchSummaryRow[];
  /** True when the batch was stopped before every job had its turn. */
  interrupted: boolean;
  failed: number;
  table: string;
  summaryPath: string;
  statePath: string;
}

export function jobLogPath(stateDir: string, name: string): string {
  return join(resolve(stateDir), `${name}.log`);
}

export function defaultConcurrency(gpus: GpuInventory): number {
  return Math.max(1, gpus.ids.length);
}

/** Whether the job must run in this batch run, and with resume arguments. */
export function jobPlan(
  entry: JobState | undefined,
  retryFailed: boolean,
): 'skip-done' | 'skip-failed' | 'start' | 'resume' {
  if (entry?.status === 'done') return 'skip-done';
  if (entry?.status === 'failed' && !retryFailed) return 'skip-failed';
  return entry !== undefined && entry.attempts > 0 ? 'resume' : 'start';
}

export async function runBatch(options: RunBatchOptions): Promise<BatchReport> {
  const log = options.log ?? (() => {});
  const stateDir = resolve(options.stateDir);
  mkdirSync(stateDir, { recursive: true });
  const releaseLock = acquireBatchLock(join(stateDir, 'batch.lock'));
  try {
    return await runLocked(options, stateDir, log);
  } finally {
    releaseLock();
  }
}

async function runLocked(
  options: RunBatchOptions,
  stateDir: string,
  log: (line: string) => void,
): Promise<BatchReport> {
  const statePath = join(stateDir, 'state.json');
  const state = BatchState.load(statePath, resolve(options.jobsFile));
  const retryFailed = options.retryFailed ?? true;
  const killGraceMs = options.killGraceMs ?? 30_000;
  const useGpus = options.gpus.ids.length > 0;
  const pool = new GpuPool(options.gpus.ids);
  const concurrency = options.concurrency ?? defaultConcurrency(options.gpus);
  log(
    `batch: ${options.jobs.length} job(s), concurrency ${concurrency}, GPUs: ${options.gpus.ids.join(',') || 'none'} (${options.gpus.source})`,
  );

  for (const job of options.jobs) {
    const entry = state.entry(job.name, jobLogPath(stateDir, job.name));
    if (entry.status === 'running') {
      if (entry.pid !== null && processAlive(entry.pid)) {
        throw new BatchStateError(
          `job "${job.name}" is still running as pid ${entry.pid} (started by an earlier batch runner); stop it or wait for it`,
        );
      }
      state.update(job.name, {
        status: 'interrupted',
        pid: null,
        error: 'batch runner stopped without recording the end',
      });
    }
  }
  state.save();

  const ranThisTime = new Set<string>();
  const running = new Map<string, number>();
  let stopping = false;
  const queue = new PQueue({ concurrency });

  const stop = () => {
    if (stopping) return;
    stopping = true;
    log(`batch: stopping: ${queue.size} queued job(s) not started, ${running.size} running job(s) sent SIGTERM`);
    queue.clear();
    for (const pid of running.values()) signalGroup(pid, 'SIGTERM');
    const killer = setTimeout(() => {
      for (const pid of running.values()) signalGroup(pid, 'SIGKILL');
    }, killGraceMs);
    killer.unref();
  };
  if (options.signal?.aborted) stop();
  options.signal?.addEventListener('abort', stop, { once: true });

  const runJob = async (job: BatchJob): Promise<void> => {
    const plan = jobPlan(state.get(job.name), retryFailed);
    const needed = useGpus ? (job.gpus ?? 1) : 0;
    let gpuIds: string[];
    try {
      gpuIds = await pool.acquire(needed);
    } catch (err) {
      state.update(job.name, { status: 'failed', error: (err as Error).message, exitCode: null, endedAt: now() });
      log(`batch: ${job.name}: failed: ${(err as Error).message}`);
      return;
    }
    try {
      if (stopping) return;
      await runChild(job, plan === 'resume', gpuIds);
    } finally {
      pool.release(gpuIds);
    }
  };

  const runChild = (job: BatchJob, resume: boolean, gpuIds: string[]): Promise<void> => {
    const entry = state.get(job.name)!;
    const argv = localCommandLine(job, resume);
    const env: NodeJS.ProcessEnv = { ...process.env, ...job.env };
    if (useGpus) env.CUDA_VISIBLE_DEVICES = gpuIds.join(',');
    const startedAt = Date.now();
    const logFd = openSync(entry.log, 'a');
    writeSync(
      logFd,
      `\n=== ${now()} batch job ${job.name}, attempt ${entry.attempts + 1}${resume ? ' (resume)' : ''}, ` +
        `CUDA_VISIBLE_DEVICES=${env.CUDA_VISIBLE_DEVICES ?? '(unset)'}\n=== ${shellCommand(argv)}\n`,
    );
    ranThisTime.add(job.name);
    return new Promise<void>((settle) => {
      let child;
      try {
        child = spawn(argv[0]!, argv.slice(1), { env, stdio: ['ignore', logFd, logFd], detached: true });
      } catch (err) {
        closeSync(logFd);
        finish(job.name, startedAt, {
          status: 'failed',
          exitCode: null,
          signal: null,
          error: `cannot start: ${(err as Error).message}`,
        });
        settle();
        return;
      }
      closeSync(logFd);
      state.update(job.name, {
        status: 'running',
        attempts: entry.attempts + 1,
        startedAt: new Date(startedAt).toISOString(),
        endedAt: null,
        durationSeconds: null,
        exitCode: null,
        signal: null,
        error: null,
        gpus: gpuIds,
        command: argv,
        pid: child.pid ?? null,
      });
      if (child.pid !== undefined) running.set(job.name, child.pid);
      log(
        `batch: ${job.name}: started${resume ? ' (resume)' : ''} pid ${child.pid ?? '?'}${useGpus ? ` on GPU ${gpuIds.join(',')}` : ''}, log ${entry.log}`,
      );
      let settled = false;
      child.once('error', (err) => {
        if (settled) return;
        settled = true;
        running.delete(job.name);
        finish(job.name, startedAt, {
          status: 'failed',
          exitCode: null,
          signal: null,
          error: `cannot start ${argv[0]}: ${err.message}`,
        });
        settle();
      });
      child.once('exit', (code, signal) => {
        if (settled) return;
        settled = true;
        running.delete(job.name);
        // A job stopped by the batch is interrupted whatever its exit code (an experiment may exit 0 after a checkpoint).
        const status = stopping ? 'interrupted' : code === 0 ? 'done' : 'failed';
        finish(job.name, startedAt, { status, exitCode: code, signal, error: null });
        settle();
      });
    });
  };

  const finish = (
    name: string,
    startedAt: number,
    outcome: Pick<JobState, 'status' | 'exitCode' | 'signal' | 'error'>,
  ): void => {
    const durationSeconds = (Date.now() - startedAt) / 1000;
    const entry = state.update(name, { ...outcome, pid: null, endedAt: now(), durationSeconds });
    const how =
      outcome.error ?? (outcome.signal !== null ? `signal ${outcome.signal}` : `exit code ${outcome.exitCode}`);
    try {
      const fd = openSync(entry.log, 'a');
      writeSync(fd, `=== ${now()} ${outcome.status} (${how}) after ${durationSeconds.toFixed(1)} s\n`);
      closeSync(fd);
    } catch {
      // the log is informative only; the state file holds the outcome
    }
    log(`batch: ${name}: ${outcome.status} (${how}) after ${durationSeconds.toFixed(1)} s`);
  };

  for (const job of options.jobs) {
    const plan = jobPlan(state.get(job.name), retryFailed);
    if (plan === 'skip-done' || plan === 'skip-failed') {
      log(
        `batch: ${job.name}: ${plan === 'skip-done' ? 'done in an earlier run, skipped' : 'failed earlier, skipped'}`,
      );
      continue;
    }
    if (stopping) break;
    void queue.add(() => runJob(job));
  }
  await queue.onIdle();
  options.signal?.removeEventListener('abort', stop);

  const rows: BatchSummaryRow[] = options.jobs.map((job) => {
    const entry = state.get(job.name)!;
    return {
      name: job.name,
      status: entry.status,
      ranThisTime: ranThisTime.has(job.name),
      attempts: entry.attempts,
      exitCode: entry.exitCode,
      signal: entry.signal,
      durationSeconds: entry.durationSeconds,
      log: entry.log,
      error: entry.error,
    };
  });
  const table = batchSummaryTable(rows);
  const summaryPath = join(stateDir, 'summary.md');
  writeFileAtomic(
    summaryPath,
    `# Batch ${options.jobsFile}\n\nFinished ${now()}${stopping ? ' (interrupted)' : ''}.\n\n${table}\n`,
  );
  return {
    rows,
    interrupted: stopping && rows.some((row) => row.status !== 'done' && row.status !== 'failed'),
    failed: rows.filter((row) => row.status === 'failed').length,
    table,
    summaryPath,
    statePath,
  };
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // the group is already gone
  }
}
