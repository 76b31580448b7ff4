/**
 * Shared by the torch tests: whether the native addon is here (in CI it must be: a missing addon fails there instead
 * of skipping), running one computation on cpu and on torch, and comparing the results.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../src/backend/backend.ts';
import { addonPath } from '../src/backend/torch/addon.ts';

/** True when the addon is built; false (skip) without it, except in CI, where its absence is a failure. */
export function torchBuilt(): boolean {
  if (existsSync(addonPath())) return true;
  if (process.env.CI) {
    throw new Error(`CI=${process.env.CI} but the torch addon ${addonPath()} is not built (npm ci should build it)`);
  }
  return false;
}

export const SKIP_REASON = 'the torch addon is not built here (node scripts/build-torch-addon.mjs)';

/**
 * Registers torch (once) and returns to the backend that was active. One intra-op thread: the test machines' cores
 * are shared, and OpenMP's thread hand-offs on a busy core cost more than these small kernels.
 */
export async function registerTorch(): Promise<void> {
  const before = tf.getBackend();
  await selectBackend('torch', () => {}, { threads: 1 });
  if (before) await tf.setBackend(before);
}

/** Deterministic values in [-scale, scale): a small LCG, so cases need no tf random ops. */
export function values(n: number, seed: number, scale = 1): number[] {
  let s = (seed * 2654435761) >>> 0 || 1;
  return Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s / 2 ** 32 - 0.5) * 2 * scale;
  });
}

export function randomTensor(shape: number[], seed: number, scale = 1): tf.Tensor {
  return tf.tensor(values(tf.util.sizeFromShape(shape), seed, scale), shape);
}

export interface Snapshot {
  shape: number[];
  dtype: string;
  values: number[];
}

/** Runs `compute` on one backend and reads every output back. */
export async function runOn(backend: string, compute: () => tf.Tensor | tf.Tensor[]): Promise<Snapshot[]> {
  await tf.setBackend(backend);
  const outputs = tf.tidy(() => {
    const out = compute();
    return Array.isArray(out) ? out : [out];
  });
  const snapshots = outputs.map((t) => ({ shape: t.shape, dtype: t.dtype, values: Array.from(t.dataSync()) }));
  tf.dispose(outputs);
  return snapshots;
}

export function assertClose(actual: Snapshot[], expected: Snapshot[], label: string, rtol = 1e-4, atol = 1e-5): void {
  assert.equal(actual.length, expected.length, `${label}: number of outputs`);
  expected.forEach((want, k) => {
    const got = actual[k]!;
    assert.deepEqual(got.shape, want.shape, `${label}[${k}]: shape`);
    assert.equal(got.dtype, want.dtype, `${label}[${k}]: dtype`);
    const scale = Math.max(1e-30, ...want.values.map((v) => (Number.isFinite(v) ? Math.abs(v) : 0)));
    want.values.forEach((w, i) => {
      const g = got.values[i]!;
      if (Number.isNaN(w)) return assert.ok(Number.isNaN(g), `${label}[${k}] at ${i}: ${g} is not NaN`);
      if (!Number.isFinite(w)) return assert.equal(g, w, `${label}[${k}] at ${i}`);
      const ok = Math.abs(g - w) <= atol + rtol * Math.max(Math.abs(w), scale * 1e-2);
      assert.ok(ok, `${label}[${k}] at ${i}: torch ${g}, cpu ${w}`);
    });
  });
}

/** Compares torch against the cpu backend on one computation. */
export async function matchesCpu(label: string, compute: () => tf.Tensor | tf.Tensor[], rtol = 1e-4): Promise<void> {
  const expected = await runOn('cpu', compute);
  const actual = await runOn('torch', compute);
  assertClose(actual, expected, label, rtol);
}
