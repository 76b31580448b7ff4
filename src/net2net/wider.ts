/**
 * Net2WiderNet on any functional graph (`wider`) and its random-pad baseline (`randomPad`).
 */
import * as tf from '@tensorflow/tfjs';
import type { GraphNode, LayerGraph } from './graph.ts';
import { getNode, readGraph } from './graph.ts';
import type { LayerRole } from './layer-roles.ts';
import { widthKey } from './layer-roles.ts';
import type { WeightFill } from './layer-weights.ts';
import { widenedLayerWeights } from './layer-weights.ts';
import { freshSeed, operatorRandom } from './mapping.ts';
import type { NoiseSpec } from './noise.ts';
import { validateNoise, ZERO_SUM_RELATIVE_SCALE } from './noise.ts';
import { buildFromConfig, transferWeights } from './rebuild.ts';
import type { RemappingPlan } from './remapping.ts';
import { inferRemapping } from './remapping.ts';
import type { UnitMapping } from './mapping.ts';
import type { RecordSink, WidthRecord } from './transform-record.ts';

export interface WiderOptions {
  /** Seed of the mappings g and the noise; drawn at random (and recorded) when absent. */
  seed?: number;
  noise?: NoiseSpec;
  record?: RecordSink;
}

/** Widens the named unit writers (layer name -> new width); every group they touch follows. Exact with noise 'none'/'zero-sum'. */
export function wider(
  model: tf.LayersModel,
  targets: Record<string, number>,
  options: WiderOptions = {},
): tf.LayersModel {
  const noise = validateNoise(options.noise);
  return widen(model, targets, { operator: 'wider', seed: options.seed, noise, record: options.record });
}

/**
 * Baseline: the same student shapes as `wider`, but new units get random incoming and outgoing weights from the
 * layers' own initializers (BatchNorm: gamma 1, beta 0, mean 0, var 1) and old weights are kept undivided.
 * Not function-preserving.
 */
export function randomPad(
  model: tf.LayersModel,
  targets: Record<string, number>,
  options: Omit<WiderOptions, 'noise'> = {},
): tf.LayersModel {
  return widen(model, targets, { operator: 'randomPad', seed: options.seed, noise: 'none', record: options.record });
}

export interface WidenOptions {
  operator: WidthRecord['operator'];
  /** Drawn at random (and recorded) when absent. */
  seed?: number;
  /** Validated by the caller. */
  noise: NoiseSpec;
  record?: RecordSink;
  /** Operator-specific fields of the record (scaleWidth's factor). */
  recordExtra?: Partial<WidthRecord>;
}

/** A layer whose weights a widening changes, with the mappings of the tensors it reads and writes. */
export interface WidenedLayer {
  name: string;
  node: GraphNode;
  role: LayerRole;
  /** Mapping of the tensor it reads (undefined: unchanged; always undefined for BatchNorm, which follows its output). */
  inMap: UnitMapping | undefined;
  /** Mapping of the tensor it writes (undefined: unchanged). */
  outMap: UnitMapping | undefined;
}

/** The layers of `graph` whose weights the plan changes, in config order. */
export function widenedLayers(graph: LayerGraph, plan: RemappingPlan): WidenedLayer[] {
  const roles = plan.analysis.roles;
  const layers: WidenedLayer[] = [];
  for (const entry of graph.config.layers) {
    const node = getNode(graph, entry.name);
    const role = roles.get(entry.name)!;
    const inMap = node.inputs.length === 1 ? plan.mappings.get(node.inputs[0]) : undefined;
    const outMap = plan.mappings.get(entry.name);
    const touched =
      (role === 'unit-writer' && (inMap || outMap)) ||
      (role === 'channelwise' && outMap) ||
      (role === 'depthwise' && inMap);
    if (touched)
      layers.push({ name: entry.name, node, role, inMap: role === 'channelwise' ? undefined : inMap, outMap });
  }
  return layers;
}

/** The plan a width record was drawn with, drawn again from the teacher's graph, the record's targets and seed. */
export function replayWidthPlan(
  model: tf.LayersModel,
  record: WidthRecord,
): { graph: LayerGraph; plan: RemappingPlan } {
  const graph = readGraph(model);
  const plan = inferRemapping(graph, record.targets, operatorRandom(record.seed));
  return { graph, plan };
}

/** Shared by wider, randomPad and scaleWidth. */
export function widen(model: tf.LayersModel, targets: Record<string, number>, options: WidenOptions): tf.LayersModel {
  const { operator, noise, record } = options;
  const seed = options.seed ?? freshSeed();
  const random = operatorRandom(seed);
  const graph = readGraph(model);
  const plan = inferRemapping(graph, targets, random);
  const replaced = new Map<string, tf.Tensor[]>();
  const entries = new Map(graph.config.layers.map((entry) => [entry.name, entry]));
  try {
    for (const { name, node, role, inMap, outMap } of widenedLayers(graph, plan)) {
      if (role === 'unit-writer' && outMap) entries.get(name)!.config[widthKey(node)] = outMap.g.length;
      const layerRandom = operatorRandom(random.derive(`weights:${name}`));
      const fill: WeightFill =
        operator === 'randomPad'
          ? { kind: 'random-pad', random: layerRandom }
          : { kind: 'replicate', noise, random: layerRandom };
      replaced.set(name, widenedLayerWeights(model.getLayer(name), node, role, inMap, outMap, fill));
    }
    const student = buildFromConfig(graph.config, true);
    transferWeights(model, student, replaced);
    record?.({
      operator,
      seed,
      noise,
      ...(noise === 'zero-sum' ? { zeroSumScale: ZERO_SUM_RELATIVE_SCALE } : {}),
      ...options.recordExtra,
      targets: { ...targets },
      groups: plan.resolved,
      paramsBefore: model.countParams(),
      paramsAfter: student.countParams(),
    });
    return student;
  } finally {
    for (const weights of replaced.values()) tf.dispose(weights);
  }
}
