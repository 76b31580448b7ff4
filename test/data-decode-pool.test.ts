import { test, after as afterAll, before as beforeAll } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Worker } from 'node:worker_threads';
import { DecodePool } from '../src/data/image-folder/decode-pool.ts';
import { INCEPTION_CROP } from '../src/data/image-folder/decode-image.ts';
import { ExampleDecoder } from '../src/data/image-folder/example-decoder.ts';
import type { DecodeRequest, DecodeResult, DecodeSettings } from '../src/data/image-folder/example-decoder.ts';
import { makeImageFolder } from '../src/data/synthetic-folder.ts';
import { openDataset } from '../src/data/open-dataset.ts';
import { ImageFolderDataset } from '../src/data/image-folder/image-folder-dataset.ts';
import { selectBackend } from '../src/backend/backend.ts';
import * as tf from '@tensorflow/tfjs';

await selectBackend('cpu', () => {});

const root = mkdtempSync(join(tmpdir(), 'n2n-decode-pool-'));
const settings: DecodeSettings = {
  size: 32,
  crop: INCEPTION_CROP,
  flip: true,
  centreFraction: 0.875,
  affine: { scale: [0.017, 0.0175, 0.0174], bias: [-2.1, -2.0, -1.8] },
};
let images: string[] = [];

beforeAll(async () => {
  await makeImageFolder(root, { classes: 2, perClass: 6, valPerClass: 1, width: 90, height: 70 });
  const classDir = join(root, 'train', readdirSync(join(root, 'train'))[0]!);
  images = readdirSync(classDir).map((f) => join(classDir, f));
  writeFileSync(join(root, 'not-an-image.JPEG'), 'hello');
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

function requests(): DecodeRequest[] {
  return [
    ...images.map((path, i) => ({ path, seed: 1000 + i })),
    ...images.map((path) => ({ path, seed: null })),
    { path: join(root, 'not-an-image.JPEG'), seed: 1 },
    { path: join(root, 'missing.JPEG'), seed: null },
  ];
}

function workersOf(pool: DecodePool): { worker: Worker; pending: Map<number, unknown> }[] {
  return (pool as unknown as { workers: { worker: Worker; pending: Map<number, unknown> }[] }).workers;
}

test('worker threads give exactly the main thread values, and the same bad-file reasons', async () => {
  const main = new ExampleDecoder(settings);
  const pool = new DecodePool(2, settings, 'test');
  try {
    const expected: DecodeResult[] = [];
    for (const r of requests()) expected.push(await main.decode(r));
    const got = await Promise.all(requests().map((r) => pool.decode(r)));
    assert.equal(got.length, expected.length);
    got.forEach((result, i) => assert.deepEqual(result, expected[i], `request ${i}`));
    assert.ok('values' in got[0]! && got[0].values.length === 32 * 32 * 3);
    assert.match((got.at(-2) as { bad: string }).bad, /unsupported image format|Input buffer/i);
    assert.match((got.at(-1) as { bad: string }).bad, /ENOENT|no such file/i);
    // both workers took requests
    assert.ok(workersOf(pool).every((w) => w.pending.size === 0));
  } finally {
    await pool.close();
  }
});

test('a worker that dies fails its requests with a clear error and is replaced; close() fails what is left', async () => {
  const pool = new DecodePool(1, settings, 'pool-test');
  try {
    const inFlight = images.map((path, i) => pool.decode({ path, seed: i }));
    await workersOf(pool)[0]!.worker.terminate();
    const outcomes = await Promise.allSettled(inFlight);
    const failed = outcomes.filter((o) => o.status === 'rejected');
    assert.ok(failed.length > 0, 'requests in flight on the dead worker are rejected');
    for (const f of failed)
      assert.match(String((f as PromiseRejectedResult).reason), /pool-test: decode worker 0 exited with code \d+/);
    const after = await pool.decode({ path: images[0]!, seed: 5 });
    assert.ok('values' in after, 'the replacement worker decodes');
    const pending = images.map((path, i) => pool.decode({ path, seed: 50 + i }));
    await pool.close();
    const closedOutcomes = await Promise.allSettled(pending);
    const closedFailures = closedOutcomes.filter((o) => o.status === 'rejected');
    assert.ok(closedFailures.length > 0, 'requests still in flight at close() are rejected');
    for (const f of closedFailures)
      assert.match(String((f as PromiseRejectedResult).reason), /pool-test: the decode pool was closed/);
    await assert.rejects(pool.decode({ path: images[0]!, seed: 1 }), /pool-test: the decode pool is closed/);
  } finally {
    await pool.close();
  }
});

test('the workers go through the prefetch window while the main thread is blocked (as by a synchronous training step)', async () => {
  const dataset = await openDataset(`imagenet:${root}`, {
    imageSize: 16,
    concurrency: 2,
    prefetchBatches: 3,
    decodeThreads: 1,
    cacheDir: null,
  });
  assert.ok(dataset instanceof ImageFolderDataset);
  const pool = (dataset as unknown as { decoder: DecodePool }).decoder;
  assert.ok(pool instanceof DecodePool);
  const finished: number[] = [];
  const iterator = dataset.trainBatches({ batchSize: 4, seed: 3 });
  const first = await iterator.next(); // the worker is up, and the window (3 batches = 12 examples) is requested
  tf.dispose([first.value!.x, first.value!.y]);
  pool.observer = (reply) => finished.push(reply.finishedAt);
  const blockEnd = Date.now() + 1500;
  while (Date.now() < blockEnd) {
    // a synchronous "training step": no event loop turn on the main thread
  }
  for (let i = 0; i < 3; i++) {
    const { value } = await iterator.next();
    tf.dispose([value!.x, value!.y]);
  }
  const duringBlock = finished.filter((t) => t <= blockEnd).length;
  assert.ok(
    duringBlock >= 10,
    `${duringBlock} of the 12 examples in the window were decoded while the main thread was blocked`,
  );
  await iterator.return?.(undefined);
  await dataset.close();
});
