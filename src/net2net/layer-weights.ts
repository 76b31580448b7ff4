/**
 * The widened weights of one layer, in the layer's own weight order, given the mapping of the tensor it reads and
 * of the tensor it writes.
 */
import * as tf from '@tensorflow/tfjs';
import type { GraphNode } from './graph.ts';
import type { FillMode, KernelView } from './kernel-remap.ts';
import { remapKernel } from './kernel-remap.ts';
import type { LayerRole } from './layer-roles.ts';
import type { SeededRandom } from '../random/seeded-random.ts';
import type { UnitMapping } from './mapping.ts';
import { depthwiseMapping } from './mapping.ts';
import type { NoiseSpec } from './noise.ts';

export type WeightFill =
  { kind: 'replicate'; noise: NoiseSpec; random: SeededRandom } | { kind: 'random-pad'; random: SeededRandom };

export type WeightKind =
  'kernel' | 'depthwise_kernel' | 'pointwise_kernel' | 'bias' | 'gamma' | 'beta' | 'moving_mean' | 'moving_variance';

const WEIGHT_KINDS: WeightKind[] = [
  'depthwise_kernel',
  'pointwise_kernel',
  'kernel',
  'bias',
  'gamma',
  'beta',
  'moving_mean',
  'moving_variance',
];

/** Kind of a weight from its original name, e.g. 'inception_3a/3x3/kernel' -> 'kernel'. */
function weightKind(layerName: string, originalName: string): WeightKind {
  const base = originalName.split('/').pop()!.replace(/_\d+$/, '');
  const kind = WEIGHT_KINDS.find((k) => base === k);
  if (!kind) throw new Error(`layer '${layerName}': weight '${originalName}' is not one net2net knows how to widen`);
  return kind;
}

const INITIALIZER_KEY: Record<WeightKind, string> = {
  kernel: 'kernelInitializer',
  depthwise_kernel: 'depthwiseInitializer',
  pointwise_kernel: 'pointwiseInitializer',
  bias: 'biasInitializer',
  gamma: 'gammaInitializer',
  beta: 'betaInitializer',
  moving_mean: 'movingMeanInitializer',
  moving_variance: 'movingVarianceInitializer',
};

/** New-unit values for random pad: the layer's own initializer (seeded); BatchNorm gets gamma 1, beta 0, mean 0, var 1. */
function freshValues(node: GraphNode, kind: WeightKind, shape: number[], seed: number): Float32Array {
  const size = shape.reduce((a, b) => a * b, 1);
  if (kind === 'gamma' || kind === 'moving_variance') return new Float32Array(size).fill(1);
  if (kind === 'beta' || kind === 'moving_mean') return new Float32Array(size);
  const spec = node.config[INITIALIZER_KEY[kind]] as { className: string; config: Record<string, unknown> } | undefined;
  if (!spec) throw new Error(`layer '${node.name}': no ${INITIALIZER_KEY[kind]} in its config for random pad`);
  const registered = tf.serialization.SerializationMap.getMap().classNameMap[spec.className];
  if (!registered) throw new Error(`layer '${node.name}': unknown initializer ${spec.className}`);
  const [cls, fromConfig] = registered;
  const initializer = fromConfig(cls, { ...spec.config, seed }) as unknown as {
    apply(shape: number[], dtype?: string): tf.Tensor;
  };
  const tensor = initializer.apply(shape, 'float32');
  const values = tensor.dataSync() as Float32Array;
  tensor.dispose();
  return new Float32Array(values);
}

/** How one weight of a widened layer is remapped: its [S, IN, OUT] view, the mappings along IN and OUT, its new shape. */
export interface WeightRemap {
  kind: WeightKind;
  view: KernelView;
  inputMap: UnitMapping | undefined;
  outputMap: UnitMapping | undefined;
  /** Whether values are divided by the input unit's replica count (outgoing weights of replicated units). */
  divideInput: boolean;
  /**
   * Which mapping's replica counts divide the weight's gradient in a function-preserving widening: the units this
   * weight writes ('output'; a depthwise kernel's output channel c * M + m is a copy of its input channel c: 'input').
   */
  gradientCounts: 'input' | 'output';
  newShape: number[];
}

