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
  const run = new BatchRun(options, stateDir, log);
  run.recoverStaleJobs();
  if (options.signal?.aborted) run.stop();
  const stop = () => run.stop();
  options.signal?.addEventListener('abort', stop, { once: true });
  try {
    await run.runAll();
  } finally {
    options.signal?.removeEventListener('abort', stop);
  }
  return run.report();
}

/** One batch run over the jobs file: the queue, the running children, and the state they update. */
class BatchRun {
  readonly statePath: string;
  readonly state: BatchState;
  private readonly retryFailed: boolean;
  private readonly killGraceMs: number;
  private readonly useGpus: boolean;
  private readonly pool: GpuPool;
  private readonly queue: PQueue;
  private readonly ranThisTime = new Set<string>();
  private readonly running = new Map<string, number>();
  private stopping = false;

  constructor(
    private readonly options: RunBatchOptions,
    private readonly stateDir: string,
    private readonly log: (line: string) => void,
  ) {
    this.statePath = join(stateDir, 'state.json');
    this.state = BatchState.load(this.statePath, resolve(options.jobsFile));
    this.retryFailed = options.retryFailed ?? true;
    this.killGraceMs = options.killGraceMs ?? 30_000;
    this.useGpus = options.gpus.ids.length > 0;
    this.pool = new GpuPool(options.gpus.ids);
    const concurrency = options.concurrency ?? defaultConcurrency(options.gpus);
    this.queue = new PQueue({ concurrency });
    log(
      `batch: ${options.jobs.length} job(s), concurrency ${concurrency}, GPUs: ${options.gpus.ids.join(',') || 'none'} (${options.gpus.source})`,
    );
  }

  /** Jobs an earlier runner left 'running': refused while their process lives, else recorded as interrupted. */
  recoverStaleJobs(): void {
    for (const job of this.options.jobs) {
      const entry = this.state.entry(job.name, jobLogPath(this.stateDir, job.name));
      if (entry.status !== 'running') continue;
      if (entry.pid !== null && processAlive(entry.pid)) {
        throw new BatchStateError(
          `job "${job.name}" is still running as pid ${entry.pid} (started by an earlier batch runner); stop it or wait for it`,
        );
      }
      this.state.update(job.name, {
        status: 'interrupted',
        pid: null,
        error: 'batch runner stopped without recording the end',
      });
    }
    this.state.save();
  }

  stop(): void {
    if (this.stopping) return;
    this.stopping = true;
    this.log(
      `batch: stopping: ${this.queue.size} queued job(s) not started, ${this.running.size} running job(s) sent SIGTERM`,
    );
    this.queue.clear();
    for (const pid of this.running.values()) signalGroup(pid, 'SIGTERM');
    const killer = setTimeout(() => {
      for (const pid of this.running.values()) signalGroup(pid, 'SIGKILL');
    }, this.killGraceMs);
    killer.unref();
  }

  async runAll(): Promise<void> {
    for (const job of this.options.jobs) {
      const plan = jobPlan(this.state.get(job.name), this.retryFailed);
      if (plan === 'skip-done' || plan === 'skip-failed') {
        this.log(
          `batch: ${job.name}: ${plan === 'skip-done' ? 'done in an earlier run, skipped' : 'failed earlier, skipped'}`,
        );
        continue;
      }
      if (this.stopping) break;
      void this.queue.add(() => this.runJob(job));
    }
    await this.queue.onIdle();
  }

  private async runJob(job: BatchJob): Promise<void> {
    const plan = jobPlan(this.state.get(job.name), this.retryFailed);
    const needed = this.useGpus ? (job.gpus ?? 1) : 0;
    let gpuIds: string[];
    try {
      gpuIds = await this.pool.acquire(needed);
    } catch (err) {
      this.state.update(job.name, { status: 'failed', error: (err as Error).message, exitCode: null, endedAt: now() });
      this.log(`batch: ${job.name}: failed: ${(err as Error).message}`);
      return;
    }
    try {
      if (this.stopping) return;
      await this.runChild(job, plan === 'resume', gpuIds);
    } finally {
      this.pool.release(gpuIds);
    }
  }

