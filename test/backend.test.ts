import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { selectBackend, BackendUnavailableError } from '../src/backend/backend.ts';

test('auto picks wasm when no native package is installed, and logs the choice', async () => {
  const lines: string[] = [];
  const info = await selectBackend('auto', (l) => lines.push(l));
  // On a machine with tfjs-node this would pick 'tensorflow'; CI has none.
  assert.ok(['tensorflow-gpu', 'tensorflow', 'wasm'].includes(info.choice), info.choice);
  assert.equal(tf.getBackend(), info.tfBackend);
  assert.equal(lines.length, 1);
  assert.match(lines[0], new RegExp(`\\[backend\\] ${info.choice}`));
});

test('an explicit cpu request switches backend', async () => {
  const info = await selectBackend('cpu', () => {});
  assert.equal(info.choice, 'cpu');
  assert.equal(tf.getBackend(), 'cpu');
});

test('a backend that cannot load is a clear error listing what is available', async (t) => {
  let native = true;
  try {
    await import('@tensorflow/tfjs-node-gpu' as string);
  } catch {
    native = false;
  }
  if (native) return t.skip('tfjs-node-gpu is installed on this machine');
  await assert.rejects(
    selectBackend('tensorflow-gpu', () => {}),
    (err: unknown) => {
      assert.ok(err instanceof BackendUnavailableError);
      assert.match(err.message, /@tensorflow\/tfjs-node-gpu/);
      assert.match(err.message, /available here: .*wasm.*cpu/);
      return true;
    },
  );
  await assert.rejects(
    selectBackend('tpu' as never, () => {}),
    /unknown backend name/,
  );
});
