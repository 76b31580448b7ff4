/**
 * The one seeded generator keeps both streams that results depend on: 'splitmix32' (data order, crops, generated
 * images) and 'mulberry32' (the net2net operators' mappings and noise). The pinned values are what each stream gave
 * before the data and net2net generator classes were merged into one: a change here changes what a recorded seed
 * reproduces.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SeededRandom } from '../src/random/seeded-random.ts';

test('splitmix32 (the default) gives the data pipeline its pinned stream', () => {
  const r = new SeededRandom(42);
  assert.deepEqual(
    [r.next(), r.next(), r.int(1000), r.uniform(-1, 1)],
    [0.12848330102860928, 0.03353364090435207, 75, 0.4131932379677892],
  );
});

test('mulberry32 gives the net2net operators their pinned stream, normals in pairs and derived seeds', () => {
  const r = new SeededRandom(42, 'mulberry32');
  assert.deepEqual([r.next(), r.next(), r.int(1000)], [0.6011037519201636, 0.44829055899754167, 852]);
  const n = new SeededRandom(7, 'mulberry32');
  assert.deepEqual([n.normal(), n.normal(), n.normal()], [2.759372987028844, 1.131981118666697, -0.06805135650735404]);
  assert.equal(new SeededRandom(42, 'mulberry32').derive('weights:conv1'), 304013395);
});

test('int(n) stays in [0, n) and uniform in [low, high) on both streams', () => {
  for (const algorithm of ['splitmix32', 'mulberry32'] as const) {
    const r = new SeededRandom(3, algorithm);
    for (let i = 0; i < 2000; i++) {
      const k = r.int(7);
      assert.ok(Number.isInteger(k) && k >= 0 && k < 7, `${algorithm}: int(7) gave ${k}`);
      const u = r.uniform(-2, 5);
      assert.ok(u >= -2 && u < 5, `${algorithm}: uniform(-2, 5) gave ${u}`);
    }
  }
});
