/**
 * The one generic experiment runner: plan the runs, provide the teacher (trained once per configuration in the
 * cache), make and train every student from it, then summarize and draw. Everything an experiment varies lives in
 * its definition and the preset.
 *
 * Layout (see src/run-folder/): `<out>/experiment.json`, `<out>/<run>/{config.json,curve.csv,checkpoint/,
 * transform.json,summary.json}`, `<out>/figures/`, `<out>/summary.json`.
 */
import type * as tf from '@tensorflow/tfjs';
import { execFileSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import type { BackendInfo } from '../backend/backend.ts';
import { selectBackend } from '../backend/backend.ts';
import { applyCudnnBenchmark, cudnnBenchmarkFromEnv } from '../backend/cudnn-benchmark.ts';
import { enforceDevicePolicy } from '../backend/device-policy.ts';
import type { Precision } from '../backend/precision.ts';
import { precisionFromEnv, setTrainingPrecision } from '../backend/precision.ts';
import type { Dataset } from '../data/dataset.ts';
import type { NoiseSpec } from '../net2net/noise.ts';
import type { TransformRecord } from '../net2net/transform-record.ts';
import { noiseText } from '../run-folder/run-name.ts';
import { openDataset } from '../data/open-dataset.ts';
import { stratifiedValSample } from '../data/stratified-sample.ts';
import type { ExperimentAnalysis } from '../analysis/experiment-analysis.ts';
import type { ExperimentSummary } from '../analysis/experiment-summary.ts';
import { summarizeExperiment, writeSessionSummary } from '../analysis/experiment-summary.ts';
import type { RunStatistics } from '../analysis/run-statistics.ts';
import { DEFAULT_CLAIM_MARGIN } from '../analysis/seed-statistics.ts';
import { drawExperimentFigures } from '../figures/draw-experiment.ts';
import { loadModel } from '../models/model-files.ts';
import { buildModel } from '../models/registry.ts';
import { writeExperimentManifest } from '../run-folder/experiment-manifest.ts';
import type { RunDescription } from '../run-folder/experiment-manifest.ts';
import { readExperimentCurves } from '../run-folder/experiment-curves.ts';
import type { RunConfig } from '../run-folder/run-config.ts';
import { writeRunConfig } from '../run-folder/run-config.ts';
import { isFinished } from '../run-folder/run-state.ts';
import { checkpointDir } from '../train/checkpoint.ts';
import { createProgress, formatDuration, silentProgress } from '../train/progress.ts';
import type { EngineFactory, TrainOptions } from '../train/trainer.ts';
import { train } from '../train/trainer.ts';
import { backendThreads } from './backend-threads.ts';
import { capturesSteps, engineFactory } from './engine-choice.ts';
import type { ExperimentOptions } from './options.ts';
import { defaultOutDir, growthSettings, resolvePreset } from './options.ts';
import { prepareOutDir, withEarlierRuns } from './out-folder.ts';
import type { ExperimentPlan, PlannedRun, ResolvedPreset } from './run-plan.ts';
import { plannedClaims } from './planned-claims.ts';
import { planExperiment, runDataOptions, selectMethodRuns } from './run-plan.ts';
import { makeStudent } from './student-init.ts';
import { transferredOptimizerState } from './student-optimizer-state.ts';
import { DEFAULT_CACHE_DIR, provideTeacher, teacherCacheKey } from './teacher-cache.ts';

export interface ExperimentResult {
  out: string;
  runs: RunDescription[];
  statistics: RunStatistics[];
  figures: string[];
  /** The folder the figures and summaries went to, and what they show; absent with `figures: false`. */
  figuresDir?: string;
  analysis?: ExperimentAnalysis;
  wallSeconds: number;
}

/** What every run of one invocation shares. */
interface Session {
  options: ExperimentOptions;
  preset: ResolvedPreset;
  out: string;
  dataset: Dataset;
  backend: BackendInfo;
  /** Intra-op threads of the backend; null where it has no such setting. */
  threads: number | null;
  precision: Precision;
  cudnnBenchmark: boolean;
  workers: number;
  createEngine: EngineFactory;
  gitCommit: string | null;
  log: (line: string) => void;
  started: { wallMs: number; cpu: NodeJS.CpuUsage };
}

export async function runExperiment(options: ExperimentOptions): Promise<ExperimentResult> {
  const session = await openSession(options);
  let plan: ExperimentPlan;
  try {
    plan = planExperiment({
      definition: options.experiment,
      preset: session.preset,
      seed: options.seed,
      only: options.only,
      inputShape: session.dataset.inputShape,
      classes: session.dataset.classNames.length,
      numTrain: session.dataset.numTrain,
      valLabels: options.valLabels,
      growth: growthSettings(options),
    });
    recordExperiment(session, plan);
    const teacher = await provideTeacherRun(session, plan);
    await trainStudents(session, plan, teacher);
  } finally {
    await session.dataset.close();
  }
  const summarized = await summarize(session.out, options.figures !== false, session.log);
  const wallSeconds = closeSession(session, summarized.summary);
  const runs = [plan.teacher, ...plan.students].map(describeRun);
  const statistics = summarized.summary.runs.filter((s) => runs.some((r) => r.run === s.run));
  return { out: session.out, runs, statistics, wallSeconds, ...summarized };
}

/** Checks the request and the experiment folder, then loads the backend and opens the dataset. */
async function openSession(options: ExperimentOptions): Promise<Session> {
  const started = { wallMs: performance.now(), cpu: process.cpuUsage() };
  const log = options.log ?? ((line: string) => console.error(line));
  const definition = options.experiment;
  const preset = resolvePreset(options.preset, options.overrides);
  const out = resolve(options.out ?? defaultOutDir(definition.name, preset.name));
  const methodRuns = selectMethodRuns(definition, preset, options.only, growthSettings(options));
  prepareOutDir(out, ['teacher', ...methodRuns.map((m) => m.run)], {
    resume: options.resume,
    overwrite: options.overwrite ?? false,
  });
  const backend = await selectBackend(options.backend, log);
  enforceDevicePolicy(backend, { presetNeedsGpu: preset.needsGpu ?? false, allowCpu: options.allowCpu ?? false });
  const precision = setTrainingPrecision(options.precision ?? precisionFromEnv() ?? preset.precision ?? 'fp32');
  log(`[experiment] precision ${precision}`);
  const cudnnBenchmark = options.cudnnBenchmark ?? cudnnBenchmarkFromEnv();
  log(`[experiment] ${await applyCudnnBenchmark(backend, cudnnBenchmark)}`);
  const workers = options.workers ?? 1;
  const engineChoice = { workers, capture: options.capture ?? true, log };
  const createEngine = engineFactory(backend, engineChoice);
  log(
    capturesSteps(backend, engineChoice)
      ? '[experiment] step capture on: from the second step of each batch shape, steps replay natively (--no-capture)'
      : `[experiment] step capture off (${options.capture === false ? '--no-capture' : 'torch on one thread only'})`,
  );
  const dataset = await openDataset(preset.data, {
    ...runDataOptions(preset, options.valLabels),
    ...(options.decodeThreads !== undefined ? { decodeThreads: options.decodeThreads } : {}),
    log,
  });
  const threads = backendThreads(backend);
  return {
    options,
    preset,
    out,
    dataset,
    backend,
    threads,
    precision,
    cudnnBenchmark,
    workers,
    createEngine,
    gitCommit: gitCommit(),
    log,
    started,
  };
}

/** Logs what runs and writes experiment.json (with the runs an earlier session of this folder listed). */
function recordExperiment(session: Session, plan: ExperimentPlan): void {
  const { experiment, preset } = plan;
  session.log(
    `[experiment] ${experiment.name} (${experiment.description}); preset ${preset.name}: ${preset.description}; ` +
      `out ${session.out}`,
  );
  writeExperimentManifest(session.out, {
    experiment: experiment.name,
    preset: preset.name,
    teacherRun: plan.teacher.run,
    runs: withEarlierRuns(session.out, experiment, [plan.teacher, ...plan.students].map(describeRun)),
    description: experiment.description,
    data: preset.data,
    backend: session.backend.choice,
    threads: session.threads,
    noise: manifestNoise(growthSettings(session.options).noises),
    precision: session.precision,
    seed: session.options.seed,
    drawTeacherCurve: experiment.drawTeacherCurve ?? false,
    claims: plannedClaims(experiment, preset, growthSettings(session.options)),
    ...(experiment.figureAxes?.length ? { figureAxes: experiment.figureAxes.map((axis) => ({ ...axis })) } : {}),
    claimMargin: session.options.claimMargin ?? DEFAULT_CLAIM_MARGIN,
  });
}

/** The trained teacher in `<out>/teacher`, from the cache (trained there first when it is not). */
async function provideTeacherRun(session: Session, plan: ExperimentPlan): Promise<{ dir: string; key: string }> {
  const teacher = plan.teacher;
  const key = teacherCacheKey(runConfig(session, plan, teacher, ''));
  const dir = join(session.out, teacher.run);
  await provideTeacher({
    cacheDir: resolve(session.options.cacheDir ?? DEFAULT_CACHE_DIR),
    config: runConfig(session, plan, teacher, key),
    teacherDir: dir,
    train: (runDir) =>
      trainRun(session, teacher, runDir, true, () => buildModel(teacher.model.family, teacher.model.options)),
    log: session.log,
  });
  return { dir, key };
}

/** Writes `<out>/summary.json` and logs the time taken; returns the session's wall-clock seconds. */
function closeSession(session: Session, summary: ExperimentSummary): number {
  const wallSeconds = (performance.now() - session.started.wallMs) / 1000;
  const cpu = process.cpuUsage(session.started.cpu);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  writeSessionSummary(session.out, {
    experiment: summary.experiment,
    preset: session.preset.name,
    data: session.preset.data,
    backend: session.backend.choice,
    threads: session.threads,
    precision: session.precision,
    workers: session.workers,
    wall_s: wallSeconds,
    cpu_s: cpuSeconds,
    runs: summary.runs,
  });
  session.log(
    `[experiment] ${summary.experiment} done in ${formatDuration(wallSeconds)} (${formatDuration(cpuSeconds)} of CPU): ` +
      session.out,
  );
  return wallSeconds;
}

/** experiment.json's `noise`: the one value, or a sweep's values as `none,zero-sum` (each run's is in its name). */
function manifestNoise(noises: readonly NoiseSpec[]): string | number {
  return noises.length === 1 ? noises[0]! : noises.map(noiseText).join(',');
}

function describeRun({ run, role, label }: PlannedRun): RunDescription {
  return { run, role, label };
}

function runConfig(session: Session, plan: ExperimentPlan, planned: PlannedRun, teacherKey: string): RunConfig {
  const { options, backend, threads, workers, gitCommit } = session;
  return {
    experiment: plan.experiment.name,
    preset: plan.preset.name,
    run: planned.run,
    role: planned.role,
    label: planned.label,
    init: planned.init,
    learningRateMultiplier: planned.learningRateMultiplier,
    model: planned.model,
    data: plan.data,
    train: planned.train,
    seed: options.seed,
    seeds: planned.seeds,
    backend: backend.choice,
    threads,
    precision: session.precision,
    cudnnBenchmark: session.cudnnBenchmark,
    workers,
    gitCommit,
    teacherCacheKey: teacherKey,
    ...(planned.optimizerState === undefined ? {} : { optimizerState: planned.optimizerState }),
    ...(planned.method?.takesNoise ? { noise: planned.noise ?? plan.experiment.noise } : {}),
  };
}

/**
 * Trains (or continues) one planned run in `runDir`; its config.json is already written. `initialOptimizerState`
 * starts step 0 from given slots instead of fresh ones (a grown student's with `optimizerState: 'transfer'`, from
 * transferredOptimizerState in student-optimizer-state.ts).
 */
async function trainRun(
  session: Session,
  planned: PlannedRun,
  runDir: string,
  resume: boolean,
  initialModel: () => tf.LayersModel | Promise<tf.LayersModel>,
  initialOptimizerState?: TrainOptions['initialOptimizerState'],
): Promise<void> {
  const { options, log } = session;
  const afterStep = options.afterStep;
  const trained = await train({
    runDir,
    config: planned.train,
    dataset: session.dataset,
    resume,
    createEngine: session.createEngine,
    initialModel,
    initialOptimizerState,
    progress:
      options.progress === false ? silentProgress : createProgress(`${options.experiment.name}/${planned.run}`, log),
    log,
    labels: { run: planned.run, label: planned.label, backend: session.backend.choice, precision: session.precision },
    afterStep: afterStep && ((step) => afterStep(planned.run, step)),
  });
  trained.model.dispose();
}

/** Makes each student from the teacher in `teacherDir` and trains it; finished runs are kept when resuming. */
async function trainStudents(session: Session, plan: ExperimentPlan, teacherRun: { dir: string; key: string }) {
  const { dataset, log, options } = session;
  const teacher = await loadModel(checkpointDir(teacherRun.dir));
  const batchSize = plan.preset.transformBatchSize;
  const resources: tf.Tensor[] = [];
  try {
    const statisticsImages = plan.preset.statisticsImages ?? batchSize;
    const trainImages = await firstImages(
      dataset.trainBatches({ batchSize: statisticsImages, seed: plan.transformBatchSeed }),
    );
    resources.push(trainImages);
    const perClass = Math.max(1, Math.ceil(batchSize / dataset.classNames.length));
    const check = await stratifiedValSample(dataset, perClass);
    resources.push(check.x, check.y);
    const inputs = {
      teacher,
      trainImages,
      trainBatchSize: plan.preset.batchSize,
      checkImages: check.x,
      checkPerClassTaken: check.perClassTaken,
      checkChunk: batchSize,
      noise: plan.experiment.noise,
      log,
    };
    for (const planned of plan.students) {
      const runDir = join(session.out, planned.run);
      if (options.resume && isFinished(runDir, planned.train.steps)) {
        log(`[experiment] ${planned.run}: finished earlier, kept`);
        continue;
      }
      writeRunConfig(runDir, runConfig(session, plan, planned, teacherRun.key), options.resume);
      const records: TransformRecord[] = [];
      const transferred =
        planned.optimizerState === 'transfer'
          ? (student: tf.LayersModel) =>
              transferredOptimizerState(checkpointDir(teacherRun.dir), teacher, student, records)
          : undefined;
      await trainRun(
        session,
        planned,
        runDir,
        options.resume,
        () => makeStudent(planned, runDir, inputs, records),
        transferred,
      );
    }
  } finally {
    teacher.dispose();
    for (const tensor of resources) tensor.dispose();
  }
}

async function firstImages(batches: AsyncIterableIterator<{ x: tf.Tensor4D; y: tf.Tensor1D }>): Promise<tf.Tensor4D> {
  const next = await batches.next();
  await batches.return?.(undefined);
  if (next.done) throw new Error('the dataset gave no batch');
  next.value.y.dispose();
  return next.value.x;
}

/** The statistics of the folder's runs, computed once, and the figures drawn from them when asked. */
async function summarize(
  out: string,
  drawFigures: boolean,
  log: (line: string) => void,
): Promise<{ summary: ExperimentSummary; figures: string[]; figuresDir?: string; analysis?: ExperimentAnalysis }> {
  if (!drawFigures) return { summary: summarizeExperiment(readExperimentCurves(out)), figures: [] };
  const drawn = await drawExperimentFigures(out, { log });
  return { summary: drawn.summary, figures: drawn.files, figuresDir: drawn.figuresDir, analysis: drawn.analysis };
}

function gitCommit(): string | null {
  try {
    return execFileSync('git', ['rev-parse', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return null;
  }
}
