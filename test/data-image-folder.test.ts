import { test, after as afterAll, before as beforeAll } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import sharp from 'sharp';
import { selectBackend } from '../src/backend/backend.ts';
import { openDataset } from '../src/data/open-dataset.ts';
import type { OpenDatasetOptions } from '../src/data/open-dataset.ts';
import type { Batch, Dataset } from '../src/data/dataset.ts';
import { exifRotatedJpeg, makeImageFolder } from '../src/data/synthetic-folder.ts';
import type { MadeFolder } from '../src/data/synthetic-folder.ts';
import { IMAGENET_NORMALIZATION } from '../src/data/pixel-normalization.ts';
import { readImageHeader } from '../src/data/image-folder/image-header.ts';

await selectBackend('cpu', () => {});

const root = mkdtempSync(join(tmpdir(), 'n2n-data-folder-'));
const SIZE = 24;
const folders: Record<'classFolders' | 'flatTxt' | 'flatCsv', MadeFolder> = {} as never;

afterAll(() => rmSync(root, { recursive: true, force: true }));

beforeAll(async () => {
  const common = { classes: 3, perClass: 6, valPerClass: 2, width: 120, height: 90, oddFiles: true };
  folders.classFolders = await makeImageFolder(join(root, 'class-folders'), { ...common, valLayout: 'class-folders' });
  folders.flatTxt = await makeImageFolder(join(root, 'flat-txt'), { ...common, valLayout: 'flat-txt', seed: 1 });
  folders.flatCsv = await makeImageFolder(join(root, 'flat-csv'), { ...common, valLayout: 'flat-csv', seed: 2 });
});

async function open(dir: string, options: OpenDatasetOptions = {}): Promise<{ dataset: Dataset; log: string[] }> {
  const log: string[] = [];
  const dataset = await openDataset(`imagenet:${dir}`, {
    imageSize: SIZE,
    maxBadFraction: 0.5,
    cacheDir: join(root, 'cache'),
    log: (line) => log.push(line),
    ...options,
  });
  return { dataset, log };
}

interface Plain {
  x: Float32Array;
  y: Int32Array;
}

async function take(iterator: AsyncIterableIterator<Batch>, count: number): Promise<Plain[]> {
  const out: Plain[] = [];
  for (let i = 0; i < count; i++) {
    const { value, done } = await iterator.next();
    assert.ok(!done && value, 'training batches are endless');
    out.push({ x: value.x.dataSync() as Float32Array, y: value.y.dataSync() as Int32Array });
    tf.dispose([value.x, value.y]);
  }
  await iterator.return?.(undefined);
  return out;
}

async function allVal(dataset: Dataset, batchSize: number): Promise<Plain[]> {
  const out: Plain[] = [];
  for await (const batch of dataset.valBatches(batchSize)) {
    out.push({ x: batch.x.dataSync() as Float32Array, y: batch.y.dataSync() as Int32Array });
    tf.dispose([batch.x, batch.y]);
  }
  return out;
}

function concatX(batches: Plain[]): Float32Array {
  return Float32Array.from(batches.flatMap((b) => Array.from(b.x)));
}

/** Back to 0..255 RGB of pixel (row, col) of image i. */
function rgbAt(x: Float32Array, i: number, row: number, col: number): number[] {
  const o = ((i * SIZE + row) * SIZE + col) * 3;
  return [0, 1, 2].map((c) => (x[o + c]! * IMAGENET_NORMALIZATION.std[c]! + IMAGENET_NORMALIZATION.mean[c]!) * 255);
}

