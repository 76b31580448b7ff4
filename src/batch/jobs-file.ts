/**
 * The batch jobs file: JSON, either `{ "defaults": {...}, "jobs": [...] }`, a plain array of jobs, or JSON lines (one
 * job object per line; blank lines and lines starting with # or // are ignored).
 *
 * A job is `{ name, args }` (arguments of `npm run experiment`, e.g. ["wider", "--preset", "paper"]) or
 * `{ name, command }` (any command line, e.g. for a data preparation step), with optional `gpus` (how many it needs,
 * default 1 where there are GPUs), `env` (extra environment variables) and `resumeArgs` (appended when the job has
 * started before; default ["--resume"] for experiments, none for commands). `defaults` may give `args` (appended
 * to every experiment job's args, except the options the job sets itself), `gpus` and `env`.
 */
import { readFileSync } from 'node:fs';

export interface BatchJob {
  name: string;
  kind: 'experiment' | 'command';
  /** Experiment arguments (kind 'experiment') or the full command line (kind 'command'). */
  argv: string[];
  /** GPUs the job needs; undefined takes the runner's default (1 where there are GPUs, 0 otherwise). */
  gpus: number | undefined;
  env: Record<string, string>;
  resumeArgs: string[];
}

/** The jobs file cannot be used: the CLI reports it and exits with status 2. */
export class JobsFileError extends Error {
  override name = 'JobsFileError';
}

const JOB_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const JOB_KEYS = new Set(['name', 'args', 'command', 'gpus', 'env', 'resumeArgs']);
const DEFAULT_KEYS = new Set(['args', 'gpus', 'env']);

interface JobDefaults {
  args: string[];
  gpus: number | undefined;
  env: Record<string, string>;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function stringArray(value: unknown, where: string): string[] {
  if (!Array.isArray(value) || !value.every((item) => typeof item === 'string')) {
    throw new JobsFileError(`${where} must be an array of strings, got ${JSON.stringify(value)}`);
  }
  return value as string[];
}

function gpuCount(value: unknown, where: string): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    throw new JobsFileError(`${where} must be a whole number >= 0, got ${JSON.stringify(value)}`);
  }
  return value;
}

function environment(value: unknown, where: string): Record<string, string> {
  if (value === undefined) return {};
  if (!isRecord(value) || !Object.values(value).every((item) => typeof item === 'string')) {
    throw new JobsFileError(`${where} must be an object of string values, got ${JSON.stringify(value)}`);
  }
  for (const key of Object.keys(value)) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) throw new JobsFileError(`${where}: "${key}" is not a variable name`);
  }
  return value as Record<string, string>;
}

function unknownKeys(record: Record<string, unknown>, allowed: Set<string>, where: string): void {
  const unknown = Object.keys(record).filter((key) => !allowed.has(key));
  if (unknown.length > 0) {
    throw new JobsFileError(`${where}: unknown field(s) ${unknown.join(', ')}; accepted: ${[...allowed].join(', ')}`);
  }
}

function parseDefaults(value: unknown, where: string): JobDefaults {
  if (value === undefined) return { args: [], gpus: undefined, env: {} };
  if (!isRecord(value)) throw new JobsFileError(`${where}: "defaults" must be an object`);
  unknownKeys(value, DEFAULT_KEYS, `${where}: defaults`);
  return {
    args: value.args === undefined ? [] : stringArray(value.args, `${where}: defaults.args`),
    gpus: gpuCount(value.gpus, `${where}: defaults.gpus`),
    env: environment(value.env, `${where}: defaults.env`),
  };
}

