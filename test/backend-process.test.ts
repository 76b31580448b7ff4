/**
 * What a user sees when things go wrong around the backend: an uncaught error in a process that loaded the wasm
 * backend is Node's own report (message, stack, exit status 1), not the Emscripten glue's source; running out of the
 * wasm heap says so, with the size asked for and what to do, whether the allocation fails in JavaScript (guarded) or
 * inside a kernel (a wasm trap the trainer explains); and no command prints TensorFlow.js's tfjs-node banner.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../src/backend/backend.ts';
import { WasmHeapExhaustedError, explainWasmHeapError } from '../src/backend/wasm-heap.ts';
import { openDataset } from '../src/data/open-dataset.ts';
import type { StepEngine } from '../src/train/step-engine.ts';
import { INCEPTION_RMSPROP, train } from '../src/train/trainer.ts';

await selectBackend('wasm', () => {});

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** Runs a module snippet with the repository's TypeScript sources importable from './src/...'. */
function runSnippet(code: string): { status: number | null; stderr: string } {
  const result = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  return { status: result.status, stderr: result.stderr };
}

const LOAD_WASM = "import { selectBackend } from './src/backend/backend.ts'; await selectBackend('wasm', () => {});";
const GLUE_SOURCE = /WasmBackendModule|readyPromiseResolve/;
/** The error a wasm trap throws (not in this project's TypeScript lib). */
const { RuntimeError } = (globalThis as unknown as { WebAssembly: { RuntimeError: ErrorConstructor } }).WebAssembly;

test('an uncaught error or rejection after the wasm backend loaded: Node reports it alone and exits 1', () => {
  for (const failure of [
    "throw new Error('thrown by the test');",
    "Promise.reject(new Error('rejected by the test'));",
  ]) {
    const { status, stderr } = runSnippet(`${LOAD_WASM} ${failure}`);
    assert.equal(status, 1, stderr.slice(-2000));
    assert.match(stderr, /Error: (thrown|rejected) by the test/);
    assert.doesNotMatch(stderr, GLUE_SOURCE, 'the Emscripten glue printed its source');
    assert.ok(stderr.length < 3000, `stderr is ${stderr.length} characters`);
  }
});

test('an allocation the wasm heap cannot hold throws at once, naming its size, the heap and what to do', () => {
  // Gigabyte tensors that are allocated but never written (no memory is touched) fill the heap; then a small op fails.
  const { status, stderr } = runSnippet(`${LOAD_WASM}
    import * as tf from '@tensorflow/tfjs';
    const backend = tf.backend();
    for (let i = 0; i < 3; i++) backend.makeOutput([2 ** 28], 'float32');
    tf.ones([256, 2 ** 20]);`);
  assert.equal(status, 1, stderr.slice(-2000));
  assert.match(stderr, /WasmHeapExhaustedError: wasm heap exhausted: an allocation of 1 GiB failed with the heap at/);
  for (const advice of ['--batch-size', '--workers', '--backend torch']) assert.ok(stderr.includes(advice), advice);
  assert.doesNotMatch(stderr, GLUE_SOURCE);
});

test('a tensor of 4 GiB or more is refused, not allocated modulo 4 GiB by the 32-bit size argument', () => {
  const backend = tf.backend() as unknown as { makeOutput(shape: number[], dtype: 'float32'): unknown };
  const dataIds = tf.backend().numDataIds();
  assert.throws(() => backend.makeOutput([5 * 2 ** 28], 'float32'), /an allocation of 5 GiB failed/);
  assert.equal(tf.backend().numDataIds(), dataIds);
});

test('a wasm trap in a training step reaches the caller as a WasmHeapExhaustedError; other errors pass unchanged', async () => {
  const trap = new RuntimeError('memory access out of bounds');
  const explained = explainWasmHeapError(trap);
  assert.ok(explained instanceof WasmHeapExhaustedError);
  assert.equal(explained.cause, trap);
  assert.match(
    explained.message,
    /wasm heap exhausted \(most likely\): 'memory access out of bounds' with the heap at/,
  );
  assert.equal(explainWasmHeapError(explained), explained);
  const other = new Error('something else');
  assert.equal(explainWasmHeapError(other), other);

  const dataset = await openDataset('synthetic:8x8x1:2:16:8');
  const runDir = mkdtempSync(join(tmpdir(), 'n2n-heap-'));
  const trapping = (model: tf.LayersModel): StepEngine => ({
    model,
    step: async () => {
      throw new RuntimeError('memory access out of bounds');
    },
    getOptimizerState: async () => [],
    setOptimizerState: async () => {},
    dispose: async () => {},
  });
  const tensors = tf.memory().numTensors;
  try {
    await assert.rejects(
      train({
        runDir,
        dataset,
        resume: false,
        createEngine: trapping,
        initialModel: () =>
          tf.sequential({ layers: [tf.layers.flatten({ inputShape: [8, 8, 1] }), tf.layers.dense({ units: 2 })] }),
        config: {
          steps: 2,
          batchSize: 4,
          optimizer: { ...INCEPTION_RMSPROP, learningRate: 0.01, weightDecay: 0 },
          schedule: { kind: 'constant' },
          evalEvery: 1,
          checkpointEvery: 1,
          evalBatchSize: 8,
          dataSeed: 0,
        },
      }),
      (err: unknown) => err instanceof WasmHeapExhaustedError && /--batch-size/.test(err.message),
    );
    assert.equal(tf.memory().numTensors, tensors);
  } finally {
    await dataset.close();
    rmSync(runDir, { recursive: true, force: true });
  }
});

test("a command on the cpu backend does not print TensorFlow.js's install-tfjs-node banner", () => {
  const result = spawnSync(
    process.execPath,
    ['--import', 'tsx', 'src/cli/models.ts', 'summary', 'inception-bn-small'],
    {
      cwd: ROOT,
      encoding: 'utf8',
    },
  );
  assert.equal(result.status, 0, result.stderr);
  assert.match(result.stdout, /conv1/);
  assert.doesNotMatch(result.stderr, /running TensorFlow\.js in Node\.js|install our node backend/);
});
