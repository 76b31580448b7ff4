import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../src/backend/backend.ts';
import type { BackendChoice } from '../src/backend/backend.ts';
import { openDataset } from '../src/data/open-dataset.ts';
import { backendCopiesOnCreate } from '../src/data/pixel-normalization.ts';
import { makeImageFolder } from '../src/data/synthetic-folder.ts';

const root = mkdtempSync(join(tmpdir(), 'n2n-batch-buffers-'));
after(() => rmSync(root, { recursive: true, force: true }));

// Image-folder batches refill one buffer on backends that copy at tensor creation: batches kept alive must still hold
// their own values, on every backend.
for (const backend of ['wasm', 'cpu'] as BackendChoice[]) {
  test(`batches kept alive keep their own values (${backend} backend)`, async () => {
    await selectBackend(backend, () => {});
    assert.equal(backendCopiesOnCreate(), backend === 'wasm');
    const dir = join(root, backend);
    await makeImageFolder(dir, { classes: 2, perClass: 6, valPerClass: 1, width: 40, height: 30 });
    const dataset = await openDataset(`imagenet:${dir}`, { imageSize: 16, cacheDir: null, decodeThreads: 1 });
    try {
      const before = tf.memory().numTensors;
      const kept: tf.Tensor[] = [];
      const readAtOnce: Float32Array[] = [];
      const iterator = dataset.trainBatches({ batchSize: 3, seed: 1 });
      for (let i = 0; i < 4; i++) {
        const { value } = await iterator.next();
        readAtOnce.push(Float32Array.from(value!.x.dataSync()));
        kept.push(value!.x);
        value!.y.dispose();
      }
      await iterator.return?.(undefined);
      kept.forEach((x, i) => assert.deepEqual(x.dataSync(), readAtOnce[i], `batch ${i}`));
      assert.notDeepEqual(readAtOnce[0], readAtOnce[3], 'the batches differ');
      tf.dispose(kept);
      assert.equal(tf.memory().numTensors, before);
    } finally {
      await dataset.close();
    }
  });
}
