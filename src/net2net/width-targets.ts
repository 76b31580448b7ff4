/**
 * Choosing widening targets: by a factor over a whole model (`scaleWidth`), or from another model of the same
 * layer names (`widthTargets`).
 */
import type * as tf from '@tensorflow/tfjs';
import { channelWidth, getNode, readGraph } from './graph.ts';
import { widthKey } from './layer-roles.ts';
import type { NoiseSpec } from './noise.ts';
import { validateNoise } from './noise.ts';
import { analyzeGroups, independentlyWidenable } from './remapping.ts';
import type { RecordSink } from './transform-record.ts';
import { widen } from './wider.ts';

export interface ScaleWidthOptions {
  /** Only layers for which this returns true are targeted (their element-wise partners follow). */
  filter?: (layer: tf.layers.Layer) => boolean;
  seed?: number;
  noise?: NoiseSpec;
  record?: RecordSink;
}

/**
 * Widens every unit writer that can be widened on its own (its output does not reach a model output or an
 * unsupported layer, directly or through a concatenation) to round(width * factor) units.
 */
export function scaleWidth(model: tf.LayersModel, factor: number, options: ScaleWidthOptions = {}): tf.LayersModel {
  if (!(Number.isFinite(factor) && factor >= 1))
    throw new Error(`scaleWidth: factor must be a number >= 1; got ${factor}`);
  const noise = validateNoise(options.noise);
  const graph = readGraph(model);
  const widenable = independentlyWidenable(analyzeGroups(graph));
  const targets: Record<string, number> = {};
  for (const name of graph.order) {
    if (!widenable.has(name)) continue;
    if (options.filter && !options.filter(model.getLayer(name))) continue;
    const width = channelWidth(getNode(graph, name));
    const target = Math.round(width * factor);
    if (target > width) targets[name] = target;
  }
  return widen(model, targets, {
    operator: 'scaleWidth',
    seed: options.seed,
    noise,
    record: options.record,
    recordExtra: { factor },
  });
}

/**
 * Dense/conv layers present in both models under the same name whose width (units/filters) differs, mapped to the
 * width in `studentLike`: the targets that widen `teacher` to `studentLike`'s architecture.
 */
export function widthTargets(teacher: tf.LayersModel, studentLike: tf.LayersModel): Record<string, number> {
  const teacherGraph = readGraph(teacher);
  const studentGraph = readGraph(studentLike);
  const targets: Record<string, number> = {};
  for (const name of teacherGraph.order) {
    const t = getNode(teacherGraph, name);
    const s = studentGraph.nodes.get(name);
    if (!s || s.className !== t.className) continue;
    if (!['Dense', 'Conv1D', 'Conv2D', 'Conv3D', 'SeparableConv2D'].includes(t.className)) continue;
    const key = widthKey(t);
    if (t.config[key] !== s.config[key]) targets[name] = Number(s.config[key]);
  }
  return targets;
}
