import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../src/backend/backend.ts';
import { openDataset } from '../src/data/open-dataset.ts';
import {
  FASHION_MNIST_CLASSES,
  FASHION_MNIST_DEBIAN_DIR,
  FASHION_MNIST_SUBSET_DIR,
} from '../src/data/fashion-mnist.ts';
import { parseIdx } from '../src/data/idx-file.ts';
import type { Batch, Dataset } from '../src/data/dataset.ts';

await selectBackend('cpu', () => {});

async function take(
  iterator: AsyncIterableIterator<Batch>,
  count: number,
): Promise<{ x: Float32Array; y: Int32Array }[]> {
  const out: { x: Float32Array; y: Int32Array }[] = [];
  for (let i = 0; i < count; i++) {
    const { value, done } = await iterator.next();
    assert.ok(!done && value);
    out.push({ x: value.x.dataSync() as Float32Array, y: value.y.dataSync() as Int32Array });
    tf.dispose([value.x, value.y]);
  }
  await iterator.return?.(undefined);
  return out;
}

async function allVal(dataset: Dataset, batchSize: number): Promise<{ x: Float32Array; y: Int32Array }> {
  const xs: Float32Array[] = [];
  const ys: number[] = [];
  for await (const batch of dataset.valBatches(batchSize)) {
    xs.push(batch.x.dataSync() as Float32Array);
    ys.push(...batch.y.dataSync());
    tf.dispose([batch.x, batch.y]);
  }
  const x = new Float32Array(xs.reduce((n, a) => n + a.length, 0));
  let o = 0;
  for (const a of xs) {
    x.set(a, o);
    o += a.length;
  }
  return { x, y: Int32Array.from(ys) };
}

test('the committed subset has 10,000 train and 2,000 test images of the real dataset, labels 0..9', async () => {
  const before = tf.memory().numTensors;
  const dataset = await openDataset('fashion-mnist');
  assert.equal(dataset.numTrain, 10000);
  assert.equal(dataset.numVal, 2000);
  assert.deepEqual(dataset.inputShape, [28, 28, 1]);
  assert.deepEqual(dataset.classNames, FASHION_MNIST_CLASSES);
  const val = await allVal(dataset, 512);
  assert.equal(val.y.length, 2000);
  assert.equal(val.x.length, 2000 * 784);
  const counts = new Array<number>(10).fill(0);
  for (const label of val.y) {
    assert.ok(label >= 0 && label <= 9, `label ${label}`);
    counts[label]!++;
  }
  assert.ok(Math.min(...counts) > 150, `every class present in the test subset: ${counts}`);
  // normalized with the full training set's mean/std: the test subset's statistics are close to 0 / 1
  let sum = 0;
  let sumSq = 0;
  for (const v of val.x) {
    sum += v;
    sumSq += v * v;
  }
  const mean = sum / val.x.length;
  const std = Math.sqrt(sumSq / val.x.length - mean * mean);
  assert.ok(Math.abs(mean) < 0.02, `mean ${mean}`);
  assert.ok(Math.abs(std - 1) < 0.02, `std ${std}`);
  // background pixels are 0, i.e. -mean/std after normalization
  assert.ok(Math.abs(Math.min(...val.x.subarray(0, 784)) - -0.28604 / 0.35302) < 1e-5);
  // first test label of Fashion-MNIST is 9 (ankle boot), as in the original file
  assert.equal(val.y[0], 9);
  await dataset.close();
  assert.equal(tf.memory().numTensors, before);
});

/**
 * The tests of the full Fashion-MNIST need the Debian package: they skip without it, except in CI (which installs it),
 * where its absence is a failure, as the torch tests treat a missing addon.
 */
const DEBIAN_PACKAGE =
  existsSync(FASHION_MNIST_DEBIAN_DIR) || process.env.CI ? {} : { skip: 'dataset-fashion-mnist is not installed' };
function requireDebianPackage(): void {
  assert.ok(
    existsSync(FASHION_MNIST_DEBIAN_DIR),
    `CI=${process.env.CI} but ${FASHION_MNIST_DEBIAN_DIR} is missing (apt-get install dataset-fashion-mnist)`,
  );
}

test('the subset files are the first records of the Debian files', DEBIAN_PACKAGE, () => {
  requireDebianPackage();
  for (const [name, per] of [
    ['train-labels-idx1-ubyte.gz', 1],
    ['t10k-images-idx3-ubyte.gz', 784],
  ] as const) {
    const subset = parseIdx(readFileSync(join(FASHION_MNIST_SUBSET_DIR, name)), name);
    const full = parseIdx(gunzipSync(readFileSync(join(FASHION_MNIST_DEBIAN_DIR, name))), name);
    const n = subset.dims[0]!;
    assert.ok(n === 10000 || n === 2000);
    assert.deepEqual(Buffer.from(subset.data), Buffer.from(full.data.subarray(0, n * per)));
  }
});

test('fashion-mnist:full reads 60,000 / 10,000 from the Debian package', DEBIAN_PACKAGE, async () => {
  requireDebianPackage();
  const dataset = await openDataset('fashion-mnist:full', { limitVal: 10 });
  assert.equal(dataset.numTrain, 60000);
  assert.equal(dataset.numVal, 10);
});