  private runChild(job: BatchJob, resume: boolean, gpuIds: string[]): Promise<void> {
    const entry = this.state.get(job.name)!;
    const argv = localCommandLine(job, resume);
    const env: NodeJS.ProcessEnv = { ...process.env, ...job.env };
    if (this.useGpus) env.CUDA_VISIBLE_DEVICES = gpuIds.join(',');
    const startedAt = Date.now();
    const logFd = openSync(entry.log, 'a');
    writeSync(
      logFd,
      `\n=== ${now()} batch job ${job.name}, attempt ${entry.attempts + 1}${resume ? ' (resume)' : ''}, ` +
        `CUDA_VISIBLE_DEVICES=${env.CUDA_VISIBLE_DEVICES ?? '(unset)'}\n=== ${shellCommand(argv)}\n`,
    );
    this.ranThisTime.add(job.name);
    return new Promise<void>((settle) => {
      let child;
      try {
        child = spawn(argv[0]!, argv.slice(1), { env, stdio: ['ignore', logFd, logFd], detached: true });
      } catch (err) {
        closeSync(logFd);
        this.finish(job.name, startedAt, {
          status: 'failed',
          exitCode: null,
          signal: null,
          error: `cannot start: ${(err as Error).message}`,
        });
        settle();
        return;
      }
      closeSync(logFd);
      this.state.update(job.name, {
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
      if (child.pid !== undefined) this.running.set(job.name, child.pid);
      this.log(
        `batch: ${job.name}: started${resume ? ' (resume)' : ''} pid ${child.pid ?? '?'}${this.useGpus ? ` on GPU ${gpuIds.join(',')}` : ''}, log ${entry.log}`,
      );
      let settled = false;
      child.once('error', (err) => {
        if (settled) return;
        settled = true;
        this.running.delete(job.name);
        this.finish(job.name, startedAt, {
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
        this.running.delete(job.name);
        // A job stopped by the batch is interrupted whatever its exit code (an experiment may exit 0 after a checkpoint).
        const status = this.stopping ? 'interrupted' : code === 0 ? 'done' : 'failed';
        this.finish(job.name, startedAt, { status, exitCode: code, signal, error: null });
        settle();
      });
    });
  }

  private finish(
    name: string,
    startedAt: number,
    outcome: Pick<JobState, 'status' | 'exitCode' | 'signal' | 'error'>,
  ): void {
    const durationSeconds = (Date.now() - startedAt) / 1000;
    const entry = this.state.update(name, { ...outcome, pid: null, endedAt: now(), durationSeconds });
    const how =
      outcome.error ?? (outcome.signal !== null ? `signal ${outcome.signal}` : `exit code ${outcome.exitCode}`);
    try {
      const fd = openSync(entry.log, 'a');
      writeSync(fd, `=== ${now()} ${outcome.status} (${how}) after ${durationSeconds.toFixed(1)} s\n`);
      closeSync(fd);
    } catch {
      // the log is informative only; the state file holds the outcome
    }
    this.log(`batch: ${name}: ${outcome.status} (${how}) after ${durationSeconds.toFixed(1)} s`);
  }

  /** The summary table, written to `<state dir>/summary.md`, and the batch's outcome. */
  report(): BatchReport {
    const rows: BatchSummaryRow[] = this.options.jobs.map((job) => {
      const entry = this.state.get(job.name)!;
      return {
        name: job.name,
        status: entry.status,
        ranThisTime: this.ranThisTime.has(job.name),
        attempts: entry.attempts,
        exitCode: entry.exitCode,
        signal: entry.signal,
        durationSeconds: entry.durationSeconds,
        log: entry.log,
        error: entry.error,
      };
    });
    const table = batchSummaryTable(rows);
    const summaryPath = join(this.stateDir, 'summary.md');
    writeFileAtomic(
      summaryPath,
      `# Batch ${this.options.jobsFile}\n\nFinished ${now()}${this.stopping ? ' (interrupted)' : ''}.\n\n${table}\n`,
    );
    return {
      rows,
      interrupted: this.stopping && rows.some((row) => row.status !== 'done' && row.status !== 'failed'),
      failed: rows.filter((row) => row.status === 'failed').length,
      table,
      summaryPath,
      statePath: this.statePath,
    };
  }
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // the group is already gone
  }
}
