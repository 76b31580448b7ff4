/**
 * Small networks for the net2net tests, with random BatchNorm parameters and statistics (never the fresh gamma 1 /
 * beta 0 / mean 0 / var 1, which hide copying bugs), and helpers shared by the net2net test files.
 */
import * as tf from '@tensorflow/tfjs';
import { SeededRandom } from '../src/random/seeded-random.ts';

type T = tf.SymbolicTensor;

let initializerSeed = 1;

/** Makes the weights of the fixtures built next reproducible (each layer draws the next seeds). */
export function seedFixtures(seed: number): void {
  initializerSeed = seed;
}

function initializers() {
  return {
    kernelInitializer: tf.initializers.glorotUniform({ seed: initializerSeed++ }),
    biasInitializer: tf.initializers.randomNormal({ seed: initializerSeed++ }),
  };
}

export function conv(x: T, filters: number, name: string, kernel = 3, activation: 'linear' | 'relu' = 'linear'): T {
  return tf.layers
    .conv2d({ filters, kernelSize: kernel, padding: 'same', name, activation, ...initializers() })
    .apply(x) as T;
}
export function dense(x: T, units: number, name: string, activation: 'linear' | 'relu' = 'linear'): T {
  return tf.layers.dense({ units, name, activation, ...initializers() }).apply(x) as T;
}
export function bn(x: T, name: string): T {
  return tf.layers.batchNormalization({ name }).apply(x) as T;
}
export function relu(x: T, name: string): T {
  return tf.layers.reLU({ name }).apply(x) as T;
}
export function convBnRelu(x: T, filters: number, name: string, kernel = 3): T {
  return relu(bn(conv(x, filters, name, kernel), `${name}/bn`), `${name}/relu`);
}

/** Sets every BatchNorm layer's gamma, beta, moving mean and moving variance (positive) to seeded random values. */
export function randomizeBatchNorm(model: tf.LayersModel, seed: number): tf.LayersModel {
  const random = new SeededRandom(seed, 'mulberry32');
  for (const layer of model.layers) {
    if (layer.getClassName() !== 'BatchNormalization') continue;
    const values = layer.weights.map((w) => {
      const n = w.shape[0] as number;
      const kind = w.originalName.split('/').pop()!;
      const v = new Float32Array(n).map(() =>
        kind === 'gamma'
          ? 0.5 + random.next()
          : kind === 'moving_variance'
            ? 0.3 + 2 * random.next()
            : 0.5 * random.normal(),
      );
      return tf.tensor1d(v);
    });
    layer.setWeights(values);
    tf.dispose(values);
  }
  return model;
}

export function mlp(): tf.LayersModel {
  const input = tf.input({ shape: [8], name: 'mlp/input' });
  let x = dense(input, 6, 'fc1', 'relu');
  x = bn(x, 'fc1/bn');
  x = dense(x, 5, 'fc2', 'relu');
  const out = dense(x, 3, 'logits');
  return randomizeBatchNorm(tf.model({ inputs: input, outputs: out }), 1);
}

export function sequentialMlp(): tf.LayersModel {
  const model = tf.sequential({
    layers: [
      tf.layers.dense({ units: 6, inputShape: [8], activation: 'relu', name: 'seq/fc1' }),
      tf.layers.batchNormalization({ name: 'seq/bn' }),
      tf.layers.dense({ units: 5, activation: 'relu', name: 'seq/fc2' }),
      tf.layers.dense({ units: 3, name: 'seq/logits' }),
    ],
  });
  return randomizeBatchNorm(model, 2);
}

export function convNetBn(): tf.LayersModel {
  const input = tf.input({ shape: [8, 8, 3] });
  let x = convBnRelu(input, 4, 'conv1');
  x = tf.layers.maxPooling2d({ poolSize: 2, name: 'pool1' }).apply(x) as T;
  x = convBnRelu(x, 6, 'conv2');
  x = tf.layers.globalAveragePooling2d({ name: 'gap' }).apply(x) as T;
  const out = dense(x, 4, 'logits');
  return randomizeBatchNorm(tf.model({ inputs: input, outputs: out }), 3);
}

/** An Inception-style module: four branches into a Concatenate, then a 1x1 conv. */
export function inceptionModule(): tf.LayersModel {
  const input = tf.input({ shape: [8, 8, 3] });
  const stem = convBnRelu(input, 6, 'stem');
  const b1 = convBnRelu(stem, 4, 'mixed/1x1');
  const b2 = convBnRelu(convBnRelu(stem, 3, 'mixed/3x3_reduce', 1), 5, 'mixed/3x3');
  const b3 = convBnRelu(convBnRelu(stem, 2, 'mixed/5x5_reduce', 1), 3, 'mixed/5x5', 5);
  const pool = tf.layers
    .averagePooling2d({ poolSize: 3, strides: 1, padding: 'same', name: 'mixed/pool' })
    .apply(stem) as T;
  const b4 = convBnRelu(pool, 2, 'mixed/pool_proj', 1);
  const cat = tf.layers.concatenate({ name: 'mixed/concat' }).apply([b1, b2, b3, b4]) as T;
  let x = convBnRelu(cat, 6, 'head', 1);
  x = tf.layers.globalAveragePooling2d({ name: 'gap' }).apply(x) as T;
  const out = dense(x, 4, 'logits');
  return randomizeBatchNorm(tf.model({ inputs: input, outputs: out }), 4);
}

/** A residual block with an identity shortcut into an Add. */
export function residualBlock(): tf.LayersModel {
  const input = tf.input({ shape: [8, 8, 3] });
  const stem = convBnRelu(input, 5, 'stem');
  const a = convBnRelu(stem, 4, 'res/a');
  const b = bn(conv(a, 5, 'res/b'), 'res/b/bn');
  const sum = tf.layers.add({ name: 'res/add' }).apply([stem, b]) as T;
  let x = relu(sum, 'res/relu');
  x = convBnRelu(x, 4, 'post');
  x = tf.layers.globalMaxPooling2d({ name: 'gmp' }).apply(x) as T;
  const out = dense(x, 3, 'logits');
  return randomizeBatchNorm(tf.model({ inputs: input, outputs: out }), 5);
}

/** One layer read by two consumers whose outputs meet again. */
export function twoConsumers(): tf.LayersModel {
  const input = tf.input({ shape: [6, 6, 2] });
  const shared = convBnRelu(input, 4, 'shared');
  const left = convBnRelu(shared, 3, 'left', 1);
  const right = convBnRelu(shared, 5, 'right');
  const cat = tf.layers.concatenate({ name: 'join' }).apply([left, right]) as T;
  const x = tf.layers.globalAveragePooling2d({ name: 'gap' }).apply(cat) as T;
  const out = dense(x, 3, 'logits');
  return randomizeBatchNorm(tf.model({ inputs: input, outputs: out }), 6);
}

export function convFlattenDense(): tf.LayersModel {
  const input = tf.input({ shape: [5, 5, 2] });
  let x = convBnRelu(input, 3, 'conv');
  x = tf.layers.flatten({ name: 'flat' }).apply(x) as T;
  x = dense(x, 6, 'fc', 'relu');
  const out = dense(x, 3, 'logits');
  return randomizeBatchNorm(tf.model({ inputs: input, outputs: out }), 7);
}

export function randomInputs(model: tf.LayersModel, count: number, seed: number): tf.Tensor {
  const shape = model.inputs[0].shape.slice(1) as number[];
  return tf.randomNormal([count, ...shape], 0, 1, 'float32', seed);
}
