/**
 * The trained-teacher cache: a teacher is trained once per configuration in `<cache>/teachers/<key>/` (the key hashes
 * the part of its config.json that decides its curve) and copied into each experiment folder that uses it. One
 * process trains a configuration's teacher; others (batch jobs of the same teacher) wait on its lock and reuse it.
 */
import { createHash } from 'node:crypto';
import { cpSync, existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { acquireWaitLock, liveLockHolder } from '../io/wait-lock.ts';
import type { RunConfig } from '../run-folder/run-config.ts';
import { readRunConfig, resumeKey, writeRunConfig } from '../run-folder/run-config.ts';
import { isFinished } from '../run-folder/run-state.ts';
import { readRunSummary } from '../train/run-summary.ts';
import { trainingCodeVersion } from '../train/code-version.ts';

/** Where teachers are cached when --cache-dir is not given (relative to the working directory). */
export const DEFAULT_CACHE_DIR = join('results', 'cache');

/** The configuration that decides the teacher's curve, and the code that trains it: a changed builder retrains. */
export function teacherCacheKey(config: RunConfig, codeVersion: string = trainingCodeVersion()): string {
  return createHash('sha256').update(resumeKey(config)).update(codeVersion).digest('hex').slice(0, 16);
}

function teachersDir(cacheDir: string): string {
  return join(cacheDir, 'teachers');
}

export interface TeacherRequest {
  cacheDir: string;
  /** The teacher's config, with its `teacherCacheKey`. */
  config: RunConfig;
  /** Where the experiment wants its copy. */
  teacherDir: string;
  /** Trains (or continues) the teacher in `runDir` to `config.train.steps`. */
  train: (runDir: string) => Promise<void>;
  log: (line: string) => void;
}

/** Makes `teacherDir` hold the finished teacher of `config`: kept when it already does, else from the cache. */
export async function provideTeacher(request: TeacherRequest): Promise<void> {
  const { config, teacherDir, log } = request;
  const key = config.teacherCacheKey!;
  const steps = config.train.steps;
  if (readRunConfig(teacherDir)?.teacherCacheKey === key && isFinished(teacherDir, steps)) return;
  const cachedRun = join(teachersDir(request.cacheDir), key);
  const lock = await acquireWaitLock(`${cachedRun}.lock`, { what: `teacher ${key}`, log });
  try {
    if (isFinished(cachedRun, steps)) {
      log(`[experiment] teacher: reusing the cached teacher ${cachedRun}`);
    } else {
      writeRunConfig(cachedRun, config, true);
      await request.train(cachedRun);
    }
    rmSync(teacherDir, { recursive: true, force: true });
    cpSync(cachedRun, teacherDir, { recursive: true });
    // The copy belongs to this experiment (a cached teacher may have been trained for another one with the same key).
    writeRunConfig(teacherDir, config, false);
  } finally {
    lock.release();
  }
}

export interface CachedTeacher {
  key: string;
  dir: string;
  experiment: string | null;
  preset: string | null;
  /** Steps done (from its summary) and planned (from its config); null when unknown. */
  stepsDone: number | null;
  steps: number | null;
  finished: boolean;
  bytes: number;
  /** Who trains it right now, or null. */
  inUseBy: string | null;
}

function folderBytes(path: string): number {
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.size;
  return readdirSync(path).reduce((sum, name) => sum + folderBytes(join(path, name)), 0);
}

export function listCachedTeachers(cacheDir: string): CachedTeacher[] {
  const dir = teachersDir(cacheDir);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((name) => !name.endsWith('.lock') && statSync(join(dir, name)).isDirectory())
    .sort()
    .map((key) => {
      const runDir = join(dir, key);
      const config = readRunConfig(runDir);
      const steps = config?.train.steps ?? null;
      return {
        key,
        dir: runDir,
        experiment: config?.experiment ?? null,
        preset: config?.preset ?? null,
        stepsDone: readRunSummary(runDir)?.steps ?? null,
        steps,
        finished: steps !== null && isFinished(runDir, steps),
        bytes: folderBytes(runDir),
        inUseBy: liveLockHolder(`${runDir}.lock`),
      };
    });
}

/** Removes the cached teachers nobody is training now (only the unfinished ones with `unfinishedOnly`). */
export function pruneCachedTeachers(cacheDir: string, options: { unfinishedOnly: boolean }): CachedTeacher[] {
  const removed = listCachedTeachers(cacheDir).filter(
    (teacher) => teacher.inUseBy === null && !(options.unfinishedOnly && teacher.finished),
  );
  for (const teacher of removed) {
    rmSync(teacher.dir, { recursive: true, force: true });
    rmSync(`${teacher.dir}.lock`, { force: true });
  }
  return removed;
}
