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
import { readGraph } from '../src/net2net/graph.ts';
import { SeededRandom } from '../src/random/seeded-random.ts';
import * as F from './net2net-fixtures.ts';
import { randomGraph, randomInserts, randomTargets } from './net2net-fuzz-graphs.ts';

await selectBackend('cpu', () => {});

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