test('class-folder layout: odd files decode, bad files are skipped and listed, batches are full', async () => {
  const made = folders.classFolders;
  const before = tf.memory().numTensors;
  const { dataset, log } = await open(made.dir);
  assert.deepEqual(dataset.classNames, made.classNames, 'the empty class folder is not a class');
  assert.deepEqual(dataset.inputShape, [SIZE, SIZE, 3]);
  assert.equal(dataset.numTrain, made.trainFiles);
  assert.equal(dataset.numVal, made.valFiles);
  const emptyFolder = dataset.skipped.find((s) => s.path.endsWith('n09999999'));
  assert.match(emptyFolder?.reason ?? '', /empty class folder/);
  // two epochs of training: every file is tried
  const batches = await take(dataset.trainBatches({ batchSize: 8, seed: 0 }), Math.ceil((2 * made.trainFiles) / 8));
  for (const b of batches) {
    assert.equal(b.y.length, 8);
    assert.equal(b.x.length, 8 * SIZE * SIZE * 3);
    assert.ok(b.x.every(Number.isFinite));
    assert.ok(b.y.every((l) => l >= 0 && l < 3));
  }
  const val = await allVal(dataset, 2);
  assert.deepEqual(
    val.map((b) => b.y.length),
    [2, 2, 2],
    'the bad val file is left out and the batches refilled; only the last may be short',
  );
  const skippedFiles = new Map(dataset.skipped.map((s) => [s.path, s.reason]));
  for (const odd of made.oddFiles) {
    const reason = skippedFiles.get(join(made.dir, odd.path));
    if (odd.decodable) assert.equal(reason, undefined, `${odd.kind} must decode`);
    else assert.ok(reason, `${odd.kind} must be skipped`);
  }
  assert.match(
    skippedFiles.get(join(made.dir, 'train', made.classNames[1]!, `${made.classNames[1]}_empty.JPEG`))!,
    /zero-byte/,
  );
  assert.match(
    skippedFiles.get(join(made.dir, 'train', made.classNames[1]!, `${made.classNames[1]}_truncated.JPEG`))!,
    /truncated/,
  );
  assert.match(
    skippedFiles.get(join(made.dir, 'train', made.classNames[2]!, `${made.classNames[2]}_text.JPEG`))!,
    /unsupported image format/,
  );
  assert.equal(dataset.skipped.length, 1 + made.oddFiles.filter((f) => !f.decodable).length);
  assert.ok(
    log.some((l) => /skipped .*_truncated\.JPEG/.test(l)),
    'skips are logged',
  );
  await dataset.close();
  assert.equal(tf.memory().numTensors, before, 'no tensor left behind');
});

test('flat val with a text labels file (wnids and indices) and with LOC_val_solution.csv; unknown labels skipped', async () => {
  for (const made of [folders.flatTxt, folders.flatCsv]) {
    const { dataset, log } = await open(made.dir);
    assert.ok(log[0]!.includes(`flat-with-labels from ${join(made.dir, made.labelsFile!)}`), log[0]);
    // val files: 6 labelled + 1 truncated (labelled) + 1 with an unknown label (not in the dataset)
    assert.equal(dataset.numVal, made.valFiles - 1);
    const unknown = dataset.skipped.find((s) => s.reason.includes("label 'n00000001'"));
    assert.ok(unknown, 'unknown label listed');
    const val = await allVal(dataset, 4);
    const labels = val.flatMap((b) => Array.from(b.y));
    assert.deepEqual(
      labels,
      [0, 0, 1, 1, 2, 2],
      `${made.labelsFile}: val labels in file order, truncated file left out`,
    );
    await dataset.close();
  }
});

