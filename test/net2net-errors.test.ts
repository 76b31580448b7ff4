import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../src/backend/backend.ts';
import { deeper, wider, randomPad, scaleWidth } from '../src/index.ts';
import * as F from './net2net-fixtures.ts';

await selectBackend('cpu', () => {});

type T = tf.SymbolicTensor;

test('wider refuses impossible targets with an error naming the layer and the reason', () => {
  const mlp = F.mlp();
  assert.throws(() => wider(mlp, { fc1: 4 }), /'fc1' has 6 units; the target 4 is smaller/);
  assert.throws(() => wider(mlp, { nope: 9 }), /no layer named 'nope'/);
  assert.throws(
    () => wider(mlp, { 'fc1/bn': 9 }),
    /'fc1\/bn' is a BatchNormalization; only Dense, Conv1D\/2D\/3D and SeparableConv2D/,
  );
  assert.throws(() => wider(mlp, { logits: 5 }), /cannot widen layer 'logits': it reaches the model output 'logits'/);
  assert.throws(() => wider(mlp, { fc1: 7.5 }), /target width 7.5 for layer 'fc1' is not an integer/);
  assert.throws(() => wider(mlp, { fc1: 8 }, { noise: 'lots' as never }), /noise must be/);
  assert.throws(() => randomPad(mlp, { fc2: 2 }), /'fc2' has 5 units/);
  assert.throws(() => scaleWidth(mlp, 0.5), /factor must be a number >= 1; got 0.5/);
  mlp.dispose();
});

test('wider refuses unsupported layers on the path, naming the layer and its class', () => {
  const input = tf.input({ shape: [4, 4, 2] });
  const c = F.conv(input, 3, 'c');
  const r = tf.layers.reshape({ targetShape: [48], name: 'reshape' }).apply(c) as T;
  const model = tf.model({ inputs: input, outputs: F.dense(r, 2, 'out') });
  assert.throws(() => wider(model, { c: 5 }), /cannot widen layer 'c': layer 'reshape' \(Reshape\) reads it/);
  const input2 = tf.input({ shape: [5] });
  const d = F.dense(input2, 4, 'd');
  const soft = tf.layers.softmax({ name: 'soft' }).apply(d) as T;
  const model2 = tf.model({ inputs: input2, outputs: F.dense(soft, 2, 'out2') });
  assert.throws(() => wider(model2, { d: 6 }), /layer 'soft' \(Softmax\) reads it and is not supported/);
  [model, model2].forEach((m) => m.dispose());
});

test('a SeparableConv2D with depthMultiplier > 1 is refused: TF.js drops it from the config', () => {
  const input = tf.input({ shape: [4, 4, 2] });
  const sep = tf.layers
    .separableConv2d({ filters: 3, kernelSize: 3, depthMultiplier: 2, padding: 'same', name: 'sep2' })
    .apply(F.conv(input, 2, 'c')) as T;
  const model = tf.model({ inputs: input, outputs: F.dense(tf.layers.flatten().apply(sep) as T, 2, 'out') });
  assert.throws(() => wider(model, { c: 4 }), /'sep2' \(SeparableConv2D\) has depthMultiplier 2, which TF.js drops/);
  model.dispose();
});

test('two targets of one element-wise group with different widths: the error names both', () => {
  const model = F.residualBlock();
  assert.throws(
    () => wider(model, { stem: 7, 'res/b': 8 }),
    /layers 'stem' \(target 7\) and 'res\/b' \(target 8\) write into one element-wise group/,
  );
  // The same width for both is fine, and naming one is enough: the other producer follows.
  const a = wider(model, { stem: 7, 'res/b': 7 }, { seed: 1 });
  const b = wider(model, { stem: 7 }, { seed: 1 });
  assert.equal(b.getLayer('res/b').getConfig()['filters'], 7);
  [model, a, b].forEach((m) => m.dispose());
});

