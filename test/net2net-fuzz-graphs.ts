/**
 * Small random graphs (seeded) mixing conv, BN, ReLU, pooling, Concatenate, Add, multiple consumers, Flatten and
 * Dense, with random wider targets (chosen per element-wise group) and random deeper inserts; shared by the fuzz tests.
 */
import * as tf from '@tensorflow/tfjs';
import type { DeeperSpec } from '../src/index.ts';
import { readGraph } from '../src/net2net/graph.ts';
import { analyzeGroups, independentlyWidenable } from '../src/net2net/remapping.ts';
import { SeededRandom } from '../src/random/seeded-random.ts';
import * as F from './net2net-fixtures.ts';

type T = tf.SymbolicTensor;
interface Slot {
  t: T;
  spatial: number;
  channels: number;
}

export function randomGraph(seed: number): tf.LayersModel {
  const r = new SeededRandom(seed, 'mulberry32');
  F.seedFixtures(seed * 1000);
  const input = tf.input({ shape: [6, 6, 3] });
  const pool: Slot[] = [{ t: input, spatial: 6, channels: 3 }];
  let id = 0;
  const name = (kind: string) => `f${seed}/${kind}${id++}`;
  const pick = (): Slot => pool[pool.length - 1 - r.int(Math.min(3, pool.length))];
  const width = () => 2 + r.int(4);
  const steps = 5 + r.int(5);
  for (let s = 0; s < steps; s++) {
    const src = pick();
    const op = r.int(7);
    if (op === 0 || src.t === input) {
      const n = name('block');
      pool.push({ ...src, t: F.convBnRelu(src.t, width(), n, r.next() < 0.5 ? 1 : 3), channels: 0 });
      pool[pool.length - 1].channels = pool[pool.length - 1].t.shape[3] as number;
    } else if (op === 1) {
      const c = width();
      pool.push({ ...src, t: F.conv(src.t, c, name('conv'), 3, r.next() < 0.5 ? 'relu' : 'linear'), channels: c });
    } else if (op === 2 && src.spatial >= 4) {
      const t = tf.layers.maxPooling2d({ poolSize: 2, name: name('maxpool') }).apply(src.t) as T;
      pool.push({ t, spatial: Math.floor(src.spatial / 2), channels: src.channels });
    } else if (op === 3) {
      const partners = pool.filter((p) => p.spatial === src.spatial && p.t !== src.t && p.t !== input);
      if (partners.length === 0) continue;
      const other = partners[r.int(partners.length)];
      const t = tf.layers.concatenate({ name: name('concat') }).apply([src.t, other.t]) as T;
      pool.push({ t, spatial: src.spatial, channels: src.channels + other.channels });
    } else if (op === 4) {
      // A residual-style branch: conv-BN back to the source width, added to the source.
      const branch = F.bn(F.conv(F.convBnRelu(src.t, width(), name('res')), src.channels, name('res')), name('res_bn'));
      let t = tf.layers.add({ name: name('add') }).apply([src.t, branch]) as T;
      if (r.next() < 0.5) t = F.relu(t, name('relu'));
      pool.push({ ...src, t });
    } else if (op === 5) {
      pool.push({ ...src, t: F.bn(src.t, name('bn')) });
    } else {
      const t = tf.layers
        .averagePooling2d({ poolSize: 3, strides: 1, padding: 'same', name: name('avgpool') })
        .apply(src.t) as T;
      pool.push({ ...src, t });
    }
  }
  const last = pool[pool.length - 1];
  let x: T;
  if (r.next() < 0.5) {
    x = tf.layers.globalAveragePooling2d({ name: name('gap') }).apply(last.t) as T;
  } else {
    x = tf.layers.flatten({ name: name('flatten') }).apply(last.t) as T;
  }
  x = F.dense(x, width() + 2, name('fc'), 'relu');
  if (r.next() < 0.5) x = F.bn(x, name('fc_bn'));
  const out = F.dense(x, 3, name('logits'));
  return F.randomizeBatchNorm(tf.model({ inputs: input, outputs: out }), seed);
}

export function randomTargets(model: tf.LayersModel, r: SeededRandom): Record<string, number> {
  const analysis = analyzeGroups(readGraph(model));
  const widenable = independentlyWidenable(analysis);
  const targets: Record<string, number> = {};
  for (const group of analysis.groups) {
    const writers = group.writers.filter((w) => widenable.has(w));
    if (writers.length === 0 || r.next() < 0.4) continue;
    targets[writers[r.int(writers.length)]] = group.width! + 1 + r.int(3);
  }
  return targets;
}

export function randomInserts(model: tf.LayersModel, r: SeededRandom): DeeperSpec[] {
  const graph = readGraph(model);
  const candidates = graph.order.filter((n) => {
    const node = graph.nodes.get(n)!;
    return !node.isModelOutput && !node.isModelInput && node.consumers.length > 0;
  });
  const inserts: DeeperSpec[] = [];
  for (let i = 0; i < 2; i++) {
    const after = candidates[r.int(candidates.length)];
    const rank = graph.nodes.get(after)!.outputShape.length;
    const kind = rank === 2 ? 'dense' : r.next() < 0.5 ? 'conv' : 'conv-pair';
    inserts.push({ after, kind, kernel: kind === 'conv' && r.next() < 0.3 ? 1 : 3, batchNorm: r.next() < 0.7 });
  }
  return inserts;
}
