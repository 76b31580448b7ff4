import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { acquireWaitLock } from '../src/io/wait-lock.ts';

const root = mkdtempSync(join(tmpdir(), 'n2n-wait-lock-'));
after(() => rmSync(root, { recursive: true, force: true }));

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

test('a second taker waits while the holder lives, and gets the lock once it is released', async () => {
  const path = join(root, 'sub', 'a.lock');
  const first = await acquireWaitLock(path, { what: 'a' });
  assert.equal(JSON.parse(readFileSync(path, 'utf8')).pid, process.pid);
  const log: string[] = [];
  let secondHeld = false;
  const second = acquireWaitLock(path, { what: 'a', pollMs: 20, log: (l) => log.push(l) }).then((lock) => {
    secondHeld = true;
    return lock;
  });
  await sleep(200);
  assert.equal(secondHeld, false, 'still waiting while the first holder has it');
  assert.match(log.join('\n'), new RegExp(`a: waiting for pid ${process.pid} on `));
  first.release();
  const lock = await second;
  assert.ok(existsSync(path));
  lock.release();
  assert.ok(!existsSync(path), 'release removes the file');
});

test('a lock left by a dead process on this host is taken over at once', async () => {
  const child = spawnSync(process.execPath, ['-e', 'console.log(process.pid)'], { encoding: 'utf8' });
  const deadPid = Number(child.stdout.trim());
  const path = join(root, 'dead.lock');
  writeFileSync(path, JSON.stringify({ pid: deadPid, host: hostname(), since: 'earlier' }));
  const log: string[] = [];
  const lock = await acquireWaitLock(path, { what: 'b', pollMs: 20, log: (l) => log.push(l) });
  assert.match(log.join('\n'), new RegExp(`taking over .* from pid ${deadPid} on .*\\(no such process\\)`));
  assert.equal(JSON.parse(readFileSync(path, 'utf8')).pid, process.pid);
  lock.release();
});

test('another host: waited for while its heartbeat is fresh, taken over once it is stale', async () => {
  const path = join(root, 'remote.lock');
  writeFileSync(path, JSON.stringify({ pid: 1, host: 'some-other-node', since: 'earlier' }));
  const log: string[] = [];
  let held = false;
  const pending = acquireWaitLock(path, { what: 'c', pollMs: 20, staleMs: 60_000, log: (l) => log.push(l) }).then(
    (lock) => {
      held = true;
      return lock;
    },
  );
  await sleep(150);
  assert.equal(held, false, 'a fresh remote holder is waited for');
  const old = new Date(Date.now() - 120_000);
  utimesSync(path, old, old);
  const lock = await pending;
  assert.match(log.join('\n'), /taking over .* some-other-node .*\(no heartbeat for 1\d\d s\)/);
  lock.release();
});

test('release does not remove a lock that another process has taken over meanwhile', async () => {
  const path = join(root, 'taken.lock');
  const lock = await acquireWaitLock(path, { what: 'd' });
  writeFileSync(path, JSON.stringify({ pid: 999999, host: 'elsewhere', since: 'now' }));
  lock.release();
  assert.ok(existsSync(path));
});