test('validation decoding: colours and EXIF orientation are right; CMYK/grey/PNG give sensible pixels', async () => {
  const dir = join(root, 'orientation');
  mkdirSync(join(dir, 'train', 'a'), { recursive: true });
  mkdirSync(join(dir, 'val', 'a'), { recursive: true });
  const solid = (r: number, g: number, b: number): Promise<Buffer> =>
    sharp({ create: { width: 80, height: 60, channels: 3, background: { r, g, b } } })
      .jpeg({ quality: 95 })
      .toBuffer();
  writeFileSync(join(dir, 'train', 'a', 'solid.JPEG'), await solid(200, 100, 50));
  writeFileSync(join(dir, 'val', 'a', '1_exif6.JPEG'), await exifRotatedJpeg(60, 40));
  writeFileSync(join(dir, 'val', 'a', '2_solid.JPEG'), await solid(200, 100, 50));
  writeFileSync(
    join(dir, 'val', 'a', '3_cmyk.JPEG'),
    await sharp(await solid(200, 100, 50))
      .toColourspace('cmyk')
      .jpeg()
      .toBuffer(),
  );
  writeFileSync(
    join(dir, 'val', 'a', '4_grey.JPEG'),
    await sharp(await solid(200, 100, 50))
      .toColourspace('b-w')
      .jpeg()
      .toBuffer(),
  );
  writeFileSync(
    join(dir, 'val', 'a', '5_png.JPEG'),
    await sharp(await solid(200, 100, 50))
      .png()
      .toBuffer(),
  );
  const { dataset } = await open(dir, { cacheDir: null });
  const [val] = await allVal(dataset, 8);
  assert.equal(val!.y.length, 5);
  assert.equal(dataset.skipped.length, 0);
  // stored 60x40 with red left / blue right, orientation 6 (90 degrees clockwise): upright, red is on top
  const topLeft = rgbAt(val!.x, 0, 1, 1);
  const bottomLeft = rgbAt(val!.x, 0, SIZE - 2, 1);
  const topRight = rgbAt(val!.x, 0, 1, SIZE - 2);
  assert.ok(topLeft[0]! > 200 && topLeft[2]! < 50, `top-left is red: ${topLeft}`);
  assert.ok(topRight[0]! > 200 && topRight[2]! < 50, `top-right is red: ${topRight}`);
  assert.ok(bottomLeft[2]! > 200 && bottomLeft[0]! < 50, `bottom-left is blue: ${bottomLeft}`);
  for (const [i, what, tolerance] of [
    [1, 'solid RGB', 4],
    [2, 'CMYK', 25],
    [4, 'PNG named .JPEG', 4],
  ] as const) {
    const rgb = rgbAt(val!.x, i, SIZE / 2, SIZE / 2);
    [200, 100, 50].forEach((want, c) =>
      assert.ok(Math.abs(rgb[c]! - want) < tolerance, `${what}: ${rgb} vs 200,100,50`),
    );
  }
  const grey = rgbAt(val!.x, 3, SIZE / 2, SIZE / 2);
  assert.ok(
    Math.abs(grey[0]! - grey[1]!) < 2 && Math.abs(grey[1]! - grey[2]!) < 2 && grey[0]! > 90 && grey[0]! < 150,
    `grey: ${grey}`,
  );
  await dataset.close();
});

test('training crops and flips come from (seed, position): mirrored copies appear, and repeat identically', async () => {
  const dir = join(root, 'flip');
  mkdirSync(join(dir, 'train', 'a'), { recursive: true });
  const raw = Buffer.alloc(64 * 64 * 3);
  for (let y = 0; y < 64; y++) for (let x = 0; x < 64; x++) raw[(y * 64 + x) * 3 + (x < 32 ? 0 : 2)] = 255;
  writeFileSync(
    join(dir, 'train', 'a', 'split.JPEG'),
    await sharp(raw, { raw: { width: 64, height: 64, channels: 3 } })
      .jpeg()
      .toBuffer(),
  );
  const options = { cacheDir: null, crop: { area: [1, 1], aspect: [1, 1] } } as const;
  const { dataset } = await open(dir, options);
  const [batch] = await take(dataset.trainBatches({ batchSize: 16, seed: 4 }), 1);
  const redLeft = Array.from({ length: 16 }, (_, i) => rgbAt(batch!.x, i, SIZE / 2, 2)[0]! > 128);
  assert.ok(redLeft.includes(true) && redLeft.includes(false), `both orientations: ${redLeft}`);
  const again = await open(dir, { ...options, concurrency: 3 });
  const [repeat] = await take(again.dataset.trainBatches({ batchSize: 16, seed: 4 }), 1);
  assert.deepEqual(repeat!.x, batch!.x);
  // the random-resized crop with Inception ranges gives varied crops of the same image
  const inception = await open(dir, { cacheDir: null });
  const [zoomed] = await take(inception.dataset.trainBatches({ batchSize: 16, seed: 4 }), 1);
  assert.notDeepEqual(zoomed!.x, batch!.x);
});

