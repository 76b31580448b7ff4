/**
 * The one generic experiment runner: trains (or reuses from the cache) the teacher, makes each method's initial
 * model from it, checks and records the transform, trains every student, then draws the figures and writes the
 * experiment summary. Everything an experiment varies lives in its definition and the preset.
 *
 * Layout: `<out>/experiment.json`, `<out>/<run>/{config.json,curve.csv,checkpoint/,transform.json,summary.json}`,
 * `<out>/figures/`, `<out>/summary.json`. The teacher is trained in `<cache>/teachers/<hash of its configuration>/`
 * and copied to `<out>/teacher/`.
 */
import * as tf from '@tensorflow/tfjs';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { BackendChoice, BackendInfo } from '../src/backend/backend.ts';
import { selectBackend } from '../src/backend/backend.ts';
import { openDataset } from '../src/data/open-dataset.ts';
import type { OpenDatasetOptions } from '../src/data/open-dataset.ts';
import { drawExperimentFigures } from '../src/figures/draw-experiment.ts';
import { readCurveFile } from '../src/figures/curve-file.ts';
import { runStatistics, teacherReference } from '../src/figures/run-statistics.ts';
import type { RunStatistics } from '../src/figures/run-statistics.ts';
import { checkPreserved } from '../src/index.ts';
import type { CheckResult, TransformRecord } from '../src/index.ts';
import { writeJsonAtomic } from '../src/io/atomic-file.ts';
import { acquireWaitLock } from '../src/io/wait-lock.ts';
import { loadModel } from '../src/models/model-files.ts';
import { buildModel } from '../src/models/registry.ts';
import type { ModelOptions } from '../src/models/registry.ts';
import { checkpointDir } from '../src/train/checkpoint.ts';
import { createDataParallelStepEngine } from '../src/train/data-parallel/data-parallel-step-engine.ts';
import { createProgress, formatDuration, silentProgress } from '../src/train/progress.ts';
import type { EngineFactory, TrainConfig } from '../src/train/trainer.ts';
import { INCEPTION_RMSPROP, localEngine, train } from '../src/train/trainer.ts';
import type { ExperimentDefinition, ExperimentName, MethodDefinition } from './definition.ts';
import type { Preset, PresetName } from './presets.ts';
import { PRESETS } from './presets.ts';
import { EXPERIMENTS } from './registry.ts';

export interface ExperimentOptions {
  experiment: ExperimentName;
  /** 'default' when no --preset is given. */
  preset: PresetName;
  /** Dataset spec; default: the preset's (required for 'paper'). */
  data?: string;
  backend: BackendChoice;
  /** Steps of every run (teacher and students). */
  steps?: number;
  /** Steps of the teacher only (wins over `steps`). */
  teacherSteps?: number;
  batchSize?: number;
  /** Default results/<experiment>[-<preset>]. */
  out?: string;
  /** Continue the runs found in `out` (finished runs are kept, others continue from their checkpoint). */
  resume: boolean;
  /** Replace the runs found in `out` instead of refusing to. */
  overwrite?: boolean;
  seed: number;
  /** Data-parallel worker threads (wasm or cpu backend); 1 = train on this thread. */
  workers?: number;
  evalEvery?: number;
  checkpointEvery?: number;
  /** The teacher's initial learning rate (students: times their multiplier). */
  learningRate?: number;
  /** Image side for image folders (the paper preset's 224 otherwise). */
  imageSize?: number;
  limitTrain?: number;
  limitVal?: number;
  /** Image folders: decode worker threads (default: half the cores, 1 to 4; 0 = this thread). */
  decodeThreads?: number;
  /** Where trained teachers are cached; default `<dirname(out)>/.cache`. */
  cacheDir?: string;
  log?: (line: string) => void;
  /** Progress bar / lines per run (default true). */
  progress?: boolean;
  /** Draw the figures at the end (default true). */
  figures?: boolean;
  /**
   * Only these student runs (by run name; the teacher always runs). Default: every run the preset affords. Lets a
   * cluster train the methods of one experiment as separate jobs on one shared teacher.
   */
  only?: string[];
  /** Called after every step of every run (tests simulate a crash by throwing). */
  afterStep?: (run: string, step: number) => void;
}

export interface RunDescription {
  run: string;
  role: 'teacher' | 'net2net' | 'baseline';
  label: string;
}

