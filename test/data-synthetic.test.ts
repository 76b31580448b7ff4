import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../src/backend/backend.ts';
import { openDataset, parseDataSpec } from '../src/data/open-dataset.ts';
import { FASHION_MNIST_DEBIAN_DIR } from '../src/data/fashion-mnist.ts';
import { TrainOrder } from '../src/data/train-order.ts';

await selectBackend('cpu', () => {});

test('parseDataSpec accepts the documented forms and names the bad spec otherwise', () => {
  assert.equal(parseDataSpec('fashion-mnist').kind, 'fashion-mnist');
  assert.deepEqual(parseDataSpec('fashion-mnist:full'), {
    kind: 'fashion-mnist',
    dir: FASHION_MNIST_DEBIAN_DIR,
    source: 'debian',
  });
  assert.deepEqual(parseDataSpec('imagenet:/data/ilsvrc'), { kind: 'imagenet', dir: '/data/ilsvrc' });
  assert.deepEqual(parseDataSpec('folder:/x/y'), { kind: 'folder', dir: '/x/y' });
  assert.deepEqual(parseDataSpec('synthetic:16x12x3:4:100:20'), {
    kind: 'synthetic',
    inputShape: [16, 12, 3],
    classes: 4,
    numTrain: 100,
    numVal: 20,
  });
  assert.equal(parseDataSpec('synthetic').kind, 'synthetic');
  for (const [bad, why] of [
    ['mnist', /bad data spec 'mnist': unknown dataset 'mnist'; accepted forms: fashion-mnist/],
    ['imagenet:', /imagenet needs a folder/],
    ['synthetic:16x16:4', /shape '16x16' must be <H>x<W>x<C>/],
    ['synthetic:16x16x1:1', /class count '1' must be an integer >= 2/],
    ['synthetic:8x8x1:3:many', /train count 'many'/],
  ] as const) {
    assert.throws(() => parseDataSpec(bad), why);
  }
});

test('TrainOrder: each epoch is a permutation; epochs differ; the same seed gives the same order', () => {
  const order = new TrainOrder(50, 3);
  for (const epoch of [0, 1]) {
    const seen = new Set<number>();
    for (let p = epoch * 50; p < (epoch + 1) * 50; p++) seen.add(order.exampleAt(p));
    assert.equal(seen.size, 50);
  }
  assert.notDeepEqual(Array.from(order.permutation(0)), Array.from(order.permutation(1)));
  assert.deepEqual(Array.from(new TrainOrder(50, 3).permutation(1)), Array.from(order.permutation(1)));
  assert.throws(() => new TrainOrder(0, 1), /size must be positive/);
});

test('synthetic data is learnable: a nearest-class-mean classifier fit on train beats chance by far on val', async () => {
  const dataset = await openDataset('synthetic:12x12x3:5:500:100');
  assert.deepEqual(dataset.inputShape, [12, 12, 3]);
  assert.equal(dataset.classNames.length, 5);
  const before = tf.memory().numTensors;
  const size = 12 * 12 * 3;
  const sums = Array.from({ length: 5 }, () => new Float64Array(size));
  const counts = new Array<number>(5).fill(0);
  const train = dataset.trainBatches({ batchSize: 100, seed: 0 });
  for (let i = 0; i < 5; i++) {
    const { value } = await train.next();
    const x = value!.x.dataSync();
    const y = value!.y.dataSync();
    tf.dispose([value!.x, value!.y]);
    for (let j = 0; j < 100; j++) {
      counts[y[j]!]!++;
      for (let k = 0; k < size; k++) sums[y[j]!]![k]! += x[j * size + k]!;
    }
  }
  await train.return?.(undefined);
  assert.deepEqual(counts, [100, 100, 100, 100, 100]);
  const means = sums.map((s, c) => s.map((v) => v / counts[c]!));
  let correct = 0;
  let total = 0;
  for await (const batch of dataset.valBatches(32)) {
    const x = batch.x.dataSync();
    const y = batch.y.dataSync();
    tf.dispose([batch.x, batch.y]);
    for (let j = 0; j < y.length; j++) {
      let best = -1;
      let bestDistance = Infinity;
      means.forEach((m, c) => {
        let d = 0;
        for (let k = 0; k < size; k++) d += (x[j * size + k]! - m[k]!) ** 2;
        if (d < bestDistance) [best, bestDistance] = [c, d];
      });
      correct += best === y[j] ? 1 : 0;
      total++;
    }
  }
  assert.equal(total, 100);
  assert.ok(correct / total > 0.6, `nearest-mean accuracy ${correct / total} (chance 0.2)`);
  assert.equal(tf.memory().numTensors, before);
});

test('synthetic honours classes and limits; the same seed gives the same images', async () => {
  const a = await openDataset('synthetic:8x8x1:6:60:30', { classes: 3, limitTrain: 12, limitVal: 6 });
  assert.equal(a.classNames.length, 3);
  assert.equal(a.numTrain, 12);
  assert.equal(a.numVal, 6);
  const b = await openDataset('synthetic:8x8x1:6:60:30', { classes: 3, limitTrain: 12, limitVal: 6 });
  const first = async (d: typeof a): Promise<number[]> => {
    const it = d.trainBatches({ batchSize: 12, seed: 5 });
    const { value } = await it.next();
    const out = Array.from(value!.x.dataSync() as Float32Array);
    tf.dispose([value!.x, value!.y]);
    await it.return?.(undefined);
    return out;
  };
  assert.deepEqual(await first(a), await first(b));
  const c = await openDataset('synthetic:8x8x1:6:60:30', { classes: 3, limitTrain: 12, limitVal: 6, dataSeed: 1 });
  assert.notDeepEqual(await first(a), await first(c));
  await assert.rejects(openDataset('synthetic:8x8x1:6', { classes: 7 }), /classes 7 is more than the 6/);
});
