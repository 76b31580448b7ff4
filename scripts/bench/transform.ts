/**
 * `npm run bench -- transform [--model inception-10m|inception-bn|inception-bn-small] [--width W] [--input HxWxC]
 *                             [--factor F] [--inserts N] [--check-batch N] [--backend B] [--seed N]`
 *
 * Times the Net2Net operators on one network: build (baseline: rebuilding the graph and initializing its weights),
 * widen (scaleWidth by `--factor`, default sqrt 2), deepen (`--inserts` conv+BN identity inserts after ReLU layers
 * spread through the graph), and checkPreserved of each student on `--check-batch` random inputs. Prints one JSON
 * object per measurement: parameters before/after, seconds, the ratio to the build time measured in the same run,
 * RSS after the step and the process's peak RSS so far.
 *
 * The default model, `inception-10m`, is a ~10 M parameter Inception-style functional graph built here (stem,
 * seven four-branch modules with Concatenate, a dense head) on 16x16x3 inputs so the checks stay cheap on a CPU
 * (the transform times depend on the weights, not on the input size).
 */
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { BACKEND_CHOICES, isBackendChoice, selectBackend } from '../../src/backend/backend.ts';
import { buildModel, isModelName, MODEL_NAMES } from '../../src/models/registry.ts';
import { checkPreserved, deeper, scaleWidth } from '../../src/index.ts';
import type { DeeperSpec } from '../../src/index.ts';

type T = tf.SymbolicTensor;

const DEFAULT_MODEL = 'inception-10m';

function convBnRelu(x: T, filters: number, name: string, kernel: number, strides = 1): T {
  const conv = tf.layers.conv2d({ filters, kernelSize: kernel, strides, padding: 'same', useBias: false, name });
  const bn = tf.layers.batchNormalization({ name: `${name}/bn` });
  return tf.layers.reLU({ name: `${name}/relu` }).apply(bn.apply(conv.apply(x))) as T;
}

/** ~10 M parameters: stem, 7 Inception modules (1x1 | 1x1-3x3 | 1x1-5x5 | pool-1x1 into a Concatenate), dense head. */
function inception10m(input: [number, number, number]): tf.LayersModel {
  const inputs = tf.input({ shape: input, name: 'image' });
  let x = convBnRelu(inputs, 64, 'stem/conv1', 3, 2);
  x = convBnRelu(x, 192, 'stem/conv2', 3);
  x = tf.layers.maxPooling2d({ poolSize: 3, strides: 2, padding: 'same', name: 'stem/pool' }).apply(x) as T;
  for (let m = 1; m <= 7; m++) {
    const p = `module${m}`;
    const b1 = convBnRelu(x, 256, `${p}/1x1`, 1);
    const b2 = convBnRelu(convBnRelu(x, 192, `${p}/3x3_reduce`, 1), 384, `${p}/3x3`, 3);
    const b3 = convBnRelu(convBnRelu(x, 48, `${p}/5x5_reduce`, 1), 128, `${p}/5x5`, 5);
    const pool = tf.layers.maxPooling2d({ poolSize: 3, strides: 1, padding: 'same', name: `${p}/pool` }).apply(x) as T;
    const b4 = convBnRelu(pool, 128, `${p}/pool_proj`, 1);
    x = tf.layers.concatenate({ name: `${p}/output` }).apply([b1, b2, b3, b4]) as T;
    if (m === 3) x = tf.layers.maxPooling2d({ poolSize: 2, name: `${p}/downsample` }).apply(x) as T;
  }
  x = tf.layers.globalAveragePooling2d({ name: 'head/pool' }).apply(x) as T;
  const logits = tf.layers.dense({ units: 1000, name: 'head/logits' }).apply(x) as T;
  return tf.model({ inputs, outputs: logits, name: DEFAULT_MODEL });
}

function usage(message: string): never {
  console.error(`bench transform: ${message}`);
  process.exit(2);
}

function positive(name: string, text: string | undefined, fallback: number, integer: boolean): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0 || (integer && !Number.isInteger(value)))
    usage(`--${name} '${text}' is invalid: expected a positive ${integer ? 'integer' : 'number'}`);
  return value;
}

function parseInput(text: string): [number, number, number] {
  const parts = text.split('x').map(Number);
  if (parts.length !== 3 || !parts.every((n) => Number.isInteger(n) && n > 0))
    usage(`--input '${text}' is invalid: expected HxWxC, e.g. 32x32x3`);
  return parts as [number, number, number];
}

/** Every BatchNorm gets random gamma/beta/statistics, so the checks do not run on the trivial defaults. */
function randomizeBatchNorm(model: tf.LayersModel): void {
  for (const layer of model.layers) {
    if (layer.getClassName() !== 'BatchNormalization') continue;
    const values = tf.tidy(() =>
      layer.weights.map((w, i) =>
        i === 3 || i === 0
          ? tf.randomUniform(w.shape as number[], 0.5, 1.5)
          : tf.randomNormal(w.shape as number[], 0, 0.2),
      ),
    );
    layer.setWeights(values);
    tf.dispose(values);
  }
}