function parseJob(value: unknown, where: string, defaults: JobDefaults): BatchJob {
  if (!isRecord(value)) throw new JobsFileError(`${where} must be an object with "name" and "args" or "command"`);
  if (typeof value.name !== 'string' || !JOB_NAME.test(value.name)) {
    throw new JobsFileError(
      `${where}: name ${JSON.stringify(value.name)} must be letters, digits, '.', '_' or '-' (it names the log file)`,
    );
  }
  const at = `${where} ("${value.name}")`;
  unknownKeys(value, JOB_KEYS, at);
  if ((value.args === undefined) === (value.command === undefined)) {
    throw new JobsFileError(`${at}: give exactly one of "args" (for npm run experiment) or "command"`);
  }
  const env = { ...defaults.env, ...environment(value.env, `${at}.env`) };
  const gpus = gpuCount(value.gpus, `${at}.gpus`) ?? defaults.gpus;
  if (value.command !== undefined) {
    const command = stringArray(value.command, `${at}.command`);
    if (command.length === 0) throw new JobsFileError(`${at}.command is empty`);
    const resumeArgs = value.resumeArgs === undefined ? [] : stringArray(value.resumeArgs, `${at}.resumeArgs`);
    return { name: value.name, kind: 'command', argv: command, gpus, env, resumeArgs };
  }
  const args = stringArray(value.args, `${at}.args`);
  if (args.length === 0) throw new JobsFileError(`${at}.args is empty: it needs at least the experiment name`);
  const resumeArgs = value.resumeArgs === undefined ? ['--resume'] : stringArray(value.resumeArgs, `${at}.resumeArgs`);
  return { name: value.name, kind: 'experiment', argv: mergeDefaultArgs(args, defaults.args), gpus, env, resumeArgs };
}

function optionName(token: string): string | null {
  return token.startsWith('--') && token.length > 2 ? token.slice(2).split('=')[0]! : null;
}

/**
 * The job's args followed by the default options it does not set itself: `--name value...` groups (and
 * `--name=value`) of the defaults whose name the job already uses are left out, so a job overrides a default.
 */
export function mergeDefaultArgs(jobArgs: readonly string[], defaultArgs: readonly string[]): string[] {
  const jobOptions = new Set(jobArgs.map(optionName).filter((name): name is string => name !== null));
  const merged = [...jobArgs];
  let keep = true;
  for (const token of defaultArgs) {
    const name = optionName(token);
    if (name !== null) keep = !jobOptions.has(name);
    if (keep) merged.push(token);
  }
  return merged;
}

export function parseJobsFile(text: string, path: string): BatchJob[] {
  let entries: unknown[];
  let defaults: JobDefaults = { args: [], gpus: undefined, env: {} };
  let whole: unknown;
  let wholeError: Error | null = null;
  try {
    whole = JSON.parse(text);
  } catch (err) {
    wholeError = err as Error;
  }
  if (wholeError === null) {
    if (Array.isArray(whole)) {
      entries = whole;
    } else if (isRecord(whole) && Array.isArray(whole.jobs)) {
      unknownKeys(whole, new Set(['defaults', 'jobs']), path);
      defaults = parseDefaults(whole.defaults, path);
      entries = whole.jobs;
    } else {
      throw new JobsFileError(`${path}: expected { "jobs": [...] }, an array of jobs, or one job per line`);
    }
  } else {
    entries = [];
    const lines = text.split(/\r?\n/);
    lines.forEach((line, index) => {
      const trimmed = line.trim();
      if (trimmed === '' || trimmed.startsWith('#') || trimmed.startsWith('//')) return;
      try {
        entries.push(JSON.parse(trimmed));
      } catch (err) {
        throw new JobsFileError(
          `${path} is neither JSON (${wholeError!.message}) nor JSON lines (line ${index + 1}: ${(err as Error).message})`,
        );
      }
    });
  }
  const jobs = entries.map((entry, index) => parseJob(entry, `${path}: job ${index + 1}`, defaults));
  if (jobs.length === 0) throw new JobsFileError(`${path} has no jobs`);
  const seen = new Set<string>();
  for (const job of jobs) {
    if (seen.has(job.name)) throw new JobsFileError(`${path}: job name "${job.name}" appears more than once`);
    seen.add(job.name);
  }
  return jobs;
}

export function readJobsFile(path: string): BatchJob[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new JobsFileError(`cannot read jobs file ${path}: ${(err as Error).message}`);
  }
  return parseJobsFile(text, path);
}
