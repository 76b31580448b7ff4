/**
 * The building blocks every model family here is made of: a conv-BN-ReLU block, its factorized 3x1 -> 1x3 form, and
 * the identity-shaped C -> C pairs that `deeper` inserts (extra pairs after a factorized pair, top pairs on a module).
 *
 * Naming (other code relies on it): a block named N is the layers `N` (Conv2D, no bias, 'same' padding), `N/bn`
 * (BatchNormalization, scale and center on; the fused-training class of batch-norm-layer.ts) and `N/relu` (a ReLU layer). A factorized block N is the blocks `N/3x1`
 * then `N/1x3`; its extra pairs are `N/extra${i}/3x1` then `N/extra${i}/1x3`. Top pairs on a tensor named M are
 * `M/top${i}/3x1` then `M/top${i}/1x3`; a module M ends with `M/concat` (Concatenate) and `M/output` (ReLU).
 *
 * Random init: He-normal kernels (truncated normal, fan-in), TF.js defaults for BatchNormalization (gamma 1, beta 0,
 * moving mean 0, moving variance 1) and glorotUniform for the dense head. With a seed, each layer's initializer is
 * seeded from (seed, layer name), so a layer gets the same initial weights in every variant that contains it.
 */
import * as tf from '@tensorflow/tfjs';
import { batchNormalization } from './batch-norm-layer.ts';
import './relu-gradient.ts';

export interface BlockContext {
  /** Base seed for reproducible initialization; undefined = unseeded. */
  readonly seed: number | undefined;
  /** BatchNormalization momentum of the moving averages; undefined = TensorFlow.js's 0.99. */
  readonly batchNormMomentum?: number;
}

export interface ConvBlockSpec {
  name: string;
  filters: number;
  kernel: [number, number];
  stride?: number;
}

/** 32-bit FNV-1a hash of the layer name mixed with the base seed, for per-layer initializer seeds. */
function layerSeed(seed: number, name: string): number {
  let h = (0x811c9dc5 ^ (seed >>> 0)) >>> 0;
  for (let i = 0; i < name.length; i++) {
    h ^= name.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/** The initializer type TF.js layers accept (the class itself is not exported by @tensorflow/tfjs). */
type KernelInitializer = ReturnType<typeof tf.initializers.heNormal>;

export function kernelInitializer(ctx: BlockContext, layerName: string): KernelInitializer {
  return tf.initializers.heNormal(ctx.seed === undefined ? {} : { seed: layerSeed(ctx.seed, layerName) });
}

export function denseInitializer(ctx: BlockContext, layerName: string): KernelInitializer {
  return tf.initializers.glorotUniform(ctx.seed === undefined ? {} : { seed: layerSeed(ctx.seed, layerName) });
}

/** Conv (no bias, 'same') -> BatchNormalization -> ReLU, as the layers `N`, `N/bn`, `N/relu`. */
export function convBlock(ctx: BlockContext, x: tf.SymbolicTensor, spec: ConvBlockSpec): tf.SymbolicTensor {
  const conv = tf.layers.conv2d({
    name: spec.name,
    filters: spec.filters,
    kernelSize: spec.kernel,
    strides: spec.stride ?? 1,
    padding: 'same',
    useBias: false,
    kernelInitializer: kernelInitializer(ctx, spec.name),
  });
  const momentum = ctx.batchNormMomentum === undefined ? {} : { momentum: ctx.batchNormMomentum };
  const bn = batchNormalization({ name: `${spec.name}/bn`, axis: -1, ...momentum });
  const relu = tf.layers.reLU({ name: `${spec.name}/relu` });
  return relu.apply(bn.apply(conv.apply(x))) as tf.SymbolicTensor;
}

/** A vertical-horizontal pair named P: block `P/3x1` (kernel [3,1]) then block `P/1x3` (kernel [1,3]). */
export function convPair(ctx: BlockContext, x: tf.SymbolicTensor, name: string, filters: number): tf.SymbolicTensor {
  const vertical = convBlock(ctx, x, { name: `${name}/3x1`, filters, kernel: [3, 1] });
  return convBlock(ctx, vertical, { name: `${name}/1x3`, filters, kernel: [1, 3] });
}

/** `count` C -> C pairs named `${prefix}${i}` (i = 1..count) stacked on x; C is x's channel count. */
export function stackedPairs(
  ctx: BlockContext,
  x: tf.SymbolicTensor,
  prefix: string,
  count: number,
): tf.SymbolicTensor {
  const channels = channelsOf(x);
  let y = x;
  for (let i = 1; i <= count; i++) y = convPair(ctx, y, `${prefix}${i}`, channels);
  return y;
}

export interface SpatialConvOptions {
  /** Stride-1 3x3 convs become 3x1 -> 1x3 pairs. */
  factorized: boolean;
  /** Extra C -> C pairs after each factorized pair (needs `factorized`). */
  extraPairs: number;
}

/**
 * A 3x3 conv-BN-ReLU named N inside an Inception module: plain when strided or not factorized, else the pair
 * `N/3x1` -> `N/1x3` followed by `extraPairs` pairs `N/extra${i}`.
 */
export function spatialConv(
  ctx: BlockContext,
  x: tf.SymbolicTensor,
  name: string,
  filters: number,
  stride: number,
  options: SpatialConvOptions,
): tf.SymbolicTensor {
  if (stride !== 1 || !options.factorized) return convBlock(ctx, x, { name, filters, kernel: [3, 3], stride });
  const pair = convPair(ctx, x, name, filters);
  return stackedPairs(ctx, pair, `${name}/extra`, options.extraPairs);
}

export function channelsOf(x: tf.SymbolicTensor): number {
  const c = x.shape[x.shape.length - 1];
  if (c === null) throw new Error(`tensor '${x.name}' has an unknown channel count`);
  return c;
}

/** Global average pool (`global_pool`) -> Dense(classes) with bias (`fc`): the model outputs logits. */
export function logitsHead(ctx: BlockContext, x: tf.SymbolicTensor, classes: number): tf.SymbolicTensor {
  const pooled = tf.layers.globalAveragePooling2d({ name: 'global_pool' }).apply(x) as tf.SymbolicTensor;
  return tf.layers
    .dense({ name: 'fc', units: classes, useBias: true, kernelInitializer: denseInitializer(ctx, 'fc') })
    .apply(pooled) as tf.SymbolicTensor;
}

/**
 * The end of an Inception module named M: Concatenate of its branches as `M/concat`, a ReLU as `M/output`, then
 * `topPairs` C -> C pairs `M/top${i}` on top (the next module reads the last one).
 *
 * The ReLU is a no-op on a concat of ReLU outputs and max pools of them, and it costs no parameters; it is there
 * because `deeper` follows inserted layers by ReLU only when the layer it inserts after is a ReLU, so inserting
 * pairs after `M/output` builds exactly the conv-BN-ReLU top pairs this builder makes.
 */
export function moduleOutput(
  ctx: BlockContext,
  branches: tf.SymbolicTensor[],
  name: string,
  topPairs: number,
): tf.SymbolicTensor {
  const concat = tf.layers.concatenate({ name: `${name}/concat`, axis: -1 }).apply(branches) as tf.SymbolicTensor;
  const output = tf.layers.reLU({ name: `${name}/output` }).apply(concat) as tf.SymbolicTensor;
  return stackedPairs(ctx, output, `${name}/top`, topPairs);
}
