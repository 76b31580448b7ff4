import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as tf from '@tensorflow/tfjs';
import { selectBackend, BackendUnavailableError } from '../src/backend/backend.ts';
import { SKIP_REASON, torchBuilt } from './torch-fixtures.ts';

async function installed(pkg: string): Promise<boolean> {
  try {
    await import(pkg);
    return true;
  } catch {
    return false;
  }
}

const tfjsNode = (await installed('@tensorflow/tfjs-node')) || (await installed('@tensorflow/tfjs-node-gpu'));

test(
  'auto picks torch when its addon is built, and logs the choice',
  { skip: !torchBuilt() && SKIP_REASON },
  async () => {
    const lines: string[] = [];
    const info = await selectBackend('auto', (l) => lines.push(l));
    assert.equal(info.choice, 'torch');
    assert.equal(tf.getBackend(), 'torch');
    assert.equal(lines.length, 1);
    assert.match(lines[0]!, /^\[backend\] torch .*device cpu, \d+ threads/);
  },
);

test(
  'auto picks wasm when the torch addon is missing and no tfjs-node is installed',
  { skip: tfjsNode && 'tfjs-node is installed' },
  () => {
    const probe =
      "import('./src/backend/backend.ts').then(async (m) => { await m.selectBackend('auto', (l) => console.log(l)); })";
    const result = spawnSync(process.execPath, ['--import', 'tsx', '-e', probe], {
      env: { ...process.env, NET2NET_TORCH_ADDON: '/nonexistent/torch-backend.node' },
      encoding: 'utf8',
    });
    assert.equal(result.status, 0, result.stderr);
    const line = result.stdout.split('\n').find((l) => l.startsWith('[backend]'));
    assert.match(line ?? '', /^\[backend\] wasm .*torch skipped: the native torch addon is not built/);
  },
);

test('an explicit cpu request switches backend', async () => {
  const info = await selectBackend('cpu', () => {});
  assert.equal(info.choice, 'cpu');
  assert.equal(tf.getBackend(), 'cpu');
});

test(
  'a backend that cannot load is a clear error listing what is available',
  { skip: tfjsNode && 'tfjs-node-gpu is installed' },
  async () => {
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
  },
);
