/**
 * What a layer does to the channel axis of the tensors it reads, which decides how a widening flows through it.
 * Everything assumes channels-last data; a layer configured channels-first is treated as unsupported.
 */
import type { GraphNode } from './graph.ts';

export type LayerRole =
  /** A model input: its width is fixed. */
  | 'input'
  /**
   * Dense / Conv1D / Conv2D / Conv3D: reads channels through a kernel [..., in, out] and writes its own units;
   * SeparableConv2D: the same through its pointwise kernel, after a depthwise kernel [kh, kw, in, multiplier].
   */
  | 'unit-writer'
  /** DepthwiseConv2D: output channel c * M + m reads input channel c only; its mapping follows its input. */
  | 'depthwise'
  /** BatchNormalization on the last axis: per-channel weights, mapping passes through. */
  | 'channelwise'
  /** Element-wise activations, dropout, pooling, padding: mapping passes through unchanged. */
  | 'pass-through'
  /** Add, Multiply, Average, Maximum, Minimum, Subtract: all inputs and the output share one mapping. */
  | 'merge'
  /** Concatenate on the channel axis: the output mapping is the inputs' mappings side by side. */
  | 'concat'
  /** Flatten of a channels-last tensor: the output mapping spreads each channel over the spatial positions. */
  | 'flatten'
  /** Anything else: a widening may not flow into or out of it. */
  | 'unsupported';

const WRITERS = new Set(['Dense', 'Conv1D', 'Conv2D', 'Conv3D', 'SeparableConv2D']);
const PASS_THROUGH = new Set([
  'Activation',
  'ReLU',
  'LeakyReLU',
  'ELU',
  'ThresholdedReLU',
  'Dropout',
  'SpatialDropout1D',
  'SpatialDropout2D',
  'GaussianNoise',
  'GaussianDropout',
  'AlphaDropout',
  'MaxPooling1D',
  'MaxPooling2D',
  'MaxPooling3D',
  'AveragePooling1D',
  'AveragePooling2D',
  'AveragePooling3D',
  'GlobalMaxPooling1D',
  'GlobalMaxPooling2D',
  'GlobalAveragePooling1D',
  'GlobalAveragePooling2D',
  'ZeroPadding2D',
  'Cropping2D',
  'UpSampling2D',
  'Rescaling',
]);
const MERGES = new Set(['Add', 'Multiply', 'Average', 'Maximum', 'Minimum', 'Subtract']);
/** Activations that couple channels: replicating a unit changes every output. */
const CHANNEL_COUPLING_ACTIVATIONS = new Set(['softmax', 'logSoftmax']);

export function layerRole(node: GraphNode): LayerRole {
  const c = node.config;
  if (c['dataFormat'] === 'channelsFirst') return 'unsupported';
  const cls = node.className;
  if (cls === 'InputLayer') return 'input';
  if (WRITERS.has(cls)) return 'unit-writer';
  if (cls === 'DepthwiseConv2D') return 'depthwise';
  if (cls === 'BatchNormalization')
    return isLastAxis(c['axis'], node.outputShape.length) ? 'channelwise' : 'unsupported';
  if (cls === 'Activation')
    return CHANNEL_COUPLING_ACTIVATIONS.has(String(c['activation'])) ? 'unsupported' : 'pass-through';
  if (PASS_THROUGH.has(cls)) return 'pass-through';
  if (MERGES.has(cls)) return 'merge';
  if (cls === 'Concatenate') return isLastAxis(c['axis'] ?? -1, node.outputShape.length) ? 'concat' : 'merge';
  if (cls === 'Flatten') return 'flatten';
  return 'unsupported';
}

function isLastAxis(axis: unknown, rank: number): boolean {
  const a = Array.isArray(axis) && axis.length === 1 ? axis[0] : axis;
  return a === -1 || a === rank - 1;
}

/** The config key holding a unit writer's width. */
export function widthKey(node: GraphNode): 'units' | 'filters' {
  return node.className === 'Dense' ? 'units' : 'filters';
}

/** Whether a unit writer's own activation couples its channels (softmax), so its units cannot be replicated. */
export function hasCouplingActivation(node: GraphNode): boolean {
  return CHANNEL_COUPLING_ACTIVATIONS.has(String(node.config['activation']));
}