test('training batches: every example once per epoch, resumable from any position, seeded', async () => {
  const dataset = await openDataset('fashion-mnist', { limitTrain: 100 });
  assert.equal(dataset.numTrain, 100);
  const before = tf.memory().numTensors;
  const run = await take(dataset.trainBatches({ batchSize: 30, seed: 7 }), 7); // 210 examples: 2.1 epochs
  assert.equal(tf.memory().numTensors, before);
  const labels = run.flatMap((b) => Array.from(b.y));
  const classCounts = new Array<number>(10).fill(0);
  for (const l of labels.slice(0, 100)) classCounts[l]!++;
  assert.deepEqual(classCounts, new Array(10).fill(10), 'limit 100 keeps 10 per class, and epoch 0 covers each once');
  const epoch0 = labels.slice(0, 100);
  const epoch1 = labels.slice(100, 200);
  assert.notDeepEqual(epoch0, epoch1, 'each epoch has its own permutation');
  // resume from position 45 (not a batch multiple): the same examples as positions 45.. of the full run
  const resumed = await take(dataset.trainBatches({ batchSize: 30, seed: 7, start: 45 }), 3);
  const flatX = (bs: { x: Float32Array }[]): Float32Array => Float32Array.from(bs.flatMap((b) => Array.from(b.x)));
  assert.deepEqual(flatX(resumed), flatX(run).subarray(45 * 784, (45 + 90) * 784));
  const otherSeed = await take(dataset.trainBatches({ batchSize: 30, seed: 8 }), 1);
  assert.notDeepEqual(Array.from(otherSeed[0]!.y), labels.slice(0, 30));
});

test('class subset and augmentation', async () => {
  const subset = await openDataset('fashion-mnist', { classList: ['Sneaker', 'Bag'], limitVal: 50 });
  assert.deepEqual(subset.classNames, ['Sneaker', 'Bag']);
  assert.equal(subset.numTrain, 1022 + 990);
  assert.equal(subset.numVal, 50);
  const [batch] = await take(subset.trainBatches({ batchSize: 64, seed: 1 }), 1);
  assert.ok(batch!.y.every((l) => l === 0 || l === 1));
  await assert.rejects(openDataset('fashion-mnist', { classList: ['Hat'] }), /unknown class name\(s\) 'Hat'/);
  await assert.rejects(openDataset('fashion-mnist', { imageSize: 224 }), /28x28; imageSize 224/);

  const plain = await openDataset('fashion-mnist', { limitTrain: 64 });
  const augmented = await openDataset('fashion-mnist', { limitTrain: 64, augment: true });
  const [a] = await take(plain.trainBatches({ batchSize: 64, seed: 3 }), 1);
  const [b] = await take(augmented.trainBatches({ batchSize: 64, seed: 3 }), 1);
  const [b2] = await take(augmented.trainBatches({ batchSize: 64, seed: 3 }), 1);
  assert.deepEqual(a!.y, b!.y, 'augmentation does not change the order');
  assert.notDeepEqual(a!.x, b!.x, 'augmentation changes pixels');
  assert.deepEqual(b!.x, b2!.x, 'augmentation is a function of (seed, position)');
  // a shifted or mirrored image keeps its pixel values (the zero pad aside): same maximum per image
  for (let i = 0; i < 64; i++) {
    const maxOf = (x: Float32Array): number => Math.max(...x.subarray(i * 784, (i + 1) * 784));
    assert.ok(maxOf(b!.x) <= maxOf(a!.x) + 1e-6);
  }
});

test('fashion-mnist:<dir> reads plain (not gzip) IDX files and reports bad files clearly', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'n2n-fmnist-'));
  const header = (dims: number[]): Buffer => {
    const b = Buffer.alloc(4 + 4 * dims.length);
    b[2] = 8;
    b[3] = dims.length;
    dims.forEach((d, i) => b.writeUInt32BE(d, 4 + 4 * i));
    return b;
  };
  const images = (n: number): Buffer => Buffer.concat([header([n, 28, 28]), Buffer.alloc(n * 784, 255)]);
  const labels = (values: number[]): Buffer => Buffer.concat([header([values.length]), Buffer.from(values)]);
  writeFileSync(join(dir, 'train-images-idx3-ubyte'), images(3));
  writeFileSync(join(dir, 'train-labels-idx1-ubyte'), labels([0, 1, 2]));
  writeFileSync(join(dir, 't10k-images-idx3-ubyte'), images(2));
  writeFileSync(join(dir, 't10k-labels-idx1-ubyte'), labels([3, 4]));
  const dataset = await openDataset(`fashion-mnist:${dir}`);
  assert.equal(dataset.numTrain, 3);
  assert.equal(dataset.numVal, 2);
  const val = await allVal(dataset, 8);
  assert.deepEqual(Array.from(val.y), [3, 4]);
  assert.ok(Math.abs(val.x[0]! - (1 - 0.28604) / 0.35302) < 1e-5);

  writeFileSync(join(dir, 't10k-labels-idx1-ubyte'), labels([3, 12]));
  await assert.rejects(openDataset(`fashion-mnist:${dir}`), /label 12 at index 1 is outside 0\.\.9/);
  writeFileSync(join(dir, 't10k-labels-idx1-ubyte'), labels([3]));
  await assert.rejects(openDataset(`fashion-mnist:${dir}`), /1 labels for 2 images/);
  await assert.rejects(openDataset(`fashion-mnist:${join(dir, 'missing')}`), /does not exist.*dataset-fashion-mnist/);
  rmSync(dir, { recursive: true });
});
