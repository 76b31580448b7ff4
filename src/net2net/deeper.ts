/**
 * Net2DeeperNet on any functional graph: identity layers inserted after named layers.
 */
import * as tf from '@tensorflow/tfjs';
import type { GraphNode, InboundRef, LayerEntry, LayerGraph } from './graph.ts';
import { channelWidth, readGraph } from './graph.ts';
import type { ChannelStatistics } from './insertion-statistics.ts';
import { measureChannelStatistics } from './insertion-statistics.ts';
import { buildFromConfig, transferWeights } from './rebuild.ts';
import type { DeeperRecord, InsertRecord, InsertStatistics, RecordSink } from './transform-record.ts';

export interface DeeperSpec {
  /** The layer whose output feeds the inserted layers; its former consumers read the last inserted layer. */
  after: string;
  kind: 'dense' | 'conv' | 'conv-pair';
  /** Odd kernel size of 'conv' (k x k) and 'conv-pair' (1 x k and k x 1); default 3. */
  kernel?: number;
  /** Follow each inserted layer by BatchNormalization (needs `data`). */
  batchNorm?: boolean;
  /** conv-pair order: kernel [1, k] then [k, 1] ('1xk-first', default) or the reverse. */
  pairOrder?: '1xk-first' | 'kx1-first';
  /** Prefix of the inserted layer names; default `${after}/deeper${n}` with the first free n. */
  name?: string;
}

export interface DeeperOptions {
  /** A batch of training inputs, needed when an insert has batchNorm. */
  data?: tf.Tensor | tf.Tensor[];
  /**
   * Which mode the statistics for inserted BatchNorm layers are measured in (see insertion-statistics.ts): both are
   * exact at inference; 'training' (default) keeps training-mode outputs much closer to the teacher's.
   */
  statistics?: 'training' | 'inference';
  /**
   * Average the statistics over batches of this many inputs of `data`, as precise BatchNorm re-estimates them
   * (train/precise-batch-norm.ts), instead of measuring all of `data` as one batch. A batch's variance is on average
   * (n-1)/n of the whole sample's, so inserts measured as one batch are not identities under an evaluation that
   * re-estimates statistics from training batches; measured per batch, the first insert of a stack is.
   */
  statisticsBatchSize?: number;
  record?: RecordSink;
}

/** Weights of the inserted layers, by layer name, in each layer's weight order. */
type NewWeights = Map<string, tf.Tensor[]>;

function isNonNegative(node: GraphNode): boolean {
  if (node.className === 'ReLU') return true;
  const activation = node.config['activation'];
  return activation === 'relu' || activation === 'relu6';
}

function validateSpec(graph: LayerGraph, spec: DeeperSpec, hasData: boolean): GraphNode {
  const node = graph.nodes.get(spec.after);
  if (!node) throw new Error(`deeper: no layer named '${spec.after}' in the model`);
  if (node.isModelOutput)
    throw new Error(
      `deeper: layer '${spec.after}' is a model output; inserting after it would change the output layer`,
    );
  if (!['dense', 'conv', 'conv-pair'].includes(spec.kind))
    throw new Error(`deeper: insert after '${spec.after}' has unknown kind '${spec.kind}' (dense, conv or conv-pair)`);
  const rank = node.outputShape.length;
  if (spec.kind === 'dense' && rank !== 2)
    throw new Error(`deeper: a dense insert needs a rank-2 output, but '${spec.after}' outputs rank ${rank}`);
  if (spec.kind !== 'dense' && rank !== 4)
    throw new Error(
      `deeper: a ${spec.kind} insert needs an [N, H, W, C] output, but '${spec.after}' outputs rank ${rank}`,
    );
  const k = spec.kernel ?? 3;
  if (spec.kind !== 'dense' && !(Number.isInteger(k) && k >= 1 && k % 2 === 1))
    throw new Error(
      `deeper: kernel ${k} after '${spec.after}' has no centre tap; an identity needs an odd kernel size`,
    );
  if (spec.kind === 'conv-pair' && k === 1)
    throw new Error(
      `deeper: a conv-pair with kernel 1 after '${spec.after}' would be two 1x1 convs named alike; use kind 'conv'`,
    );
  if (spec.pairOrder !== undefined && !['1xk-first', 'kx1-first'].includes(spec.pairOrder))
    throw new Error(`deeper: pairOrder '${spec.pairOrder}' after '${spec.after}' is not '1xk-first' or 'kx1-first'`);
  if (spec.batchNorm && !hasData)
    throw new Error(
      `deeper: the insert after '${spec.after}' has batchNorm, which needs options.data to set its statistics`,
    );
  if (node.consumers.length === 0) throw new Error(`deeper: layer '${spec.after}' has no consumers to rewire`);
  return node;
}

