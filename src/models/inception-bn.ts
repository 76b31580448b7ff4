/**
 * The full BN-Inception (Ioffe & Szegedy 2015, as built by MXNet `inception-bn.py` and the Caffe port) for 224x224x3
 * and 1000 classes, described as data: a stem table and a table of Inception modules. See
 * shared/docs/inception-bn.md for the source of every number.
 *
 * Layer names follow the Caffe port: stem `conv1/7x7_s2`, `pool1/3x3_s2`, `conv2/3x3_reduce`, `conv2/3x3`,
 * `pool2/3x3_s2`; in module M: `M/1x1`, `M/3x3_reduce`, `M/3x3`, `M/double_3x3_reduce`, `M/double_3x3_1`,
 * `M/double_3x3_2`, `M/pool`, `M/pool_proj`, `M/concat` (Concatenate), `M/output` (ReLU; see moduleOutput);
 * head `global_pool`, `fc` (logits).
 */
import * as tf from '@tensorflow/tfjs';
import { convBlock, logitsHead, moduleOutput, spatialConv } from './conv-block.ts';
import type { BlockContext } from './conv-block.ts';
import type { FamilyBuildOptions, ModelFamily } from './family.ts';
import { scaledChannels } from './width.ts';

type StemLayer =
  | { kind: 'conv'; name: string; filters: number; kernel: number; stride: number }
  | { kind: 'maxpool'; name: string; pool: number; stride: number };

const STEM: readonly StemLayer[] = [
  { kind: 'conv', name: 'conv1/7x7_s2', filters: 64, kernel: 7, stride: 2 },
  { kind: 'maxpool', name: 'pool1/3x3_s2', pool: 3, stride: 2 },
  { kind: 'conv', name: 'conv2/3x3_reduce', filters: 64, kernel: 1, stride: 1 },
  { kind: 'conv', name: 'conv2/3x3', filters: 192, kernel: 3, stride: 1 },
  { kind: 'maxpool', name: 'pool2/3x3_s2', pool: 3, stride: 2 },
];

/** A module keeps the grid (stride 1, with a 1x1 branch and a pooled projection) or halves it (reduction). */
type InceptionModuleSpec =
  | {
      kind: 'standard';
      name: string;
      c1x1: number;
      c3x3Reduce: number;
      c3x3: number;
      doubleReduce: number;
      double: number;
      pool: 'avg' | 'max';
      poolProj: number;
    }
  | { kind: 'reduction'; name: string; c3x3Reduce: number; c3x3: number; doubleReduce: number; double: number };

const std = (
  name: string,
  c1x1: number,
  c3x3Reduce: number,
  c3x3: number,
  doubleReduce: number,
  double: number,
  pool: 'avg' | 'max',
  poolProj: number,
): InceptionModuleSpec => ({ kind: 'standard', name, c1x1, c3x3Reduce, c3x3, doubleReduce, double, pool, poolProj });

const red = (name: string, c3x3Reduce: number, c3x3: number, doubleReduce: number, double: number) =>
  ({ kind: 'reduction', name, c3x3Reduce, c3x3, doubleReduce, double }) as const;

export const INCEPTION_BN_MODULES: readonly InceptionModuleSpec[] = [
  std('inception_3a', 64, 64, 64, 64, 96, 'avg', 32),
  std('inception_3b', 64, 64, 96, 64, 96, 'avg', 64),
  red('inception_3c', 128, 160, 64, 96),
  std('inception_4a', 224, 64, 96, 96, 128, 'avg', 128),
  std('inception_4b', 192, 96, 128, 96, 128, 'avg', 128),
  std('inception_4c', 160, 128, 160, 128, 160, 'avg', 128),
  std('inception_4d', 96, 128, 192, 160, 192, 'avg', 128),
  red('inception_4e', 128, 192, 192, 256),
  std('inception_5a', 352, 192, 320, 160, 224, 'avg', 128),
  std('inception_5b', 352, 192, 320, 192, 224, 'max', 128),
];

