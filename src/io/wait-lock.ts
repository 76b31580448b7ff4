/**
 * A lock file that waits: the holder writes its pid and host into `<path>` (created exclusively) and refreshes the
 * file's mtime as a heartbeat; another process waits until the file is gone, or takes it over when its holder is
 * dead (same host: the pid no longer exists; other host, e.g. a cluster on a shared filesystem: no heartbeat for
 * `staleMs`). Used so that batch jobs sharing a teacher configuration train it once.
 */
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, statSync, utimesSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname } from 'node:path';

export interface WaitLockOptions {
  /** What the lock guards, for the log ("the teacher <key>"). */
  what: string;
  log?: (line: string) => void;
  /** Poll interval while another holder is alive (default 2 s). */
  pollMs?: number;
  /** A holder on another host without a heartbeat for this long is taken as dead (default 10 min). */
  staleMs?: number;
}

export interface HeldLock {
  release(): void;
}

interface Holder {
  pid: number;
  host: string;
  since: string;
}

export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export async function acquireWaitLock(path: string, options: WaitLockOptions): Promise<HeldLock> {
  const log = options.log ?? (() => {});
  const pollMs = options.pollMs ?? 2000;
  const staleMs = options.staleMs ?? 10 * 60 * 1000;
  mkdirSync(dirname(path), { recursive: true });
  let waitingLogged = false;
  for (;;) {
    const held = tryCreate(path, staleMs);
    if (held) return held;
    const state = holderState(path, staleMs);
    if (state.kind === 'gone') continue;
    if (state.kind === 'dead') {
      log(`[lock] ${options.what}: taking over ${path} from ${describe(state.holder)}, which is gone (${state.why})`);
      rmSync(path, { force: true });
      continue;
    }
    if (!waitingLogged) {
      log(`[lock] ${options.what}: waiting for ${describe(state.holder)} (lock file ${path})`);
      waitingLogged = true;
    }
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}

function tryCreate(path: string, staleMs: number): HeldLock | null {
  let fd: number;
  try {
    fd = openSync(path, 'wx');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return null;
    throw err;
  }
  const holder: Holder = { pid: process.pid, host: hostname(), since: new Date().toISOString() };
  writeSync(fd, `${JSON.stringify(holder)}\n`);
  closeSync(fd);
  const heartbeat = setInterval(
    () => {
      try {
        const now = new Date();
        utimesSync(path, now, now);
      } catch {
        // the file was taken over or removed: nothing to refresh
      }
    },
    Math.max(1000, staleMs / 4),
  );
  heartbeat.unref();
  let released = false;
  return {
    release: () => {
      if (released) return;
      released = true;
      clearInterval(heartbeat);
      if (readHolder(path)?.pid === process.pid) rmSync(path, { force: true });
    },
  };
}

/** Who holds the lock at `path` now, or null when nobody alive does (no file, or its holder is dead). */
export function liveLockHolder(path: string, staleMs = 10 * 60 * 1000): string | null {
  const state = holderState(path, staleMs);
  return state.kind === 'alive' ? describe(state.holder) : null;
}

type HolderState = { kind: 'gone' } | { kind: 'alive'; holder: Holder } | { kind: 'dead'; holder: Holder; why: string };

function holderState(path: string, staleMs: number): HolderState {
  let mtimeMs: number;
  try {
    mtimeMs = statSync(path).mtimeMs;
  } catch {
    return { kind: 'gone' };
  }
  const holder = readHolder(path);
  if (!holder) {
    // written by a process that died between creating and writing it, or being written right now
    return Date.now() - mtimeMs > 5000
      ? { kind: 'dead', holder: { pid: 0, host: '?', since: '?' }, why: 'the lock file is empty or unreadable' }
      : { kind: 'alive', holder: { pid: 0, host: '?', since: '?' } };
  }
  if (holder.host === hostname()) {
    return processAlive(holder.pid) ? { kind: 'alive', holder } : { kind: 'dead', holder, why: 'no such process' };
  }
  const silentMs = Date.now() - mtimeMs;
  return silentMs > staleMs
    ? { kind: 'dead', holder, why: `no heartbeat for ${Math.round(silentMs / 1000)} s` }
    : { kind: 'alive', holder };
}

function readHolder(path: string): Holder | null {
  try {
    const parsed = JSON.parse(readFileSync(path, 'utf8')) as Partial<Holder>;
    return typeof parsed.pid === 'number' && typeof parsed.host === 'string'
      ? { pid: parsed.pid, host: parsed.host, since: String(parsed.since) }
      : null;
  } catch {
    return null;
  }
}

function describe(holder: Holder): string {
  return `pid ${holder.pid} on ${holder.host} (since ${holder.since})`;
}
