import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFileAtomic } from '../src/io/atomic-file.ts';
import { fileSize, readFileChunks, readFileRange } from '../src/io/chunked-read.ts';

const BLOCK = 128 * 1024 * 1024;
const PIECES = 20; // 20 x (128 MiB + 16 bytes) = 2.5 GiB, past Node's 2 GiB limit for one read or write

/** Piece i: a 16-byte stamp with i, then the shared 128 MiB block (one allocation, written 20 times). */
function stamp(i: number): Uint8Array {
  return Buffer.from(`piece ${String(i).padStart(9, '0')}\n`);
}

test('a 2.5 GiB file is written from pieces and read back in chunks and ranges, never joined', () => {
  const dir = mkdtempSync(join(tmpdir(), 'large-file-'));
  const path = join(dir, 'optimizer.bin');
  try {
    const block = Buffer.alloc(BLOCK, 0xab);
    block.writeUInt32LE(0xdeadbeef, BLOCK - 4);
    const pieces = Array.from({ length: PIECES }, (_, i) => [stamp(i), block]).flat();
    writeFileAtomic(path, pieces);
    const pieceBytes = 16 + BLOCK;
    const total = PIECES * pieceBytes;
    assert.equal(statSync(path).size, total);
    assert.equal(fileSize(path), total);
    assert.throws(() => readFileSync(path), /ERR_FS_FILE_TOO_LARGE|greater than 2 GiB/);

    for (const i of [0, 15, 16, 19]) {
      const at = i * pieceBytes; // pieces 16.. start past 2 GiB
      assert.equal(readFileRange(path, at, 16).toString(), Buffer.from(stamp(i)).toString());
      assert.equal(readFileRange(path, at + pieceBytes - 4, 4).readUInt32LE(0), 0xdeadbeef);
    }
    assert.throws(() => readFileRange(path, total - 8, 16), /is truncated: needs bytes up to/);

    const chunks = readFileChunks(path);
    assert.equal(chunks.length, 3);
    assert.equal(
      chunks.reduce((n, c) => n + c.length, 0),
      total,
    );
    assert.equal(chunks[0]!.subarray(0, 16).toString(), Buffer.from(stamp(0)).toString());
    const last = chunks[2]!;
    assert.equal(last.readUInt32LE(last.length - 4), 0xdeadbeef);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
