/**
 * Reading a tf.LayersModel as a graph of layers: its functional config (deep-cloned, safe to edit), each layer's
 * inbound layers, consumers and output shape. A layer's single output tensor is named by the layer.
 */
import type * as tf from '@tensorflow/tfjs';

/** An inbound tensor reference in a functional config: [layerName, nodeIndex, tensorIndex, kwargs]. */
export type InboundRef = [string, number, number, Record<string, unknown>];

export interface LayerEntry {
  name: string;
  className: string;
  config: Record<string, unknown>;
  inboundNodes: InboundRef[][];
}

export interface FunctionalConfig {
  name: string;
  layers: LayerEntry[];
  inputLayers: [string, number, number][];
  outputLayers: [string, number, number][];
}

export interface GraphNode {
  readonly name: string;
  readonly className: string;
  readonly config: Record<string, unknown>;
  /** Inbound layer names, in call order. */
  readonly inputs: string[];
  /** Layers that read this layer's output (each listed once per reading layer). */
  readonly consumers: string[];
  /** Output shape with the batch dimension first (null entries are unknown sizes). */
  readonly outputShape: (number | null)[];
  readonly isModelInput: boolean;
  readonly isModelOutput: boolean;
}

export interface LayerGraph {
  /** Deep clone of the model's functional config; editing it never touches the model. */
  readonly config: FunctionalConfig;
  readonly nodes: ReadonlyMap<string, GraphNode>;
  /** Layer names in config (topological) order. */
  readonly order: string[];
}

export function cloneConfig<T>(config: T): T {
  // getConfig() shares arrays with the live layers: never edit it in place.
  return JSON.parse(JSON.stringify(config)) as T;
}

/** The model's config in functional form; a tf.Sequential is rewritten as the equivalent chain. */
export function functionalConfig(model: tf.LayersModel): FunctionalConfig {
  const raw = cloneConfig(model.getConfig()) as unknown as Record<string, unknown>;
  const layers = raw['layers'] as Record<string, unknown>[];
  if (layers.length === 0 || 'inboundNodes' in layers[0]) return raw as unknown as FunctionalConfig;
  // Sequential: [{className, config}], the first carrying batchInputShape.
  const first = layers[0]['config'] as Record<string, unknown>;
  const batchInputShape = first['batchInputShape'];
  if (!Array.isArray(batchInputShape))
    throw new Error(`sequential model '${model.name}': first layer '${String(first['name'])}' has no input shape`);
  const inputName = model.inputs[0]?.name.replace(/:\d+$/, '') || `${String(first['name'])}_input`;
  const entries: LayerEntry[] = [
    {
      name: inputName,
      className: 'InputLayer',
      config: { batchInputShape, dtype: first['dtype'] ?? 'float32', sparse: false, name: inputName },
      inboundNodes: [],
    },
  ];
  let previous = inputName;
  for (const layer of layers) {
    const config = layer['config'] as Record<string, unknown>;
    const name = String(config['name']);
    delete config['batchInputShape'];
    delete config['inputShape'];
    entries.push({ name, className: String(layer['className']), config, inboundNodes: [[[previous, 0, 0, {}]]] });
    previous = name;
  }
  return {
    name: String(raw['name']),
    layers: entries,
    inputLayers: [[inputName, 0, 0]],
    outputLayers: [[previous, 0, 0]],
  };
}

export function readGraph(model: tf.LayersModel): LayerGraph {
  const config = functionalConfig(model);
  const inputNames = new Set(config.inputLayers.map((r) => r[0]));
  const outputNames = new Set(config.outputLayers.map((r) => r[0]));
  for (const ref of [...config.inputLayers, ...config.outputLayers])
    if (ref[1] !== 0 || ref[2] !== 0)
      throw new Error(`layer '${ref[0]}': model inputs/outputs other than a layer's first output are not supported`);
  const consumers = new Map<string, string[]>(config.layers.map((l) => [l.name, []]));
  const nodes = new Map<string, GraphNode>();
  for (const entry of config.layers) {
    if (entry.inboundNodes.length > 1)
      throw new Error(
        `layer '${entry.name}' (${entry.className}) is applied ${entry.inboundNodes.length} times (a shared layer); ` +
          'net2net transforms graphs whose layers are applied once',
      );
    const inputs = (entry.inboundNodes[0] ?? []).map((ref) => {
      if (ref[1] !== 0 || ref[2] !== 0)
        throw new Error(`layer '${entry.name}' reads output ${ref[2]} of node ${ref[1]} of '${ref[0]}': not supported`);
      return ref[0];
    });
    for (const input of inputs) {
      const list = consumers.get(input);
      if (!list) throw new Error(`layer '${entry.name}' reads unknown layer '${input}'`);
      list.push(entry.name);
    }
    if (entry.className === 'SeparableConv2D') refuseLostDepthMultiplier(model, entry);
    nodes.set(entry.name, {
      name: entry.name,
      className: entry.className,
      config: entry.config,
      inputs,
      consumers: consumers.get(entry.name)!,
      outputShape: layerOutputShape(model, entry),
      isModelInput: inputNames.has(entry.name),
      isModelOutput: outputNames.has(entry.name),
    });
  }
  return { config, nodes, order: config.layers.map((l) => l.name) };
}

/** TF.js 4.22's SeparableConv2D.getConfig() omits depthMultiplier, so a rebuilt layer would silently get 1. */
function refuseLostDepthMultiplier(model: tf.LayersModel, entry: LayerEntry): void {
  const depthwise = model.getLayer(entry.name).weights.find((w) => w.originalName.endsWith('depthwise_kernel'));
  const multiplier = depthwise?.shape[3] ?? 1;
  if (multiplier !== 1 && entry.config['depthMultiplier'] === undefined)
    throw new Error(
      `layer '${entry.name}' (SeparableConv2D) has depthMultiplier ${multiplier}, which TF.js drops from the layer ` +
        'config: the model cannot be rebuilt from its config',
    );
}

function layerOutputShape(model: tf.LayersModel, entry: LayerEntry): (number | null)[] {
  if (entry.className === 'InputLayer') return entry.config['batchInputShape'] as (number | null)[];
  const shape = model.getLayer(entry.name).outputShape;
  if (Array.isArray(shape[0]))
    throw new Error(`layer '${entry.name}' (${entry.className}) has several outputs: not supported`);
  return shape as (number | null)[];
}

export function getNode(graph: LayerGraph, name: string): GraphNode {
  const node = graph.nodes.get(name);
  if (!node) throw new Error(`no layer named '${name}' in the model`);
  return node;
}

/** Size of the channel (last) axis of a layer's output. */
export function channelWidth(node: GraphNode): number {
  const width = node.outputShape[node.outputShape.length - 1];
  if (typeof width !== 'number') throw new Error(`layer '${node.name}' has an unknown channel size`);
  return width;
}
