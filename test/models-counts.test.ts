/**
 * Parameter and multiply-add counts of the model family against the reference table of shared/docs/inception-bn.md
 * (conv and dense weights, BatchNormalization not counted; multiply-adds per image).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../src/backend/backend.ts';
import { countMultiplyAdds, countParams, summarize } from '../src/models/counts.ts';
import { buildModel } from '../src/models/registry.ts';
import type { ModelOptions } from '../src/models/registry.ts';

await selectBackend('cpu', () => {});

interface ReferenceRow {
  what: string;
  name: string;
  options: ModelOptions;
  /** Parameters and multiply-adds exactly as printed in inception-bn.md ('11.27 M', '0.20 G'). */
  params: string;
  multiplyAdds: string;
}

const SMALL_RGB: ModelOptions = { inputShape: [28, 28, 3], classes: 10 };

const REFERENCE: ReferenceRow[] = [
  { what: 'full, width 1', name: 'inception-bn', options: {}, params: '11.27 M', multiplyAdds: '2.03 G' },
  {
    what: 'full, every conv x0.3',
    name: 'inception-bn',
    options: { width: 0.3, widthScope: 'all' },
    params: '1.22 M',
    multiplyAdds: '0.20 G',
  },
  {
    what: 'full, every conv x sqrt(0.3)',
    name: 'inception-bn',
    options: { width: Math.sqrt(0.3), widthScope: 'all' },
    params: '3.61 M',
    multiplyAdds: '0.63 G',
  },
  {
    what: 'full, every conv x sqrt(2)',
    name: 'inception-bn',
    options: { width: Math.SQRT2, widthScope: 'all' },
    params: '21.85 M',
    multiplyAdds: '3.97 G',
  },
  {
    what: 'full, every conv x2',
    name: 'inception-bn',
    options: { width: 2, widthScope: 'all' },
    params: '42.99 M',
    multiplyAdds: '7.89 G',
  },
  {
    what: 'full, modules x sqrt(0.3)',
    name: 'inception-bn',
    options: { width: Math.sqrt(0.3) },
    params: '3.71 M',
    multiplyAdds: '0.95 G',
  },
  { what: 'full, modules x2', name: 'inception-bn', options: { width: 2 }, params: '42.55 M', multiplyAdds: '6.63 G' },
  {
    what: 'full, factorized (deeper teacher)',
    name: 'inception-bn',
    options: { factorized: true },
    params: '9.90 M',
    multiplyAdds: '1.79 G',
  },
  {
    what: 'full, factorized + 2 extra pairs (deeper student)',
    name: 'inception-bn',
    options: { factorized: true, extraPairs: 2 },
    params: '19.60 M',
    multiplyAdds: '3.40 G',
  },
  { what: 'small 28x28x3', name: 'inception-bn-small', options: SMALL_RGB, params: '1.65 M', multiplyAdds: '204 M' },
  {
    what: 'small 32x32x3',
    name: 'inception-bn-small',
    options: { ...SMALL_RGB, inputShape: [32, 32, 3] },
    params: '1.65 M',
    multiplyAdds: '267 M',
  },
  {
    what: 'small, every conv x0.3',
    name: 'inception-bn-small',
    options: { ...SMALL_RGB, width: 0.3, widthScope: 'all' },
    params: '0.145 M',
    multiplyAdds: '18 M',
  },
  {
    what: 'small, every conv x2',
    name: 'inception-bn-small',
    options: { ...SMALL_RGB, width: 2, widthScope: 'all' },
    params: '6.58 M',
    multiplyAdds: '813 M',
  },
];

const UNITS: Record<string, number> = { k: 1e3, M: 1e6, G: 1e9 };

/**
 * Within 1% of a printed reference value, or within half a unit of its last printed digit when that is coarser
 * (0.20 G only says 0.195 G .. 0.205 G).
 */
function assertMatchesPrinted(actual: number, printed: string, what: string): void {
  const match = /^(\d+)(?:\.(\d+))? ([kMG])$/.exec(printed);
  if (!match) throw new Error(`reference '${printed}' for ${what} is not like '11.27 M'`);
  const unit = UNITS[match[3]];
  const value = Number(`${match[1]}.${match[2] ?? '0'}`) * unit;
  const halfDigit = 0.5 * 10 ** -(match[2]?.length ?? 0) * unit;
  const tolerance = Math.max(0.01 * value, halfDigit);
  assert.ok(
    Math.abs(actual - value) <= tolerance,
    `${what}: ${actual} is ${((Math.abs(actual - value) / value) * 100).toFixed(2)}% from the reference ${printed}`,
  );
}

for (const row of REFERENCE) {
  test(`counts match the reference: ${row.what}`, () => {
    const model = buildModel(row.name, row.options);
    try {
      assertMatchesPrinted(countParams(model), row.params, `${row.what} params`);
      assertMatchesPrinted(countMultiplyAdds(model), row.multiplyAdds, `${row.what} multiply-adds`);
    } finally {
      model.dispose();
    }
  });
}

test('summarize agrees with the counters and splits BatchNormalization weights out', () => {
  const tensorsBefore = tf.memory().numTensors;
  const model = buildModel('inception-bn-small', { factorized: true, topPairs: 1 });
  const summary = summarize(model);
  assert.equal(summary.params, countParams(model));
  assert.equal(summary.multiplyAdds, countMultiplyAdds(model));
  assert.equal(summary.params + summary.batchNormParams, model.countParams());
  assert.equal(countParams(model, { includeBatchNorm: true }), model.countParams());
  assert.equal(summary.layers.length, model.layers.length);
  // conv1 on 28x28x1: 3x3x1x96 kernel, 784 output positions.
  const conv1 = summary.layers.find((l) => l.name === 'conv1');
  assert.deepEqual(conv1, {
    name: 'conv1',
    className: 'Conv2D',
    outputShape: [28, 28, 96],
    params: 864,
    multiplyAdds: 864 * 784,
  });
  // Stride 2 quarters the positions: inception_3c/3x3 reads 80 channels, writes 80 at 14x14.
  const down = summary.layers.find((l) => l.name === 'inception_3c/3x3');
  assert.equal(down?.multiplyAdds, 14 * 14 * 9 * 80 * 80);
  const fc = summary.layers.find((l) => l.name === 'fc');
  assert.deepEqual([fc?.params, fc?.multiplyAdds], [336 * 10 + 10, 336 * 10]);
  for (const l of summary.layers.filter((l) => l.className === 'BatchNormalization')) {
    assert.equal(l.multiplyAdds, 0, `${l.name} is not counted`);
  }
  assert.equal(tf.memory().numTensors, tensorsBefore + model.weights.length, 'only the weights are held');
  model.dispose();
  assert.equal(tf.memory().numTensors, tensorsBefore);
});