export interface ExperimentResult {
  out: string;
  runs: RunDescription[];
  statistics: RunStatistics[];
  figures: string[];
  wallSeconds: number;
}

/** A problem with the request itself (bad combination of options): the CLI exits with status 2. */
export class ExperimentUsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ExperimentUsageError';
  }
}

export function defaultOutDir(experiment: ExperimentName, preset: PresetName): string {
  return join('results', preset === 'default' ? experiment : `${experiment}-${preset}`);
}

/** The preset with the command line's overrides applied. */
export function resolvePreset(options: ExperimentOptions): Preset & { data: string } {
  const base = PRESETS[options.preset];
  const data = options.data ?? base.data;
  if (data === null)
    throw new ExperimentUsageError(
      `preset '${base.name}' needs --data (e.g. --data imagenet:/data/ilsvrc2012, or folder:<dir>)`,
    );
  return {
    ...base,
    data,
    teacherSteps: options.teacherSteps ?? options.steps ?? base.teacherSteps,
    studentSteps: options.steps ?? base.studentSteps,
    batchSize: options.batchSize ?? base.batchSize,
    evalEvery: options.evalEvery ?? base.evalEvery,
    checkpointEvery: options.checkpointEvery ?? base.checkpointEvery,
    learningRate: options.learningRate ?? base.learningRate,
    imageSize: options.imageSize ?? base.imageSize,
    limitTrain: options.limitTrain ?? base.limitTrain,
    limitVal: options.limitVal ?? base.limitVal,
  };
}

function gitCommit(): string | null {
  try {
    return execFileSync('git', ['rev-parse', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return null;
  }
}

/** JSON with sorted keys, so equal configurations hash equally. */
function stableJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => a.localeCompare(b)))
      : v,
  );
}

function readJson<T>(path: string): T | null {
  if (!existsSync(path)) return null;
  return JSON.parse(readFileSync(path, 'utf8')) as T;
}

function isFinished(runDir: string, steps: number): boolean {
  const summary = readJson<{ steps?: number }>(join(runDir, 'summary.json'));
  return summary?.steps === steps && existsSync(checkpointDir(runDir));
}

/** The part of a run's config that must match for --resume to continue it. */
function resumeKey(config: RunConfig): string {
  return stableJson({
    model: config.model,
    data: config.data,
    train: { ...config.train, checkpointEvery: 0 },
    // A student continues only from the teacher it was made from.
    teacher: config.role === 'teacher' ? null : (config.teacherCacheKey ?? null),
  });
}

interface RunConfig {
  experiment: ExperimentName;
  preset: PresetName;
  run: string;
  role: RunDescription['role'];
  label: string;
  init: string;
  learningRateMultiplier: number;
  model: { family: string; options: ModelOptions };
  data: { spec: string; options: Omit<OpenDatasetOptions, 'log'> };
  train: TrainConfig;
  seed: number;
  backend: string;
  workers: number;
  gitCommit: string | null;
  teacherCacheKey?: string;
}

function writeRunConfig(runDir: string, config: RunConfig, resume: boolean): void {
  const path = join(runDir, 'config.json');
  const previous = readJson<RunConfig>(path);
  if (resume && previous && existsSync(checkpointDir(runDir)) && resumeKey(previous) !== resumeKey(config)) {
    throw new ExperimentUsageError(
      `cannot resume '${runDir}': it was started with a different configuration (${path}); ` +
        'use the same options, or --overwrite to start it again',
    );
  }
  writeJsonAtomic(path, config);
}

/** Same weight names and shapes: the transformed model is the student architecture. */
function architectureDifference(a: tf.LayersModel, b: tf.LayersModel): string | null {
  const describe = (m: tf.LayersModel) => new Map(m.weights.map((w) => [w.originalName, w.shape.join('x')]));
  const wa = describe(a);
  const wb = describe(b);
  for (const [name, shape] of wa) {
    if (!wb.has(name)) return `weight '${name}' is not in the student architecture`;
    if (wb.get(name) !== shape) return `weight '${name}' has shape ${shape}, the student architecture ${wb.get(name)}`;
  }
  for (const name of wb.keys()) if (!wa.has(name)) return `the student architecture's weight '${name}' is missing`;
  return null;
}

async function firstBatch(batches: AsyncIterableIterator<{ x: tf.Tensor4D; y: tf.Tensor1D }>): Promise<tf.Tensor4D> {
  const next = await batches.next();
  await batches.return?.(undefined);
  if (next.done) throw new Error('the dataset gave no batch');
  next.value.y.dispose();
  return next.value.x;
}