function entryOf(layer: tf.layers.Layer, input: string): LayerEntry {
  return {
    name: layer.name,
    className: layer.getClassName(),
    config: layer.getConfig() as Record<string, unknown>,
    inboundNodes: [[[input, 0, 0, {}]]],
  };
}

/** Identity conv kernel [kh, kw, C, C]: zeros with 1 at the centre tap (kh // 2, kw // 2) of each channel. */
export function identityConvKernel(kh: number, kw: number, channels: number): tf.Tensor {
  const values = new Float32Array(kh * kw * channels * channels);
  const centre = Math.floor(kh / 2) * kw + Math.floor(kw / 2);
  for (let c = 0; c < channels; c++) values[(centre * channels + c) * channels + c] = 1;
  return tf.tensor4d(values, [kh, kw, channels, channels]);
}

/** BatchNorm weights that make it an identity at inference on data with these statistics. */
function identityBatchNormWeights(stats: ChannelStatistics, epsilon: number): tf.Tensor[] {
  const gamma = stats.variance.map((v) => Math.sqrt(v + epsilon));
  return [tf.tensor1d(gamma), tf.tensor1d(stats.mean), tf.tensor1d(stats.mean), tf.tensor1d(stats.variance)];
}

function summarize(stats: ChannelStatistics, mode: 'training' | 'inference'): InsertStatistics {
  const mean = Array.from(stats.mean);
  const variance = Array.from(stats.variance);
  return {
    mode,
    samples: stats.samples,
    batchSize: stats.batchSize,
    channels: mean.length,
    mean,
    variance,
    meanOfMeans: mean.reduce((a, b) => a + b, 0) / mean.length,
    minVariance: Math.min(...variance),
    maxVariance: Math.max(...variance),
  };
}

function freePrefix(names: Set<string>, after: string): string {
  for (let n = 1; ; n++) {
    const prefix = `${after}/deeper${n}`;
    if (![...names].some((name) => name === prefix || name.startsWith(`${prefix}/`))) return prefix;
  }
}

/** One identity layer of an insert (before its BatchNorm and ReLU): its name and kernel size (null: dense). */
interface InsertedBlock {
  name: string;
  kernel: [number, number] | null;
}

/** The identity layers of one insert. */
function insertedBlocks(
  kind: DeeperSpec['kind'],
  prefix: string,
  k: number,
  order: NonNullable<DeeperSpec['pairOrder']>,
): InsertedBlock[] {
  if (kind === 'dense') return [{ name: prefix, kernel: null }];
  if (kind === 'conv') return [{ name: prefix, kernel: [k, k] }];
  const pair: [number, number][] =
    order === '1xk-first'
      ? [
          [1, k],
          [k, 1],
        ]
      : [
          [k, 1],
          [1, k],
        ];
  return pair.map(([kh, kw]) => ({ name: `${prefix}/${kh}x${kw}`, kernel: [kh, kw] }));
}

/** Makes every layer that read `from` read `to` instead; returns those layers' names. */
function rewireReaders(graph: LayerGraph, from: string, to: string): string[] {
  const rewired: string[] = [];
  for (const entry of graph.config.layers)
    for (const nodeRefs of entry.inboundNodes)
      for (const ref of nodeRefs as InboundRef[])
        if (ref[0] === from) {
          ref[0] = to;
          if (!rewired.includes(entry.name)) rewired.push(entry.name);
        }
  return rewired;
}