test('the order and values are the same with concurrency 1 and 8, on the main thread and 3 decode threads; a resumed run continues the same sequence', async () => {
  const dir = folders.classFolders.dir;
  const a = await open(dir, { concurrency: 1, prefetchBatches: 1, decodeThreads: 0 });
  const b = await open(dir, { concurrency: 8, prefetchBatches: 4, decodeThreads: 3 });
  const runA = await take(a.dataset.trainBatches({ batchSize: 5, seed: 11 }), 12); // 60 positions > 2 epochs of 25
  const runB = await take(b.dataset.trainBatches({ batchSize: 5, seed: 11 }), 12);
  assert.deepEqual(concatX(runB), concatX(runA));
  assert.deepEqual(
    runB.flatMap((r) => Array.from(r.y)),
    runA.flatMap((r) => Array.from(r.y)),
  );
  const resumed = await take(b.dataset.trainBatches({ batchSize: 5, seed: 11, start: 23 }), 7); // positions 23..57
  const perImage = SIZE * SIZE * 3;
  assert.deepEqual(concatX(resumed), concatX(runA).subarray(23 * perImage, 58 * perImage));
  const valA = await allVal(a.dataset, 3);
  const valB = await allVal(b.dataset, 3);
  assert.deepEqual(concatX(valB), concatX(valA));
  await a.dataset.close();
  await b.dataset.close();
});

test('too many bad files, nothing usable, a missing folder, a flat val without labels: clear errors', async () => {
  await assert.rejects(
    (async () => {
      const { dataset } = await open(folders.classFolders.dir, { maxBadFraction: 0.05 });
      await take(dataset.trainBatches({ batchSize: 8, seed: 0 }), 8);
    })(),
    /files are bad, more than the allowed fraction 0\.05/,
  );
  const allBad = join(root, 'all-bad');
  mkdirSync(join(allBad, 'train', 'x'), { recursive: true });
  for (let i = 0; i < 3; i++) writeFileSync(join(allBad, 'train', 'x', `${i}.JPEG`), 'not an image');
  await assert.rejects(
    (async () => {
      const { dataset } = await open(allBad, { maxBadFraction: 1, cacheDir: null });
      await take(dataset.trainBatches({ batchSize: 2, seed: 0 }), 1);
    })(),
    /all bad|no decodable training image/,
  );
  await assert.rejects(open(join(root, 'does-not-exist')), /imagenet:.*does-not-exist.*cannot be read/);
  const noTrain = join(root, 'no-train');
  mkdirSync(join(noTrain, 'val'), { recursive: true });
  await assert.rejects(open(noTrain, { cacheDir: null }), /no train\/ folder/);
  const noLabels = join(root, 'no-labels');
  mkdirSync(join(noLabels, 'train', 'a'), { recursive: true });
  mkdirSync(join(noLabels, 'val'), { recursive: true });
  writeFileSync(join(noLabels, 'train', 'a', '1.JPEG'), 'x');
  writeFileSync(join(noLabels, 'val', '1.JPEG'), 'x');
  await assert.rejects(open(noLabels, { cacheDir: null }), /val\/ is flat but no labels file was found/);
});