test('a group that reaches a model input cannot widen; the error names the input', () => {
  const input = tf.input({ shape: [3, 3, 2], name: 'pixels' });
  const c = F.conv(input, 2, 'c');
  const sum = tf.layers.add({ name: 'sum' }).apply([input, c]) as T;
  const out = F.dense(tf.layers.flatten({ name: 'flat' }).apply(sum) as T, 2, 'out');
  const model = tf.model({ inputs: input, outputs: out });
  assert.throws(() => wider(model, { c: 4 }), /cannot widen layer 'c': it contains the model input 'pixels'/);
  model.dispose();
});

test('a target conflicting with a concatenation it must follow names both layers', () => {
  const input = tf.input({ shape: [4, 4, 2] });
  const a = F.conv(input, 2, 'a');
  const b = F.conv(input, 3, 'b');
  const cat = tf.layers.concatenate({ name: 'cat' }).apply([a, b]) as T;
  const c = F.conv(input, 5, 'c');
  const sum = tf.layers.add({ name: 'sum' }).apply([cat, c]) as T;
  const out = F.dense(tf.layers.globalAveragePooling2d({ name: 'gap' }).apply(sum) as T, 2, 'out');
  const model = tf.model({ inputs: input, outputs: out });
  assert.throws(
    () => wider(model, { a: 3, c: 9 }),
    /layer 'c' shares its output mapping with 'cat' .*6 units wide; the target 9/,
  );
  assert.throws(() => wider(model, { c: 9 }), /layer 'c' shares its output mapping with 'cat'/);
  model.dispose();
});

test('deeper refuses impossible inserts with an error naming the layer and the reason', () => {
  const model = F.convNetBn();
  const data = F.randomInputs(model, 8, 1);
  assert.throws(
    () => deeper(model, [{ after: 'conv1/relu', kind: 'conv', kernel: 4 }]),
    /kernel 4 after 'conv1\/relu' has no centre tap/,
  );
  assert.throws(() => deeper(model, [{ after: 'conv1/relu', kind: 'conv-pair', kernel: 2 }]), /kernel 2 .* odd kernel/);
  assert.throws(
    () => deeper(model, [{ after: 'conv1/relu', kind: 'conv', batchNorm: true }]),
    /insert after 'conv1\/relu' has batchNorm, which needs options.data/,
  );
  assert.throws(
    () => deeper(model, [{ after: 'conv1/relu', kind: 'conv-pair', kernel: 1 }]),
    /conv-pair with kernel 1 after 'conv1\/relu'/,
  );
  assert.throws(() => deeper(model, [{ after: 'nope', kind: 'conv' }], { data }), /no layer named 'nope'/);
  assert.throws(() => deeper(model, [{ after: 'logits', kind: 'dense' }], { data }), /'logits' is a model output/);
  assert.throws(
    () => deeper(model, [{ after: 'conv1/relu', kind: 'dense' }]),
    /dense insert needs a rank-2 output, but 'conv1\/relu'/,
  );
  assert.throws(
    () => deeper(model, [{ after: 'gap', kind: 'conv' }]),
    /conv insert needs an \[N, H, W, C\] output, but 'gap'/,
  );
  assert.throws(
    () => deeper(model, [{ after: 'conv1/relu', kind: 'conv', name: 'conv2' }]),
    /inserted layer name 'conv2' is already used/,
  );
  assert.throws(() => deeper(model, [{ after: 'gap', kind: 'mlp' as never }]), /unknown kind 'mlp'/);
  data.dispose();
  model.dispose();
});

test('a failed transform leaks no tensors', () => {
  const model = F.convNetBn();
  const data = F.randomInputs(model, 8, 1);
  const before = tf.memory().numTensors;
  assert.throws(() =>
    deeper(
      model,
      [
        { after: 'conv1/relu', kind: 'conv', batchNorm: true },
        { after: 'conv2/relu', kind: 'conv', name: 'conv1/relu/deeper1' },
      ],
      { data },
    ),
  );
  assert.throws(() => wider(model, { conv1: 6, logits: 9 }));
  assert.equal(tf.memory().numTensors, before);
  data.dispose();
  model.dispose();
});
