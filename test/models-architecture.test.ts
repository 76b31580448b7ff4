/**
 * The model family's architecture: shapes and channel counts from the tables of shared/docs/inception-bn.md, stable
 * layer names, conv-BN-ReLU blocks, factorized/extra/top pairs, width rules, option errors and seeded init.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../src/backend/backend.ts';
import { MODEL_NAMES, buildModel } from '../src/models/registry.ts';
import { extraPairInserts, topPairInserts } from '../src/models/student-inserts.ts';

await selectBackend('cpu', () => {});

function outputShape(model: tf.LayersModel, name: string): number[] {
  return (model.getLayer(name).outputShape as number[]).slice(1);
}

function filters(model: tf.LayersModel, name: string): number {
  return Number(model.getLayer(name).getConfig()['filters']);
}

function inputsOf(model: tf.LayersModel, name: string): string[] {
  return model.getLayer(name).inboundNodes.flatMap((node) => node.inboundLayers.map((l) => l.name));
}

function layerNames(model: tf.LayersModel): string[] {
  return model.layers.map((l) => l.name);
}

const FULL_MODULES: [string, number, number][] = [
  ['inception_3a', 28, 256],
  ['inception_3b', 28, 320],
  ['inception_3c', 14, 576],
  ['inception_4a', 14, 576],
  ['inception_4b', 14, 576],
  ['inception_4c', 14, 608],
  ['inception_4d', 14, 608],
  ['inception_4e', 7, 1056],
  ['inception_5a', 7, 1024],
  ['inception_5b', 7, 1024],
];

test('the full network has the BN-Inception shapes, names and a logits head', () => {
  const model = buildModel('inception-bn');
  assert.deepEqual(outputShape(model, 'conv1/7x7_s2'), [112, 112, 64]);
  assert.deepEqual(outputShape(model, 'pool1/3x3_s2'), [56, 56, 64]);
  assert.deepEqual(outputShape(model, 'conv2/3x3_reduce'), [56, 56, 64]);
  assert.deepEqual(outputShape(model, 'conv2/3x3'), [56, 56, 192]);
  assert.deepEqual(outputShape(model, 'pool2/3x3_s2'), [28, 28, 192]);
  for (const [m, grid, channels] of FULL_MODULES) {
    assert.deepEqual(outputShape(model, `${m}/output`), [grid, grid, channels], m);
    assert.equal(model.getLayer(`${m}/concat`).getClassName(), 'Concatenate');
    assert.equal(model.getLayer(`${m}/output`).getClassName(), 'ReLU');
  }
  assert.deepEqual(inputsOf(model, 'inception_4a/3x3_reduce'), ['inception_3c/output']);
  // 3c: the pool passes 3b's 320 channels through at stride 2; 160 + 96 + 320 = 576.
  assert.deepEqual(outputShape(model, 'inception_3c/pool'), [14, 14, 320]);
  assert.deepEqual(inputsOf(model, 'inception_3c/concat'), [
    'inception_3c/3x3/relu',
    'inception_3c/double_3x3_2/relu',
    'inception_3c/pool',
  ]);
  assert.equal(model.getLayer('inception_5b/pool').getClassName(), 'MaxPooling2D');
  assert.equal(model.getLayer('inception_5a/pool').getClassName(), 'AveragePooling2D');
  assert.deepEqual(model.getLayer('inception_4d/pool').getConfig()['strides'], [1, 1]);
  assert.deepEqual(model.getLayer('inception_4e/3x3').getConfig()['strides'], [2, 2]);
  assert.deepEqual(model.getLayer('inception_4e/double_3x3_2').getConfig()['strides'], [2, 2]);
  assert.deepEqual(model.getLayer('inception_4e/double_3x3_1').getConfig()['strides'], [1, 1]);
  assert.equal(filters(model, 'inception_4a/pool_proj'), 128);
  const fc = model.getLayer('fc');
  assert.equal(fc.getClassName(), 'Dense');
  assert.equal(fc.getConfig()['activation'], 'linear');
  assert.equal(fc.getConfig()['useBias'], true);
  assert.deepEqual(inputsOf(model, 'fc'), ['global_pool']);
  assert.deepEqual(model.outputs[0].shape, [null, 1000]);
  assert.equal(model.outputs[0].sourceLayer.name, 'fc');
  assert.ok(!model.layers.some((l) => ['Dropout', 'Softmax'].includes(l.getClassName())), 'no dropout, no softmax');
  model.dispose();
});

test('every conv is a conv-BN-ReLU block: N (no bias, same padding) -> N/bn -> N/relu', () => {
  const model = buildModel('inception-bn-small', { factorized: true, extraPairs: 1, topPairs: 1 });
  const convs = model.layers.filter((l) => l.getClassName() === 'Conv2D');
  assert.ok(convs.length > 30);
  for (const conv of convs) {
    const config = conv.getConfig();
    assert.equal(config['useBias'], false, conv.name);
    assert.equal(config['padding'], 'same', conv.name);
    assert.deepEqual(inputsOf(model, `${conv.name}/bn`), [conv.name]);
    const bn = model.getLayer(`${conv.name}/bn`).getConfig();
    assert.equal(bn['scale'], true);
    assert.equal(bn['center'], true);
    assert.deepEqual(inputsOf(model, `${conv.name}/relu`), [`${conv.name}/bn`]);
    assert.equal(model.getLayer(`${conv.name}/relu`).getClassName(), 'ReLU');
  }
  assert.equal(new Set(layerNames(model)).size, model.layers.length, 'layer names are unique');
  model.dispose();
});

test('the small network has the MXNet 28-small shapes at any input size and class count', () => {
  const model = buildModel('inception-bn-small');
  assert.deepEqual(model.inputs[0].shape, [null, 28, 28, 1]);
  assert.deepEqual(model.outputs[0].shape, [null, 10]);
  const expected: [string, number, number][] = [
    ['inception_3a', 28, 64],
    ['inception_3b', 28, 80],
    ['inception_3c', 14, 160],
    ['inception_4a', 14, 160],
    ['inception_4b', 14, 160],
    ['inception_4c', 14, 160],
    ['inception_4d', 14, 144],
    ['inception_4e', 7, 240],
    ['inception_5a', 7, 336],
    ['inception_5b', 7, 336],
  ];
  for (const [m, grid, channels] of expected)
    assert.deepEqual(outputShape(model, `${m}/output`), [grid, grid, channels]);
  assert.deepEqual(outputShape(model, 'conv1'), [28, 28, 96]);
  assert.deepEqual(inputsOf(model, 'inception_3c/concat'), ['inception_3c/3x3/relu', 'inception_3c/pool']);
  model.dispose();
  const other = buildModel('inception-bn-small', { inputShape: [33, 20, 3], classes: 7 });
  assert.deepEqual(outputShape(other, 'inception_5b/output'), [9, 5, 336]);
  assert.deepEqual(other.outputs[0].shape, [null, 7]);
  other.dispose();
});

test('factorized: every stride-1 3x3 in the modules becomes a 3x1 -> 1x3 pair (26 in the full net, 8 in the small)', () => {
  for (const [name, pairs] of [
    ['inception-bn', 26],
    ['inception-bn-small', 8],
  ] as const) {
    const model = buildModel(name, { factorized: true });
    const verticals = model.layers.filter((l) => l.name.endsWith('/3x1') && l.getClassName() === 'Conv2D');
    assert.equal(verticals.length, pairs, name);
    for (const v of verticals) {
      assert.deepEqual(v.getConfig()['kernelSize'], [3, 1]);
      const n = v.name.slice(0, -'/3x1'.length);
      assert.deepEqual(inputsOf(model, `${n}/1x3`), [`${n}/3x1/relu`]);
      assert.deepEqual(model.getLayer(`${n}/1x3`).getConfig()['kernelSize'], [1, 3]);
      assert.equal(filters(model, `${n}/1x3`), filters(model, `${n}/3x1`));
    }
    // Only strided 3x3 convs (and the stem's) stay square.
    const square = model.layers.filter(
      (l) => l.getClassName() === 'Conv2D' && JSON.stringify(l.getConfig()['kernelSize']) === '[3,3]',
    );
    for (const conv of square) {
      const stride = (conv.getConfig()['strides'] as number[])[0];
      assert.ok(stride === 2 || !conv.name.startsWith('inception_'), `${conv.name} should be factorized`);
    }
    model.dispose();
  }
  const full = buildModel('inception-bn', { factorized: true });
  assert.deepEqual(inputsOf(full, 'inception_3a/double_3x3_2/3x1'), ['inception_3a/double_3x3_1/1x3/relu']);
  assert.equal(filters(full, 'inception_3b/3x3/3x1'), 96);
  assert.deepEqual(inputsOf(full, 'inception_3c/double_3x3_2'), ['inception_3c/double_3x3_1/1x3/relu']);
  full.dispose();
});

test('extraPairs and topPairs add C -> C pairs with derived names, wired as deeper wires them', () => {
  const deeperModel = buildModel('inception-bn', { factorized: true, extraPairs: 2 });
  const pairs = deeperModel.layers.filter((l) => l.name.endsWith('/3x1') && l.getClassName() === 'Conv2D');
  assert.equal(pairs.length, 26 * 3);
  assert.deepEqual(inputsOf(deeperModel, 'inception_3a/3x3/extra1/3x1'), ['inception_3a/3x3/1x3/relu']);
  assert.deepEqual(inputsOf(deeperModel, 'inception_3a/3x3/extra2/3x1'), ['inception_3a/3x3/extra1/1x3/relu']);
  assert.deepEqual(inputsOf(deeperModel, 'inception_3a/concat')[1], 'inception_3a/3x3/extra2/1x3/relu');
  assert.equal(filters(deeperModel, 'inception_5b/double_3x3_2/extra2/1x3'), 224);
  deeperModel.dispose();

  const explore = buildModel('inception-bn-small', { topPairs: 4, width: Math.SQRT2 });
  const tops = explore.layers.filter((l) => /\/top\d+\/3x1$/.test(l.name));
  assert.equal(tops.length, 10 * 4);
  assert.deepEqual(inputsOf(explore, 'inception_3a/top1/3x1'), ['inception_3a/output']);
  assert.deepEqual(inputsOf(explore, 'inception_3a/top4/3x1'), ['inception_3a/top3/1x3/relu']);
  assert.deepEqual(inputsOf(explore, 'inception_3b/1x1'), ['inception_3a/top4/1x3/relu']);
  assert.deepEqual(inputsOf(explore, 'global_pool'), ['inception_5b/top4/1x3/relu']);
  // 3a at width sqrt(2): floor(32 * 1.414) = 45 twice.
  assert.equal(filters(explore, 'inception_3a/top2/1x3'), 90);
  explore.dispose();
});

test('width: floor(c * w), stem kept in the modules scope, scaled with a minimum in the all scope', () => {
  const teacher = buildModel('inception-bn', { width: Math.sqrt(0.3) });
  assert.equal(filters(teacher, 'conv1/7x7_s2'), 64);
  assert.equal(filters(teacher, 'conv2/3x3'), 192);
  assert.equal(filters(teacher, 'inception_3a/1x1'), 35); // 64 * 0.5477 = 35.05
  assert.equal(filters(teacher, 'inception_4a/1x1'), 122); // 224 * 0.5477 = 122.69
  assert.equal(teacher.getLayer('fc').getConfig()['units'], 1000);
  teacher.dispose();
  const tiny = buildModel('inception-bn', { width: 0.1, widthScope: 'all' });
  assert.equal(filters(tiny, 'conv1/7x7_s2'), 16, 'the full network keeps at least 16 channels');
  assert.equal(filters(tiny, 'inception_5a/1x1'), 35);
  tiny.dispose();
  const small = buildModel('inception-bn-small', { width: 0.03, widthScope: 'all' });
  assert.equal(filters(small, 'conv1'), 2);
  assert.equal(filters(small, 'inception_3a/1x1'), 1, 'the small network keeps at least 1 channel');
  small.dispose();
});

test('unknown names and invalid options throw errors that name the value', () => {
  assert.deepEqual([...MODEL_NAMES], ['inception-bn', 'inception-bn-small']);
  assert.throws(() => buildModel('resnet'), /unknown model 'resnet'.*inception-bn, inception-bn-small/);
  assert.throws(() => buildModel('inception-bn-small', { width: 0 }), /width = 0/);
  assert.throws(() => buildModel('inception-bn-small', { extraPairs: 2 }), /extraPairs = 2 needs factorized/);
  assert.throws(() => buildModel('inception-bn-small', { topPairs: 1.5 }), /topPairs = 1.5/);
  assert.throws(() => buildModel('inception-bn-small', { classes: 0 }), /classes = 0/);
  assert.throws(
    () => buildModel('inception-bn-small', { widthScope: 'stem' as 'all' }),
    /widthScope = 'stem'.*modules, all/,
  );
  assert.throws(() => buildModel('inception-bn-small', { inputShape: [28, 28] as never }), /inputShape/);
});

test('a seed makes initialization reproducible, per layer name across variants', () => {
  const kernel = (m: tf.LayersModel, name: string) => Array.from(m.getLayer(name).getWeights()[0].dataSync());
  const a = buildModel('inception-bn-small', { seed: 3, inputShape: [8, 8, 1] });
  const b = buildModel('inception-bn-small', { seed: 3, inputShape: [8, 8, 1] });
  const c = buildModel('inception-bn-small', { seed: 4, inputShape: [8, 8, 1] });
  const d = buildModel('inception-bn-small', { seed: 3, inputShape: [8, 8, 1], topPairs: 1 });
  assert.deepEqual(kernel(a, 'inception_4b/3x3'), kernel(b, 'inception_4b/3x3'));
  assert.deepEqual(kernel(a, 'fc'), kernel(b, 'fc'));
  assert.notDeepEqual(kernel(a, 'inception_4b/3x3'), kernel(c, 'inception_4b/3x3'));
  assert.deepEqual(kernel(a, 'inception_5b/3x3'), kernel(d, 'inception_5b/3x3'));
  // Same shape, different names: different weights.
  assert.notDeepEqual(kernel(a, 'inception_5a/3x3'), kernel(a, 'inception_5b/3x3'));
  for (const m of [a, b, c, d]) m.dispose();
});

test('student inserts name every factorized pair and every module, and refuse models without them', () => {
  const plain = buildModel('inception-bn', { inputShape: [64, 64, 3] });
  assert.throws(() => extraPairInserts(plain, 2), /no factorized 3x1 -> 1x3 pairs/);
  assert.equal(topPairInserts(plain, 1).length, 10);
  plain.dispose();
  const factorized = buildModel('inception-bn', { inputShape: [64, 64, 3], factorized: true });
  const inserts = extraPairInserts(factorized, 2);
  assert.equal(inserts.length, 26 * 2);
  assert.ok(inserts.every((spec) => factorized.getLayer(spec.after).getClassName() === 'ReLU'));
  assert.deepEqual(
    inserts.filter((spec) => spec.after.startsWith('inception_4e/')).map((spec) => spec.name),
    ['inception_4e/double_3x3_1/extra1', 'inception_4e/double_3x3_1/extra2'],
  );
  factorized.dispose();
});
