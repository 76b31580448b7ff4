/**
 * The batch's state file (`<state dir>/state.json`): one entry per job with its status, attempts, exit code and
 * times, rewritten atomically on every change so that a restarted batch skips the jobs that are done and resumes the
 * ones that were interrupted.
 */
import { existsSync, readFileSync } from 'node:fs';
import { writeJsonAtomic } from '../io/atomic-file.ts';

export type JobStatus = 'pending' | 'running' | 'done' | 'failed' | 'interrupted';

export interface JobState {
  name: string;
  status: JobStatus;
  /** How many times the job has been started (0 = never). */
  attempts: number;
  exitCode: number | null;
  signal: string | null;
  startedAt: string | null;
  endedAt: string | null;
  durationSeconds: number | null;
  log: string;
  gpus: string[];
  command: string[];
  pid: number | null;
  error: string | null;
}

export interface BatchStateData {
  version: 1;
  jobsFile: string;
  updatedAt: string;
  jobs: Record<string, JobState>;
}

export class BatchStateError extends Error {
  override name = 'BatchStateError';
}

export class BatchState {
  private constructor(
    readonly path: string,
    private readonly data: BatchStateData,
  ) {}

  /** Reads the state file, or starts an empty state when there is none. */
  static load(path: string, jobsFile: string): BatchState {
    if (!existsSync(path)) return new BatchState(path, { version: 1, jobsFile, updatedAt: now(), jobs: {} });
    let data: BatchStateData;
    try {
      data = JSON.parse(readFileSync(path, 'utf8')) as BatchStateData;
    } catch (err) {
      throw new BatchStateError(
        `state file ${path} is not valid JSON (${(err as Error).message}); move it away to start over`,
      );
    }
    if (data.version !== 1 || typeof data.jobs !== 'object' || data.jobs === null) {
      throw new BatchStateError(`state file ${path} is not a batch state (version ${JSON.stringify(data.version)})`);
    }
    return new BatchState(path, { ...data, jobsFile });
  }

  get(name: string): JobState | undefined {
    return this.data.jobs[name];
  }

  /** The job's entry, created as pending when it has none. */
  entry(name: string, log: string): JobState {
    const existing = this.data.jobs[name];
    if (existing) return existing;
    const created: JobState = {
      name,
      status: 'pending',
      attempts: 0,
      exitCode: null,
      signal: null,
      startedAt: null,
      endedAt: null,
      durationSeconds: null,
      log,
      gpus: [],
      command: [],
      pid: null,
      error: null,
    };
    this.data.jobs[name] = created;
    return created;
  }

  update(name: string, changes: Partial<Omit<JobState, 'name'>>): JobState {
    const entry = this.data.jobs[name];
    if (!entry) throw new BatchStateError(`no state entry for job "${name}"`);
    Object.assign(entry, changes);
    this.save();
    return entry;
  }

  save(): void {
    this.data.updatedAt = now();
    writeJsonAtomic(this.path, this.data);
  }
}

export function now(): string {
  return new Date().toISOString();
}
