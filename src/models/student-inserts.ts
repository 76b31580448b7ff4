/**
 * The `deeper` inserts that turn a model of this family into its deeper students, named exactly as the builder names
 * them, so that `deeper(teacher, extraPairInserts(teacher, n), { data })` has the architecture of
 * `buildModel(name, { ...teacherOptions, extraPairs: n })`, and likewise for `topPairInserts` and `topPairs`.
 *
 * Several inserts after one layer stack in order, so every insert of a group names the same `after` layer.
 */
import type * as tf from '@tensorflow/tfjs';
import type { DeeperSpec } from '../net2net/deeper.ts';

function pairInsert(after: string, name: string): DeeperSpec {
  return { after, kind: 'conv-pair', kernel: 3, batchNorm: true, pairOrder: 'kx1-first', name };
}

/** The factorized 3x3 convs N of a model: Conv2D layers `N/3x1` that are not themselves inserted pairs. */
export function factorizedConvNames(model: tf.LayersModel): string[] {
  return model.layers
    .filter((l) => l.getClassName() === 'Conv2D' && l.name.endsWith('/3x1'))
    .map((l) => l.name.slice(0, -'/3x1'.length))
    .filter((n) => !/\/(extra|top)\d+$/.test(n));
}

/** The Inception modules M of a model: those with a `M/concat` Concatenate and a `M/output` layer. */
export function moduleNames(model: tf.LayersModel): string[] {
  const names = new Set(model.layers.map((l) => l.name));
  return model.layers
    .filter((l) => l.getClassName() === 'Concatenate' && l.name.endsWith('/concat'))
    .map((l) => l.name.slice(0, -'/concat'.length))
    .filter((m) => names.has(`${m}/output`));
}

/** `count` pairs `N/extra${i}` after every factorized pair N (the deeper experiment's student). */
export function extraPairInserts(model: tf.LayersModel, count: number): DeeperSpec[] {
  const convs = factorizedConvNames(model);
  if (convs.length === 0) {
    throw new Error(`model '${model.name}' has no factorized 3x1 -> 1x3 pairs (build it with factorized: true)`);
  }
  return convs.flatMap((n) =>
    Array.from({ length: count }, (_, i) => pairInsert(`${n}/1x3/relu`, `${n}/extra${i + 1}`)),
  );
}

/** `count` pairs `M/top${i}` on top of every module M (the exploration's student). */
export function topPairInserts(model: tf.LayersModel, count: number): DeeperSpec[] {
  const modules = moduleNames(model);
  if (modules.length === 0) throw new Error(`model '${model.name}' has no Inception modules (M/concat + M/output)`);
  return modules.flatMap((m) => Array.from({ length: count }, (_, i) => pairInsert(`${m}/output`, `${m}/top${i + 1}`)));
}
