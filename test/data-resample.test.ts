import { test } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import { CropResampler } from '../src/data/image-folder/resample-crop.ts';
import type { ChannelAffine } from '../src/data/image-folder/resample-crop.ts';
import { SeededRandom } from '../src/random/seeded-random.ts';

const IDENTITY: ChannelAffine = { scale: [1, 1, 1], bias: [0, 0, 0] };

/** Pillow's BILINEAR taps of one axis, written plainly (double precision, no tables). */
function referenceWeights(source: number, target: number): number[][] {
  const scale = source / target;
  const filterScale = Math.max(1, scale);
  return Array.from({ length: target }, (_, i) => {
    const centre = (i + 0.5) * scale;
    const lo = Math.max(0, Math.floor(centre - filterScale + 0.5));
    const hi = Math.min(source, Math.floor(centre + filterScale + 0.5));
    const w = new Array<number>(source).fill(0);
    for (let j = lo; j < hi; j++) w[j] = Math.max(0, 1 - Math.abs((j + 0.5 - centre) / filterScale));
    const total = w.reduce((a, b) => a + b, 0);
    return w.map((v) => v / total);
  });
}

function referenceResample(
  src: Uint8Array,
  width: number,
  height: number,
  size: number,
  flip: boolean,
  affine: ChannelAffine,
): Float64Array {
  const wx = referenceWeights(width, size);
  const wy = referenceWeights(height, size);
  const out = new Float64Array(size * size * 3);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      for (let c = 0; c < 3; c++) {
        let v = 0;
        for (let j = 0; j < height; j++) {
          if (wy[y]![j] === 0) continue;
          for (let i = 0; i < width; i++) v += wy[y]![j]! * wx[x]![i]! * src[(j * width + i) * 3 + c]!;
        }
        const ox = flip ? size - 1 - x : x;
        out[(y * size + ox) * 3 + c] = Math.min(v, 255) * affine.scale[c]! + affine.bias[c]!;
      }
    }
  }
  return out;
}

function randomImage(width: number, height: number, rng: SeededRandom): Uint8Array {
  return Uint8Array.from({ length: width * height * 3 }, () => Math.floor(rng.next() * 256));
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

test('a two-pixel row enlarged to four: the bilinear values Pillow gives (0, 63.75, 191.25, 255)', () => {
  const src = Uint8Array.from([0, 0, 0, 255, 255, 255]);
  const out = new Float32Array(4 * 4 * 3);
  new CropResampler().resample(src, 2, 1, 4, false, IDENTITY, out, 0);
  for (let y = 0; y < 4; y++) {
    assert.deepEqual(
      Array.from({ length: 4 }, (_, x) => out[(y * 4 + x) * 3]),
      [0, 63.75, 191.25, 255],
    );
  }
});

test('equals the plain Pillow formula on enlargements, reductions, odd sizes and one-pixel sources, flipped and normalized', () => {
  const rng = new SeededRandom(7);
  const resampler = new CropResampler();
  const affine: ChannelAffine = { scale: [1 / 58, 1 / 57, 1 / 57.5], bias: [-2.1, -2.0, -1.8] };
  const shapes: [number, number, number][] = [
    [1, 1, 5],
    [1, 9, 7],
    [9, 1, 7],
    [3, 2, 13],
    [17, 11, 13],
    [40, 30, 24],
    [64, 64, 24],
    [101, 77, 24],
    [24, 24, 24],
    [7, 50, 16],
    [130, 9, 12],
  ];
  let worst = 0;
  for (const [w, h, size] of shapes) {
    const src = randomImage(w, h, rng);
    for (const flip of [false, true]) {
      const got = new Float32Array(size * size * 3 + 6).fill(-99);
      resampler.resample(src, w, h, size, flip, affine, got, 3);
      assert.equal(got[0], -99, 'nothing written before the offset');
      assert.equal(got[got.length - 1], -99, 'nothing written after the image');
      const diff = maxAbsDiff(got.subarray(3, 3 + size * size * 3), referenceResample(src, w, h, size, flip, affine));
      assert.ok(diff < 2e-4, `${w}x${h} -> ${size} flip=${flip}: max |diff| ${diff}`);
      worst = Math.max(worst, diff);
    }
  }
  assert.ok(worst > 0, 'float32 arithmetic differs from the double reference somewhere (the comparison is real)');
});

test('memory reuse: after a large crop, small crops give the same values as a fresh resampler', () => {
  const rng = new SeededRandom(3);
  const reused = new CropResampler();
  const big = randomImage(500, 375, rng);
  reused.resample(big, 500, 375, 224, true, IDENTITY, new Float32Array(224 * 224 * 3), 0);
  for (const [w, h] of [
    [1, 1],
    [5, 3],
    [31, 40],
  ] as const) {
    const src = randomImage(w, h, rng);
    const a = new Float32Array(16 * 16 * 3);
    const b = new Float32Array(16 * 16 * 3);
    reused.resample(src, w, h, 16, false, IDENTITY, a, 0);
    new CropResampler().resample(src, w, h, 16, false, IDENTITY, b, 0);
    assert.deepEqual(a, b, `${w}x${h}`);
    assert.ok(a.every(Number.isFinite));
  }
});

test('close to libvips: a photo-like image reduced differs from sharp linear by under a level on average', async () => {
  // (enlargements are compared with the formula only: libvips enlarges with other pixel-centre conventions)
  const rng = new SeededRandom(11);
  for (const [w, h, size] of [
    [300, 240, 128],
    [375, 375, 224],
  ] as const) {
    // smooth gradients plus a little noise: filters differ most on noise, least on smooth content
    const src = new Uint8Array(w * h * 3);
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++)
        for (let c = 0; c < 3; c++) {
          const v = 128 + 100 * Math.sin((x * (c + 1)) / 17 + y / 23) + (rng.next() - 0.5) * 10;
          src[(y * w + x) * 3 + c] = Math.max(0, Math.min(255, Math.round(v)));
        }
    const ours = new Float32Array(size * size * 3);
    new CropResampler().resample(src, w, h, size, false, IDENTITY, ours, 0);
    const theirs = await sharp(src, { raw: { width: w, height: h, channels: 3 } })
      .resize(size, size, { fit: 'fill', kernel: 'linear' })
      .raw()
      .toBuffer();
    let sum = 0;
    for (let i = 0; i < ours.length; i++) sum += Math.abs(ours[i]! - theirs[i]!);
    const mean = sum / ours.length;
    assert.ok(mean < 1, `${w}x${h} -> ${size}: mean |ours - sharp| = ${mean.toFixed(3)} levels`);
  }
});

test('bad arguments name the problem', () => {
  const r = new CropResampler();
  assert.throws(
    () => r.resample(new Uint8Array(10), 2, 2, 4, false, IDENTITY, new Float32Array(48), 0),
    /10 bytes are fewer than a 2x2x3 image/,
  );
  assert.throws(
    () => r.resample(new Uint8Array(12), 2, 2, 4, false, IDENTITY, new Float32Array(40), 0),
    /no room for 4x4x3 values/,
  );
  assert.throws(() => r.resample(new Uint8Array(12), 0, 2, 4, false, IDENTITY, new Float32Array(48), 0), /bad sizes/);
});