/**
 * The remap of the weight `originalName` (of shape `shape`) of `layer`, a unit writer, BatchNorm or DepthwiseConv2D
 * whose input has mapping `inMap` and output `outMap` (undefined: unchanged).
 */
export function weightRemap(
  layerName: string,
  node: GraphNode,
  originalName: string,
  shape: number[],
  role: LayerRole,
  inMap: UnitMapping | undefined,
  outMap: UnitMapping | undefined,
): WeightRemap {
  const kind = weightKind(layerName, originalName);
  let view: KernelView;
  let inputMap: UnitMapping | undefined;
  let outputMap: UnitMapping | undefined;
  let divideInput = false;
  let gradientCounts: WeightRemap['gradientCounts'] = 'output';
  if (kind === 'kernel' && role === 'unit-writer') {
    view = [shape.slice(0, -2).reduce((a, b) => a * b, 1), shape.at(-2)!, shape.at(-1)!];
    [inputMap, outputMap, divideInput] = [inMap, outMap, true];
  } else if (kind === 'pointwise_kernel') {
    // SeparableConv2D [1, 1, in * multiplier, out]: its inputs are the depthwise outputs c * M + m.
    const multiplier = inMap ? shape[2] / inMap.oldWidth : 1;
    view = [shape[0] * shape[1], shape[2], shape[3]];
    [inputMap, outputMap, divideInput] = [inMap && depthwiseMapping(inMap, multiplier), outMap, true];
  } else if (kind === 'depthwise_kernel') {
    // [kh, kw, in, multiplier]: each output channel reads one input channel, so nothing is divided.
    view = [shape[0] * shape[1], shape[2], shape[3]];
    inputMap = inMap;
    gradientCounts = 'input';
  } else if (shape.length === 1) {
    view = [1, 1, shape[0]];
    outputMap = outMap;
  } else {
    throw new Error(`layer '${layerName}' (${node.className}): cannot widen its weight '${originalName}'`);
  }
  const newShape = [...shape];
  if (kind === 'kernel' || kind === 'depthwise_kernel' || kind === 'pointwise_kernel') {
    if (inputMap) newShape[shape.length - 2] = inputMap.g.length;
    if (outputMap) newShape[shape.length - 1] = outputMap.g.length;
  } else if (outputMap) newShape[0] = outputMap.g.length;
  return { kind, view, inputMap, outputMap, divideInput, gradientCounts, newShape };
}

/**
 * Widened weights of `layer` (a unit writer, BatchNorm or DepthwiseConv2D). `inMap` is the mapping of the tensor it
 * reads, `outMap` that of the tensor it writes; undefined means unchanged. Returns new tensors (caller disposes).
 */
export function widenedLayerWeights(
  layer: tf.layers.Layer,
  node: GraphNode,
  role: LayerRole,
  inMap: UnitMapping | undefined,
  outMap: UnitMapping | undefined,
  fill: WeightFill,
): tf.Tensor[] {
  return layer.weights.map((variable, index) => {
    const shape = variable.shape as number[];
    const remap = weightRemap(layer.name, node, variable.originalName, shape, role, inMap, outMap);
    const { kind, view, inputMap, outputMap, divideInput, newShape } = remap;
    const values = layer.getWeights()[index].dataSync() as Float32Array;
    const mode: FillMode =
      fill.kind === 'replicate'
        ? { kind: 'replicate', divideInput, noise: fill.noise, random: fill.random }
        : { kind: 'random-pad', fresh: freshValues(node, kind, newShape, fill.random.derive(`${layer.name}/${kind}`)) };
    return tf.tensor(remapKernel(values, view, inputMap, outputMap, mode), newShape, 'float32');
  });
}