function stem(ctx: BlockContext, x: tf.SymbolicTensor, options: FamilyBuildOptions): tf.SymbolicTensor {
  let y = x;
  for (const layer of STEM) {
    if (layer.kind === 'conv') {
      const filters = scaledChannels(options.width, layer.filters, 'stem');
      y = convBlock(ctx, y, { name: layer.name, filters, kernel: [layer.kernel, layer.kernel], stride: layer.stride });
    } else {
      y = tf.layers
        .maxPooling2d({ name: layer.name, poolSize: layer.pool, strides: layer.stride, padding: 'same' })
        .apply(y) as tf.SymbolicTensor;
    }
  }
  return y;
}

function inceptionModule(
  ctx: BlockContext,
  x: tf.SymbolicTensor,
  spec: InceptionModuleSpec,
  options: FamilyBuildOptions,
): tf.SymbolicTensor {
  const m = spec.name;
  const c = (channels: number) => scaledChannels(options.width, channels, 'module');
  const stride = spec.kind === 'reduction' ? 2 : 1;
  const branches: tf.SymbolicTensor[] = [];

  if (spec.kind === 'standard') {
    branches.push(convBlock(ctx, x, { name: `${m}/1x1`, filters: c(spec.c1x1), kernel: [1, 1] }));
  }

  const reduce = convBlock(ctx, x, { name: `${m}/3x3_reduce`, filters: c(spec.c3x3Reduce), kernel: [1, 1] });
  branches.push(spatialConv(ctx, reduce, `${m}/3x3`, c(spec.c3x3), stride, options));

  const doubleReduce = convBlock(ctx, x, {
    name: `${m}/double_3x3_reduce`,
    filters: c(spec.doubleReduce),
    kernel: [1, 1],
  });
  const double1 = spatialConv(ctx, doubleReduce, `${m}/double_3x3_1`, c(spec.double), 1, options);
  branches.push(spatialConv(ctx, double1, `${m}/double_3x3_2`, c(spec.double), stride, options));

  if (spec.kind === 'standard') {
    const poolLayer = spec.pool === 'avg' ? tf.layers.averagePooling2d : tf.layers.maxPooling2d;
    const pooled = poolLayer({ name: `${m}/pool`, poolSize: 3, strides: 1, padding: 'same' }).apply(
      x,
    ) as tf.SymbolicTensor;
    branches.push(convBlock(ctx, pooled, { name: `${m}/pool_proj`, filters: c(spec.poolProj), kernel: [1, 1] }));
  } else {
    // The reduction module's pool branch passes its input channels through, halving the grid.
    branches.push(
      tf.layers
        .maxPooling2d({ name: `${m}/pool`, poolSize: 3, strides: 2, padding: 'same' })
        .apply(x) as tf.SymbolicTensor,
    );
  }
  return moduleOutput(ctx, branches, m, options.topPairs);
}

function buildInceptionBn(options: FamilyBuildOptions): tf.LayersModel {
  const ctx: BlockContext = { seed: options.seed, batchNormMomentum: options.batchNormMomentum };
  const input = tf.input({ name: 'input', shape: options.inputShape });
  let x = stem(ctx, input, options);
  for (const spec of INCEPTION_BN_MODULES) x = inceptionModule(ctx, x, spec, options);
  const logits = logitsHead(ctx, x, options.classes);
  return tf.model({ name: 'inception-bn', inputs: input, outputs: logits });
}

export const INCEPTION_BN: ModelFamily = {
  name: 'inception-bn',
  description: 'BN-Inception (Ioffe & Szegedy 2015) for 224x224x3 and 1000 classes; logits head',
  defaultInputShape: [224, 224, 3],
  defaultClasses: 1000,
  minimumChannels: 16,
  build: buildInceptionBn,
};
