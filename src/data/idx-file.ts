/**
 * The IDX format of MNIST-style datasets (big-endian header: 0, 0, type code, number of dimensions, then one uint32
 * per dimension, then the data), plain or gzip-compressed. Only unsigned-byte data (type 0x08) is used here.
 */
import { readFile } from 'node:fs/promises';
import { gunzipSync, gzipSync } from 'node:zlib';

export interface IdxArray {
  dims: number[];
  data: Uint8Array;
}

const UNSIGNED_BYTE = 0x08;

export function parseIdx(bytes: Uint8Array, source: string): IdxArray {
  const raw = bytes[0] === 0x1f && bytes[1] === 0x8b ? new Uint8Array(gunzipSync(bytes)) : bytes;
  if (raw.length < 4 || raw[0] !== 0 || raw[1] !== 0) throw new Error(`${source}: not an IDX file (bad magic number)`);
  if (raw[2] !== UNSIGNED_BYTE) throw new Error(`${source}: IDX data type 0x${raw[2]!.toString(16)} is not unsigned byte (0x08)`);
  const rank = raw[3]!;
  const headerBytes = 4 + 4 * rank;
  if (raw.length < headerBytes) throw new Error(`${source}: IDX header truncated`);
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const dims: number[] = [];
  for (let i = 0; i < rank; i++) dims.push(view.getUint32(4 + 4 * i, false));
  const count = dims.reduce((a, b) => a * b, 1);
  if (raw.length - headerBytes !== count) {
    throw new Error(`${source}: IDX data has ${raw.length - headerBytes} bytes, header [${dims.join(', ')}] says ${count}`);
  }
  return { dims, data: raw.subarray(headerBytes) };
}

export async function readIdx(path: string): Promise<IdxArray> {
  return parseIdx(await readFile(path), path);
}

/** Gzip-compressed IDX bytes of unsigned-byte data (deterministic: no timestamp in the gzip header). */
export function encodeIdxGz(array: IdxArray): Uint8Array {
  const count = array.dims.reduce((a, b) => a * b, 1);
  if (array.data.length !== count) throw new Error(`encodeIdx: ${array.data.length} bytes for dims [${array.dims.join(', ')}]`);
  const header = new Uint8Array(4 + 4 * array.dims.length);
  const view = new DataView(header.buffer);
  header[2] = UNSIGNED_BYTE;
  header[3] = array.dims.length;
  array.dims.forEach((d, i) => view.setUint32(4 + 4 * i, d, false));
  const raw = new Uint8Array(header.length + count);
  raw.set(header, 0);
  raw.set(array.data, header.length);
  return new Uint8Array(gzipSync(raw, { level: 9 }));
}
