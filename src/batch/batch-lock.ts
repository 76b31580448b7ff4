/** One batch runner per state folder: `<state dir>/batch.lock` holds the runner's pid while it runs. */
import { openSync, readFileSync, rmSync, writeSync, closeSync } from 'node:fs';
import { processAlive } from '../io/wait-lock.ts';
import { BatchStateError } from './batch-state.ts';

/** Takes the lock (replacing one left by a runner that no longer exists); returns the function that releases it. */
export function acquireBatchLock(path: string): () => void {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(path, 'wx');
      writeSync(fd, `${process.pid}\n`);
      closeSync(fd);
      return () => rmSync(path, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const holder = Number.parseInt(readFileSync(path, 'utf8'), 10);
      if (Number.isInteger(holder) && holder !== process.pid && processAlive(holder)) {
        throw new BatchStateError(`another batch runner (pid ${holder}) is using this state folder (${path})`);
      }
      rmSync(path, { force: true });
    }
  }
  throw new BatchStateError(`could not take the lock ${path}`);
}