/** Adds one inserted block through `add`: the identity dense or conv, its identity BatchNorm, its ReLU. */
function addBlock(
  block: InsertedBlock,
  spec: DeeperSpec,
  channels: number,
  relu: boolean,
  statistics: ChannelStatistics | undefined,
  add: (layer: tf.layers.Layer, layerWeights: tf.Tensor[]) => void,
): void {
  const useBias = !spec.batchNorm;
  const bias = () => (useBias ? [tf.zeros([channels])] : []);
  if (block.kernel === null) {
    add(tf.layers.dense({ name: block.name, units: channels, useBias }), [tf.eye(channels), ...bias()]);
  } else {
    const [kh, kw] = block.kernel;
    const conv = tf.layers.conv2d({
      name: block.name,
      filters: channels,
      kernelSize: [kh, kw],
      strides: 1,
      padding: 'same',
      useBias,
    });
    add(conv, [identityConvKernel(kh, kw, channels), ...bias()]);
  }
  if (spec.batchNorm) {
    const bn = tf.layers.batchNormalization({ name: `${block.name}/bn`, axis: -1 });
    const epsilon = Number(bn.getConfig()['epsilon']);
    add(bn, identityBatchNormWeights(statistics!, epsilon));
  }
  if (relu) add(tf.layers.reLU({ name: `${block.name}/relu` }), []);
}

/**
 * Inserts identity layers per spec (in order; several inserts after one layer stack in that order). Exact at
 * inference; with BatchNorm, close to exact in training mode when statistics are 'training'.
 */
export function deeper(model: tf.LayersModel, inserts: DeeperSpec[], options: DeeperOptions = {}): tf.LayersModel {
  const graph = readGraph(model);
  const mode = options.statistics ?? 'training';
  if (mode !== 'training' && mode !== 'inference')
    throw new Error(`deeper: statistics must be 'training' or 'inference'; got '${String(mode)}'`);
  const nodes = inserts.map((spec) => validateSpec(graph, spec, options.data !== undefined));
  const needStats = [...new Set(inserts.filter((s) => s.batchNorm).map((s) => s.after))];
  const stats =
    needStats.length > 0
      ? measureChannelStatistics(model, needStats, options.data!, mode, options.statisticsBatchSize)
      : new Map<string, ChannelStatistics>();

  const names = new Set(graph.order);
  const tails = new Map<string, string>();
  const weights: NewWeights = new Map();
  const records: InsertRecord[] = [];
  try {
    inserts.forEach((spec, i) => {
      const node = nodes[i];
      const channels = channelWidth(node);
      const prefix = spec.name ?? freePrefix(names, spec.after);
      const relu = isNonNegative(node);
      const k = spec.kernel ?? 3;
      const order = spec.pairOrder ?? '1xk-first';
      const blocks = insertedBlocks(spec.kind, prefix, k, order);

      const tail = tails.get(spec.after) ?? spec.after;
      const newEntries: LayerEntry[] = [];
      let previous = tail;
      const add = (layer: tf.layers.Layer, layerWeights: tf.Tensor[]): void => {
        if (names.has(layer.name)) {
          tf.dispose(layerWeights);
          throw new Error(`deeper: the inserted layer name '${layer.name}' is already used in the model`);
        }
        names.add(layer.name);
        newEntries.push(entryOf(layer, previous));
        if (layerWeights.length > 0) weights.set(layer.name, layerWeights);
        previous = layer.name;
      };
      for (const block of blocks) addBlock(block, spec, channels, relu, stats.get(spec.after), add);

      const rewired = rewireReaders(graph, tail, previous);
      const at = graph.config.layers.findIndex((e) => e.name === tail);
      graph.config.layers.splice(at + 1, 0, ...newEntries);
      tails.set(spec.after, previous);
      const statistics = stats.get(spec.after);
      records.push({
        after: spec.after,
        kind: spec.kind,
        kernel: spec.kind === 'dense' ? 1 : k,
        batchNorm: spec.batchNorm ?? false,
        ...(spec.kind === 'conv-pair' ? { pairOrder: order } : {}),
        prefix,
        relu,
        layers: newEntries.map((e) => e.name),
        rewired,
        ...(spec.batchNorm && statistics ? { statistics: summarize(statistics, mode) } : {}),
      });
    });

    const student = buildFromConfig(graph.config, true);
    transferWeights(model, student, weights);
    const record: DeeperRecord = {
      operator: 'deeper',
      statistics: mode,
      inserts: records,
      paramsBefore: model.countParams(),
      paramsAfter: student.countParams(),
    };
    options.record?.(record);
    return student;
  } finally {
    for (const w of weights.values()) tf.dispose(w);
  }
}