export async function runExperiment(options: ExperimentOptions): Promise<ExperimentResult> {
  const started = performance.now();
  const cpuStarted = process.cpuUsage();
  const log = options.log ?? ((line: string) => console.error(line));
  const definition: ExperimentDefinition = EXPERIMENTS[options.experiment];
  if (!definition) throw new ExperimentUsageError(`unknown experiment '${options.experiment}'`);
  const preset = resolvePreset(options);
  const workers = options.workers ?? 1;
  const out = resolve(options.out ?? defaultOutDir(options.experiment, options.preset));
  const cacheDir = resolve(options.cacheDir ?? join(dirname(out), '.cache'));
  const methods = selectMethods(definition, preset, options.only);
  const runs: RunDescription[] = [
    { run: 'teacher', role: 'teacher', label: definition.teacherLabel(preset) },
    ...methods.map((m) => ({ run: m.run, role: m.role, label: m.label })),
  ];
  prepareOutDir(out, runs, options);

  const backend = await selectBackend(options.backend, log);
  const createEngine = engineFactory(backend, workers);
  const imageFolder = /^(imagenet|folder):/.test(preset.data);
  const dataOptions: Omit<OpenDatasetOptions, 'log'> = {
    ...(imageFolder && preset.imageSize !== undefined ? { imageSize: preset.imageSize } : {}),
    ...(preset.limitTrain !== undefined ? { limitTrain: preset.limitTrain } : {}),
    ...(preset.limitVal !== undefined ? { limitVal: preset.limitVal } : {}),
    ...(preset.augment !== undefined ? { augment: preset.augment } : {}),
    ...(options.decodeThreads !== undefined ? { decodeThreads: options.decodeThreads } : {}),
  };
  const dataset = await openDataset(preset.data, { ...dataOptions, log });
  const progressFor = (run: string) =>
    options.progress === false ? silentProgress : createProgress(`${options.experiment}/${run}`, log);
  log(
    `[experiment] ${options.experiment} (${definition.description}); preset ${preset.name}: ${preset.description}; ` +
      `out ${out}`,
  );
  writeJsonAtomic(join(out, 'experiment.json'), {
    experiment: options.experiment,
    preset: preset.name,
    teacherRun: 'teacher',
    runs: withEarlierRuns(out, definition, runs),
    description: definition.description,
    data: preset.data,
  });

  const modelOptions = (arch: ReturnType<ExperimentDefinition['teacher']>, seed: number): ModelOptions => ({
    ...arch,
    widthScope: preset.widthScope,
    inputShape: [...dataset.inputShape],
    classes: dataset.classNames.length,
    seed,
  });
  const trainConfig = (steps: number, learningRate: number, dataSeed: number): TrainConfig => ({
    steps,
    batchSize: preset.batchSize,
    optimizer: { ...INCEPTION_RMSPROP, learningRate, weightDecay: preset.weightDecay },
    schedule: preset.schedule,
    evalEvery: preset.evalEvery,
    checkpointEvery: preset.checkpointEvery,
    evalBatchSize: preset.evalBatchSize,
    dataSeed,
  });
  const common = {
    experiment: options.experiment,
    preset: preset.name,
    seed: options.seed,
    backend: backend.choice,
    workers,
    gitCommit: gitCommit(),
  };

  const resources: tf.Tensor[] = [];
  let teacher: tf.LayersModel | undefined;
  let teacherKey = '';
  try {
    // The teacher: trained once per configuration in the cache, copied into the experiment folder.
    const teacherConfig: RunConfig = {
      ...common,
      run: 'teacher',
      role: 'teacher',
      label: runs[0].label,
      init: 'random initialization',
      learningRateMultiplier: 1,
      model: { family: preset.model, options: modelOptions(definition.teacher(preset), options.seed) },
      data: { spec: preset.data, options: dataOptions },
      train: trainConfig(preset.teacherSteps, preset.learningRate, options.seed),
    };
    const cacheKey = createHash('sha256').update(resumeKey(teacherConfig)).digest('hex').slice(0, 16);
    teacherConfig.teacherCacheKey = cacheKey;
    teacherKey = cacheKey;
    const cachedRun = join(cacheDir, 'teachers', cacheKey);
    const teacherDir = join(out, 'teacher');
    const copied = readJson<RunConfig>(join(teacherDir, 'config.json'));
    if (!(copied?.teacherCacheKey === cacheKey && isFinished(teacherDir, preset.teacherSteps))) {
      // one process trains a configuration's teacher; others (batch jobs of the same teacher) wait for it
      const lock = await acquireWaitLock(`${cachedRun}.lock`, { what: `teacher ${cacheKey}`, log });
      try {
        if (isFinished(cachedRun, preset.teacherSteps)) {
          log(`[experiment] teacher: reusing the cached teacher ${cachedRun}`);
        } else {
          writeRunConfig(cachedRun, teacherConfig, true);
          const trained = await train({
            runDir: cachedRun,
            config: teacherConfig.train,
            dataset,
            resume: true,
            createEngine,
            initialModel: () => buildModel(preset.model, teacherConfig.model.options),
            progress: progressFor('teacher'),
            log,
            summary: { run: 'teacher', label: teacherConfig.label, backend: backend.choice },
            afterStep: options.afterStep && ((step) => options.afterStep!('teacher', step)),
          });
          trained.model.dispose();
        }
        rmSync(teacherDir, { recursive: true, force: true });
        cpSync(cachedRun, teacherDir, { recursive: true });
      } finally {
        lock.release();
      }
    }
    teacher = await loadModel(checkpointDir(teacherDir));

    const trainImages = await firstBatch(
      dataset.trainBatches({ batchSize: preset.transformBatchSize, seed: options.seed + 2 }),
    );
    resources.push(trainImages);
    const checkImages = await firstBatch(dataset.valBatches(preset.transformBatchSize));
    resources.push(checkImages);

    for (const method of methods) await runMethod(method);
  } finally {
    teacher?.dispose();
    tf.dispose(resources);
    await dataset.close();
  }

  async function runMethod(method: MethodDefinition): Promise<void> {
    const runDir = join(out, method.run);
    const studentArch = method.run === 'teacher-continued' ? definition.teacher(preset) : definition.student(preset);
    const config: RunConfig = {
      ...common,
      run: method.run,
      role: method.role,
      label: method.label,
      init: method.init,
      learningRateMultiplier: method.learningRateMultiplier,
      model: { family: preset.model, options: modelOptions(studentArch, options.seed + 3) },
      data: { spec: preset.data, options: dataOptions },
      train: trainConfig(preset.studentSteps, preset.learningRate * method.learningRateMultiplier, options.seed + 1),
      teacherCacheKey: teacherKey,
    };
    if (options.resume && isFinished(runDir, preset.studentSteps)) {
      log(`[experiment] ${method.run}: finished earlier, kept`);
      return;
    }
    writeRunConfig(runDir, config, options.resume);
    const trained = await train({
      runDir,
      config: config.train,
      dataset,
      resume: options.resume,
      createEngine,
      initialModel: () => makeStudent(method, runDir, config),
      progress: progressFor(method.run),
      log,
      summary: { run: method.run, label: method.label, backend: backend.choice },
      afterStep: options.afterStep && ((step) => options.afterStep!(method.run, step)),
    });
    trained.model.dispose();
  }

  function makeStudent(method: MethodDefinition, runDir: string, config: RunConfig): tf.LayersModel {
    const records: TransformRecord[] = [];
    const seed = options.seed + 3;
    const [trainImages, checkImages] = resources as [tf.Tensor4D, tf.Tensor4D];
    const student = method.makeInitialModel({
      teacher: teacher!,
      buildStudent: (s) => buildModel(preset.model, { ...config.model.options, seed: s }),
      trainImages,
      seed,
      noise: definition.noise,
      record: (r) => records.push(r),
    });
    const reference = buildModel(preset.model, config.model.options);
    const difference = architectureDifference(student, reference);
    reference.dispose();
    if (difference !== null) {
      student.dispose();
      throw new Error(`${method.run}: the initial model is not the intended architecture: ${difference}`);
    }
    const preserved: CheckResult = checkPreserved(teacher!, student, checkImages);
    log(
      `[experiment] ${method.run}: ${method.init}; teacher vs initial student on ${checkImages.shape[0]} ` +
        `validation images (inference): max abs ${preserved.maxAbs.toExponential(2)}, ` +
        `max rel ${preserved.maxRel.toExponential(2)}`,
    );
    writeJsonAtomic(join(runDir, 'transform.json'), {
      run: method.run,
      init: method.init,
      seed,
      noise: definition.noise,
      preservation: { mode: 'inference', images: checkImages.shape[0], ...preserved },
      params: { teacher: teacher!.countParams(), student: student.countParams() },
      records,
    });
    return student;
  }

  const figures: string[] = [];
  let summaryMarkdown = '';
  if (options.figures !== false) {
    const drawn = await drawExperimentFigures(out, { log });
    figures.push(...drawn.files);
    summaryMarkdown = drawn.summaryMarkdown;
  }
  const wallSeconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuStarted);
  const statistics = experimentStatistics(out, runs);
  writeJsonAtomic(join(out, 'summary.json'), {
    experiment: options.experiment,
    preset: preset.name,
    data: preset.data,
    backend: backend.choice,
    workers,
    wall_s: wallSeconds,
    // CPU seconds of this process (all threads): on a shared machine, what the run costs unloaded.
    cpu_s: (cpu.user + cpu.system) / 1e6,
    runs: statistics,
  });
  if (summaryMarkdown) log(summaryMarkdown.trimEnd());
  log(
    `[experiment] ${options.experiment} done in ${formatDuration(wallSeconds)} ` +
      `(${formatDuration((cpu.user + cpu.system) / 1e6)} of CPU): ${out}`,
  );
  return { out, runs, statistics, figures, wallSeconds };
}

