/**
 * Atomic file writes: write a temporary file beside the target, fsync it, then rename over the target, so a killed
 * process leaves either the old file or the new one, never half of one.
 *
 * Data may be a list of pieces, written one after the other: a checkpoint over 2 GiB is never joined into one buffer
 * (Node refuses single reads and writes over 2 GiB, and joining would hold the bytes twice).
 */
import { mkdirSync, openSync, writeSync, fsyncSync, closeSync, renameSync, rmSync } from 'node:fs';
import { dirname, basename, join } from 'node:path';

/** The most bytes handed to one write(2): below Node's 2 GiB limit for a single call. */
const WRITE_CHUNK_BYTES = 1 << 30;

export type FileData = string | Uint8Array | readonly Uint8Array[];

export function writeFileAtomic(path: string, data: FileData): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${Date.now()}.tmp`);
  try {
    const fd = openSync(tmp, 'w');
    try {
      const pieces =
        typeof data === 'string' ? [Buffer.from(data, 'utf8')] : data instanceof Uint8Array ? [data] : data;
      for (const piece of pieces) writeAll(fd, piece);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}

function writeAll(fd: number, bytes: Uint8Array): void {
  let offset = 0;
  while (offset < bytes.length) {
    offset += writeSync(fd, bytes, offset, Math.min(bytes.length - offset, WRITE_CHUNK_BYTES));
  }
}

export function writeJsonAtomic(path: string, value: unknown): void {
  writeFileAtomic(path, JSON.stringify(value, null, 2) + '\n');
}
