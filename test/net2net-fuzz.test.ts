/**
 * Fuzzing: small random graphs (seeded) mixing conv, BN, ReLU, pooling, Concatenate, Add, multiple consumers,
 * Flatten and Dense; random wider targets (chosen per element-wise group) and random deeper inserts must preserve
 * the function at inference and in training mode (deeper: on the batch its BatchNorm statistics came from).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../src/backend/backend.ts';
import { deeper, wider, checkPreserved } from '../src/index.ts';
import type { DeeperSpec } from '../src/index.ts';
import { readGraph } from '../src/net2net/graph.ts';
import { SeededRandom } from '../src/random/seeded-random.ts';
import { analyzeGroups, independentlyWidenable } from '../src/net2net/remapping.ts';
import * as F from './net2net-fixtures.ts';

await selectBackend('cpu', () => {});

type T = tf.SymbolicTensor;
interface Slot {
  t: T;
  spatial: number;
  channels: number;
}

function randomGraph(seed: number): tf.LayersModel {
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

function randomTargets(model: tf.LayersModel, r: SeededRandom): Record<string, number> {
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

function randomInserts(model: tf.LayersModel, r: SeededRandom): DeeperSpec[] {
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

test('fuzz: wider and deeper preserve random small graphs', () => {
  const worst = { widerInference: 0, widerTraining: 0, deeperInference: 0, deeperTraining: 0 };
  let widened = 0;
  const classes = new Map<string, number>();
  for (let seed = 1; seed <= 12; seed++) {
    const r = new SeededRandom(1000 + seed, 'mulberry32');
    const teacher = randomGraph(seed);
    for (const layer of teacher.layers) classes.set(layer.getClassName(), (classes.get(layer.getClassName()) ?? 0) + 1);
    const multiConsumer = [...readGraph(teacher).nodes.values()].some((n) => n.consumers.length > 1);
    if (multiConsumer) classes.set('(multiple consumers)', (classes.get('(multiple consumers)') ?? 0) + 1);
    const inputs = F.randomInputs(teacher, 32, seed);
    const targets = randomTargets(teacher, r);
    if (Object.keys(targets).length > 0) widened++;
    const noise = seed % 2 === 0 ? 'zero-sum' : 'none';
    const student = wider(teacher, targets, { seed, noise });
    const a = checkPreserved(teacher, student, inputs);
    const b = checkPreserved(teacher, student, inputs, { training: true });
    assert.ok(a.ok, `graph ${seed}, wider ${JSON.stringify(targets)} noise ${noise}: maxRel ${a.maxRel}`);
    assert.ok(b.maxRel < 1e-4, `graph ${seed}, wider in training mode: maxRel ${b.maxRel}`);
    worst.widerInference = Math.max(worst.widerInference, a.maxRel);
    worst.widerTraining = Math.max(worst.widerTraining, b.maxRel);

    const inserts = randomInserts(teacher, r);
    const data = F.randomInputs(teacher, 128, seed + 50);
    const deep = deeper(teacher, inserts, { data });
    const c = checkPreserved(teacher, deep, inputs);
    // In training mode an inserted BatchNorm normalizes by the batch's own statistics: it is the identity on the
    // batch its statistics were measured on (`data`), and only close to it on other batches.
    const d = checkPreserved(teacher, deep, data, { training: true });
    assert.ok(c.ok, `graph ${seed}, deeper ${JSON.stringify(inserts)}: maxRel ${c.maxRel}`);
    assert.ok(d.maxRel < 1e-4, `graph ${seed}, deeper in training mode on the statistics batch: maxRel ${d.maxRel}`);
    worst.deeperInference = Math.max(worst.deeperInference, c.maxRel);
    worst.deeperTraining = Math.max(worst.deeperTraining, d.maxRel);
    tf.dispose([inputs, data]);
    [teacher, student, deep].forEach((m) => m.dispose());
  }
  console.log(`# fuzz worst maxRel over 12 graphs: ${JSON.stringify(worst)}`);
  console.log(`# fuzz layer classes: ${JSON.stringify(Object.fromEntries(classes))}`);
  for (const cls of ['Concatenate', 'Add', 'Flatten', 'MaxPooling2D', 'BatchNormalization', '(multiple consumers)'])
    assert.ok(classes.has(cls), `the fuzzer never built ${cls}`);
  assert.ok(widened >= 8, `only ${widened} graphs had widenable targets`);
});