function experimentStatistics(out: string, runs: RunDescription[]): RunStatistics[] {
  const curves = runs.map((run) => ({ run, curve: readCurveFile(join(out, run.run, 'curve.csv')) }));
  const teacherCurve = curves.find((c) => c.run.role === 'teacher')!;
  const reference = teacherReference(teacherCurve.run.run, teacherCurve.run.label, teacherCurve.curve.rows);
  return curves.map(({ run, curve }) => runStatistics(run, curve.rows, reference, curve.problems));
}

/** This session's runs plus those an earlier session (e.g. another `--runs` job) listed, in definition order. */
function withEarlierRuns(out: string, definition: ExperimentDefinition, runs: RunDescription[]): RunDescription[] {
  const earlier = readJson<{ experiment?: string; runs?: RunDescription[] }>(join(out, 'experiment.json'));
  if (earlier?.experiment !== definition.name || !Array.isArray(earlier.runs)) return runs;
  const names = new Set([...runs, ...earlier.runs].map((r) => r.run));
  return [
    runs[0],
    ...definition.methods.filter((m) => names.has(m.run)).map((m) => ({ run: m.run, role: m.role, label: m.label })),
  ];
}

function selectMethods(
  definition: ExperimentDefinition,
  preset: Preset,
  only: string[] | undefined,
): MethodDefinition[] {
  const afforded = definition.methods.filter((m) => m.enabled?.(preset) ?? true);
  if (only === undefined) return afforded;
  const known = definition.methods.map((m) => m.run);
  for (const name of only)
    if (!known.includes(name))
      throw new ExperimentUsageError(
        `--runs '${name}' is not a run of experiment '${definition.name}': accepted runs are ${known.join(', ')}`,
      );
  return definition.methods.filter((m) => only.includes(m.run));
}

