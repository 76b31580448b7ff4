/**
 * Reading files of any size: `readFileSync` refuses files over 2 GiB (ERR_FS_FILE_TOO_LARGE), and a 2.5 GB
 * optimizer state is an ordinary checkpoint of the larger students. These read a file as a list of pieces, or one
 * byte range of it, with positional reads.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

/** The most bytes asked of one read(2), and the size of the pieces `readFileChunks` returns. */
const READ_CHUNK_BYTES = 1 << 30;

/** The whole file as consecutive pieces of at most 1 GiB each (one piece for a small file). */
export function readFileChunks(path: string): Buffer[] {
  return withFile(path, (fd, size) => {
    const pieces: Buffer[] = [];
    for (let offset = 0; offset < size; offset += READ_CHUNK_BYTES) {
      pieces.push(readExactly(fd, path, offset, Math.min(READ_CHUNK_BYTES, size - offset)));
    }
    return pieces;
  });
}

/** `length` bytes from `offset`; an error naming the file when it ends sooner. */
export function readFileRange(path: string, offset: number, length: number): Buffer {
  return withFile(path, (fd, size) => {
    if (offset + length > size) {
      throw new Error(`'${path}' is truncated: needs bytes up to ${offset + length}, file has ${size}`);
    }
    return readExactly(fd, path, offset, length);
  });
}

export function fileSize(path: string): number {
  return withFile(path, (_fd, size) => size);
}

function withFile<T>(path: string, use: (fd: number, size: number) => T): T {
  const fd = openSync(path, 'r');
  try {
    return use(fd, fstatSync(fd).size);
  } finally {
    closeSync(fd);
  }
}

function readExactly(fd: number, path: string, offset: number, length: number): Buffer {
  const out = Buffer.allocUnsafe(length);
  let done = 0;
  while (done < length) {
    const n = readSync(fd, out, done, Math.min(length - done, READ_CHUNK_BYTES), offset + done);
    if (n === 0) throw new Error(`'${path}' ended at byte ${offset + done} while ${length - done} more were expected`);
    done += n;
  }
  return out;
}