test('class subset and image limit; folder: without train/ holds out every 10th image', async () => {
  const { dataset } = await open(folders.flatTxt.dir, { classes: 2, limitTrain: 6 });
  assert.deepEqual(dataset.classNames, folders.flatTxt.classNames.slice(0, 2));
  assert.equal(dataset.numTrain, 6);
  const [batch] = await take(dataset.trainBatches({ batchSize: 6, seed: 0 }), 1);
  assert.deepEqual(Array.from(batch!.y).sort(), [0, 0, 0, 1, 1, 1]);
  const listed = await open(folders.flatTxt.dir, { classList: [folders.flatTxt.classNames[2]!] });
  assert.equal(listed.dataset.numVal, 2, 'class 2 has two val images');
  assert.deepEqual(listed.dataset.classNames, [folders.flatTxt.classNames[2]]);
  const plain = join(root, 'plain-folder');
  await makeImageFolder(plain, { classes: 2, perClass: 10, valPerClass: 1, width: 40, height: 30 });
  const folder = await openDataset(`folder:${join(plain, 'train')}`, { imageSize: SIZE, cacheDir: null });
  assert.equal(folder.numTrain, 18);
  assert.equal(folder.numVal, 2);
});

test('the file-list cache answers unchanged directories and notices a new file', async () => {
  const dir = join(root, 'cached');
  await makeImageFolder(dir, { classes: 2, perClass: 3, valPerClass: 1, width: 40, height: 30 });
  const cacheDir = join(root, 'cache-test');
  const first = await open(dir, { cacheDir });
  assert.match(first.log[0]!, /directories 7 read, 0 from the cache/);
  assert.equal(readdirSync(cacheDir).length, 1);
  const second = await open(dir, { cacheDir });
  assert.match(second.log[0]!, /directories 0 read, 7 from the cache/);
  assert.equal(second.dataset.numTrain, 6);
  await new Promise((r) => setTimeout(r, 20));
  writeFileSync(
    join(dir, 'train', 'n01440764', 'extra.JPEG'),
    await sharp({ create: { width: 8, height: 8, channels: 3, background: 'red' } })
      .jpeg()
      .toBuffer(),
  );
  const third = await open(dir, { cacheDir });
  assert.match(third.log[0]!, /directories 1 read, 6 from the cache/);
  assert.equal(third.dataset.numTrain, 7);
  rmSync(cacheDir, { recursive: true });
});

test('the JavaScript header reader agrees with sharp on size and orientation, and declines what it cannot read', async () => {
  const made = folders.classFolders;
  const base = await sharp({ create: { width: 37, height: 23, channels: 3, background: 'green' } })
    .jpeg()
    .toBuffer();
  const samples: [string, Buffer][] = [
    ...made.oddFiles
      .filter((f) => f.decodable)
      .map((f) => [f.kind, readFileSync(join(made.dir, f.path))] as [string, Buffer]),
    ['progressive', await sharp(base).jpeg({ progressive: true }).toBuffer()],
    ['exif-8', await sharp(base).withMetadata({ orientation: 8 }).jpeg().toBuffer()],
    ['exif-3', await sharp(base).withMetadata({ orientation: 3 }).jpeg().toBuffer()],
    ['png-alpha', await sharp(base).ensureAlpha().png().toBuffer()],
  ];
  for (const [kind, bytes] of samples) {
    const meta = await sharp(bytes).metadata();
    assert.deepEqual(
      readImageHeader(bytes),
      { width: meta.width, height: meta.height, orientation: meta.orientation ?? 1 },
      kind,
    );
  }
  assert.equal(readImageHeader(Buffer.from('this is not an image')), null);
  assert.equal(readImageHeader(base.subarray(0, 20)), null);
  assert.equal(readImageHeader(await sharp(base).webp().toBuffer()), null);
});

test('close() ends open batch streams and leaves no tensors or pending work', async () => {
  const before = tf.memory().numTensors;
  const { dataset } = await open(folders.classFolders.dir, { concurrency: 4, prefetchBatches: 2 });
  const train = dataset.trainBatches({ batchSize: 4, seed: 2 });
  const first = await train.next();
  tf.dispose([first.value!.x, first.value!.y]);
  const val = dataset.valBatches(2);
  const firstVal = await val.next();
  tf.dispose([firstVal.value!.x, firstVal.value!.y]);
  await dataset.close();
  assert.deepEqual(await train.next(), { done: true, value: undefined });
  assert.deepEqual(await val.next(), { done: true, value: undefined });
  assert.equal(tf.memory().numTensors, before);
});