function engineFactory(backend: BackendInfo, workers: number): EngineFactory {
  if (!Number.isInteger(workers) || workers < 1)
    throw new ExperimentUsageError(`--workers must be a positive integer, got ${workers}`);
  if (workers === 1) return localEngine;
  if (backend.choice !== 'wasm' && backend.choice !== 'cpu')
    throw new ExperimentUsageError(
      `--workers ${workers} needs the wasm or cpu backend (data-parallel worker threads); the backend is ` +
        `'${backend.choice}', which uses its own threads: drop --workers`,
    );
  const choice = backend.choice;
  return (model, optimizer) => createDataParallelStepEngine(model, optimizer, { workers, backend: choice });
}

/** Refuses to mix a new experiment into an existing folder unless resuming or overwriting. */
function prepareOutDir(out: string, runs: RunDescription[], options: ExperimentOptions): void {
  const existing = ['experiment.json', ...runs.map((r) => r.run)].filter((name) => existsSync(join(out, name)));
  if (existing.length === 0 || options.resume) return;
  if (!options.overwrite)
    throw new ExperimentUsageError(
      `'${out}' already holds ${existing.join(', ')}: pass --resume to continue those runs, --overwrite to start ` +
        'them again, or another --out',
    );
  for (const name of [...existing, 'figures', 'summary.json'])
    rmSync(join(out, name), { recursive: true, force: true });
}
