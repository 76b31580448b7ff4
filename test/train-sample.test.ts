import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { createSyntheticDataset } from '../src/data/synthetic.ts';
import { disposeSample, drawTrainSample } from '../src/data/train-sample.ts';
import { evaluateSample } from '../src/train/evaluate.ts';

test('a fixed training sample: the same images every draw, kept by evaluation, measured like validation', async () => {
  await tf.setBackend('cpu');
  const dataset = createSyntheticDataset({ inputShape: [4, 4, 1], classes: 3, numTrain: 40, numVal: 9, seed: 2 });
  const before = tf.memory().numTensors;
  const a = await drawTrainSample(dataset, { examples: 20, batchSize: 8, seed: 5 });
  const b = await drawTrainSample(dataset, { examples: 20, batchSize: 8, seed: 5 });
  assert.equal(a.length, 3);
  a.forEach((batch, i) => {
    assert.deepEqual(batch.x.dataSync(), b[i]!.x.dataSync());
    assert.deepEqual(batch.y.dataSync(), b[i]!.y.dataSync());
  });
  const input = tf.input({ shape: [4, 4, 1] });
  const logits = tf.layers
    .dense({ units: 3, kernelInitializer: 'glorotNormal' })
    .apply(tf.layers.flatten().apply(input));
  const model = tf.model({ inputs: input, outputs: logits as tf.SymbolicTensor });
  const modelTensors = tf.memory().numTensors;
  const measured = await evaluateSample(model, a);
  assert.equal(tf.memory().numTensors, modelTensors, 'evaluation leaves the sample and nothing else');
  const expected = tf.tidy(() => {
    let right = 0;
    for (const { x, y } of a) {
      right += tf.sum(tf.cast(tf.equal((model.predict(x) as tf.Tensor).argMax(-1), y), 'int32')).dataSync()[0]!;
    }
    return right / 24;
  });
  assert.equal(measured.examples, 24);
  assert.equal(measured.accuracy, expected);
  model.dispose();
  disposeSample(a);
  disposeSample(b);
  assert.equal(tf.memory().numTensors, before);
  await dataset.close();
});