/** `count` ReLU layers with a 4-D output spread evenly through the graph (never the last layers). */
function insertionPoints(model: tf.LayersModel, count: number): string[] {
  const relus = model.layers.filter(
    (l) => l.getClassName() === 'ReLU' && (l.outputShape as number[]).length === 4 && l.outboundNodes.length > 0,
  );
  if (relus.length === 0) usage(`model '${model.name}' has no ReLU layer to insert after`);
  const picks = new Set<string>();
  for (let i = 0; i < count; i++) picks.add(relus[Math.floor(((i + 0.5) * relus.length) / count)].name);
  return [...picks];
}

export async function run(argv: string[]): Promise<void> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        model: { type: 'string', default: DEFAULT_MODEL },
        width: { type: 'string' },
        input: { type: 'string' },
        factor: { type: 'string' },
        inserts: { type: 'string' },
        'check-batch': { type: 'string' },
        backend: { type: 'string', default: 'auto' },
        seed: { type: 'string' },
      },
      strict: true,
    }));
  } catch (err) {
    usage((err as Error).message);
  }
  const modelName = values.model!;
  if (modelName !== DEFAULT_MODEL && !isModelName(modelName))
    usage(`--model '${modelName}' is not one of ${[DEFAULT_MODEL, ...MODEL_NAMES].join(', ')}`);
  if (values.width !== undefined && modelName === DEFAULT_MODEL)
    usage(`--width applies to the registry models (${MODEL_NAMES.join(', ')}), not to ${DEFAULT_MODEL}`);
  const backend = values.backend!;
  if (!isBackendChoice(backend)) usage(`--backend '${backend}' is not one of ${BACKEND_CHOICES.join(', ')}`);
  const width = positive('width', values.width, 1, false);
  const factor = positive('factor', values.factor, Math.SQRT2, false);
  if (factor < 1) usage(`--factor ${factor} is invalid: expected a number >= 1`);
  const insertCount = positive('inserts', values.inserts, 3, true);
  const checkBatch = positive('check-batch', values['check-batch'], 1, true);
  const seed = values.seed === undefined ? 1 : Math.floor(positive('seed', values.seed, 1, true));
  const input = values.input ? parseInput(values.input) : undefined;

  const info = await selectBackend(backend, (line) => console.error(line));
  const common = { bench: 'transform', backend: info.choice, model: modelName, ...(values.width ? { width } : {}) };
  let buildSeconds = 0;
  const emit = (measurement: string, seconds: number, extra: Record<string, unknown>): void => {
    const rss = process.memoryUsage().rss;
    console.log(
      JSON.stringify({
        ...common,
        measurement,
        ...extra,
        seconds: Math.round(seconds * 1000) / 1000,
        ...(measurement === 'build' ? {} : { ratio_to_build: Math.round((seconds / buildSeconds) * 100) / 100 }),
        rss_mb: Math.round(rss / 2 ** 20),
        peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024),
        tensors: tf.memory().numTensors,
      }),
    );
  };
  const time = <R>(fn: () => R): [R, number] => {
    const start = performance.now();
    const result = fn();
    return [result, (performance.now() - start) / 1000];
  };

  const [teacher, build] = time(() =>
    modelName === DEFAULT_MODEL
      ? inception10m(input ?? [16, 16, 3])
      : buildModel(modelName, { width, seed, ...(input ? { inputShape: input } : {}) }),
  );
  buildSeconds = build;
  randomizeBatchNorm(teacher);
  const params = teacher.countParams();
  emit('build', build, { params_before: params, params_after: params, layers: teacher.layers.length });

  const [widened, widen] = time(() => scaleWidth(teacher, factor, { seed, noise: 'zero-sum' }));
  emit('widen', widen, { params_before: params, params_after: widened.countParams(), factor, noise: 'zero-sum' });

  const shape = teacher.inputs[0].shape.slice(1) as number[];
  const data = tf.randomNormal([Math.max(2, checkBatch), ...shape], 0, 1, 'float32', seed);
  const inserts: DeeperSpec[] = insertionPoints(teacher, insertCount).map((after) => ({
    after,
    kind: 'conv',
    batchNorm: true,
  }));
  const [deepened, deepen] = time(() => deeper(teacher, inserts, { data }));
  emit('deepen', deepen, {
    params_before: params,
    params_after: deepened.countParams(),
    inserts: inserts.map((s) => s.after),
    statistics_batch: data.shape[0],
  });

  const checkInputs = tf.randomNormal([checkBatch, ...shape], 0, 1, 'float32', seed + 1);
  for (const [name, student] of [
    ['check-widened', widened],
    ['check-deepened', deepened],
  ] as const) {
    const [result, seconds] = time(() => checkPreserved(teacher, student, checkInputs));
    emit(name, seconds, {
      params_before: params,
      params_after: student.countParams(),
      batch: checkBatch,
      max_abs: result.maxAbs,
      max_rel: result.maxRel,
      ok: result.ok,
    });
  }
  tf.dispose([data, checkInputs]);
  [teacher, widened, deepened].forEach((m) => m.dispose());
}
