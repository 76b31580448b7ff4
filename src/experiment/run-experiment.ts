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
import type { Dataset } from '../data/dataset.ts';
import { openDataset } from '../data/open-dataset.ts';
import { drawExperimentFigures } from '../figures/draw-experiment.ts';
import { loadModel } from '../models/model-files.ts';
import { buildModel } from '../models/registry.ts';
import { writeExperimentManifest } from '../run-folder/experiment-manifest.ts';
import type { RunDescription } from '../run-folder/experiment-manifest.ts';
import type { ExperimentSummary } from '../run-folder/experiment-summary.ts';
import { readExperiment, writeSessionSummary } from '../run-folder/experiment-summary.ts';
import type { RunConfig } from '../run-folder/run-config.ts';
import { writeRunConfig } from '../run-folder/run-config.ts';
import { isFinished } from '../run-folder/run-state.ts';
import type { RunStatistics } from '../run-folder/run-statistics.ts';
import { checkpointDir } from '../train/checkpoint.ts';
import { createProgress, formatDuration, silentProgress } from '../train/progress.ts';
import type { EngineFactory } from '../train/trainer.ts';
import { train } from '../train/trainer.ts';
import { engineFactory } from './engine-choice.ts';
import type { ExperimentOptions } from './options.ts';
import { defaultOutDir, resolvePreset } from './options.ts';
import { prepareOutDir, withEarlierRuns } from './out-folder.ts';
import type { ExperimentPlan, PlannedRun } from './run-plan.ts';
import { planExperiment, runDataOptions, selectMethods } from './run-plan.ts';
import { makeStudent } from './student-init.ts';
import { DEFAULT_CACHE_DIR, provideTeacher, teacherCacheKey } from './teacher-cache.ts';

export interface ExperimentResult {
  out: string;
  runs: RunDescription[];
  statistics: RunStatistics[];
  figures: string[];
  wallSeconds: number;
}

/** What every run of one invocation shares. */
interface Session {
  options: ExperimentOptions;
  out: string;
  dataset: Dataset;
  backend: BackendInfo;
  workers: number;
  createEngine: EngineFactory;
  gitCommit: string | null;
  log: (line: string) => void;
}

export async function runExperiment(options: ExperimentOptions): Promise<ExperimentResult> {
  const started = performance.now();
  const cpuStarted = process.cpuUsage();
  const log = options.log ?? ((line: string) => console.error(line));
  const definition = options.experiment;
  const preset = resolvePreset(options.preset, options.overrides);
  const out = resolve(options.out ?? defaultOutDir(definition.name, preset.name));
  const methods = selectMethods(definition, preset, options.only);
  prepareOutDir(out, ['teacher', ...methods.map((m) => m.run)], {
    resume: options.resume,
    overwrite: options.overwrite ?? false,
  });
  const backend = await selectBackend(options.backend, log);
  const workers = options.workers ?? 1;
  const createEngine = engineFactory(backend, workers);
  const dataset = await openDataset(preset.data, {
    ...runDataOptions(preset),
    ...(options.decodeThreads !== undefined ? { decodeThreads: options.decodeThreads } : {}),
    log,
  });
  const session: Session = { options, out, dataset, backend, workers, createEngine, gitCommit: gitCommit(), log };
  let plan: ExperimentPlan;
  try {
    plan = planExperiment({
      definition,
      preset,
      seed: options.seed,
      only: options.only,
      inputShape: dataset.inputShape,
      classes: dataset.classNames.length,
    });
    log(
      `[experiment] ${definition.name} (${definition.description}); preset ${preset.name}: ${preset.description}; out ${out}`,
    );
    writeExperimentManifest(out, {
      experiment: definition.name,
      preset: preset.name,
      teacherRun: 'teacher',
      runs: withEarlierRuns(out, definition, [plan.teacher, ...plan.students].map(describeRun)),
      description: definition.description,
      data: preset.data,
    });
    const teacher = plan.teacher;
    const teacherKey = teacherCacheKey(runConfig(session, plan, teacher, ''));
    const teacherDir = join(out, teacher.run);
    await provideTeacher({
      cacheDir: resolve(options.cacheDir ?? DEFAULT_CACHE_DIR),
      config: runConfig(session, plan, teacher, teacherKey),
      teacherDir,
      train: (runDir) =>
        trainRun(session, teacher, runDir, true, () => buildModel(teacher.model.family, teacher.model.options)),
      log,
    });
    await trainStudents(session, plan, teacherDir, teacherKey);
  } finally {
    await dataset.close();
  }
  const { summary, figures } = await summarize(out, options.figures !== false, log);
  const wallSeconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuStarted);
  writeSessionSummary(out, {
    experiment: definition.name,
    preset: preset.name,
    data: preset.data,
    backend: backend.choice,
    workers,
    wall_s: wallSeconds,
    cpu_s: (cpu.user + cpu.system) / 1e6,
    runs: summary.runs,
  });
  log(
    `[experiment] ${definition.name} done in ${formatDuration(wallSeconds)} ` +
      `(${formatDuration((cpu.user + cpu.system) / 1e6)} of CPU): ${out}`,
  );
  const runs = [plan.teacher, ...plan.students].map(describeRun);
  return { out, runs, statistics: summary.runs.filter((s) => runs.some((r) => r.run === s.run)), figures, wallSeconds };
}

function describeRun({ run, role, label }: PlannedRun): RunDescription {
  return { run, role, label };
}

function runConfig(session: Session, plan: ExperimentPlan, planned: PlannedRun, teacherKey: string): RunConfig {
  const { options, backend, workers, gitCommit } = session;
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
    workers,
    gitCommit,
    teacherCacheKey: teacherKey,
  };
}

/** Trains (or continues) one planned run in `runDir`; its config.json is already written. */
async function trainRun(
  session: Session,
  planned: PlannedRun,
  runDir: string,
  resume: boolean,
  initialModel: () => tf.LayersModel | Promise<tf.LayersModel>,
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
    progress:
      options.progress === false ? silentProgress : createProgress(`${options.experiment.name}/${planned.run}`, log),
    log,
    labels: { run: planned.run, label: planned.label, backend: session.backend.choice },
    afterStep: afterStep && ((step) => afterStep(planned.run, step)),
  });
  trained.model.dispose();
}

/** Makes each student from the teacher in `teacherDir` and trains it; finished runs are kept when resuming. */
async function trainStudents(session: Session, plan: ExperimentPlan, teacherDir: string, teacherKey: string) {
  const { dataset, log, options } = session;
  const teacher = await loadModel(checkpointDir(teacherDir));
  const batchSize = plan.preset.transformBatchSize;
  const resources: tf.Tensor[] = [];
  try {
    const trainImages = await firstImages(dataset.trainBatches({ batchSize, seed: plan.transformBatchSeed }));
    resources.push(trainImages);
    const checkImages = await firstImages(dataset.valBatches(batchSize));
    resources.push(checkImages);
    const inputs = { teacher, trainImages, checkImages, noise: plan.experiment.noise, log };
    for (const planned of plan.students) {
      const runDir = join(session.out, planned.run);
      if (options.resume && isFinished(runDir, planned.train.steps)) {
        log(`[experiment] ${planned.run}: finished earlier, kept`);
        continue;
      }
      writeRunConfig(runDir, runConfig(session, plan, planned, teacherKey), options.resume);
      await trainRun(session, planned, runDir, options.resume, () => makeStudent(planned, runDir, inputs));
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
): Promise<{ summary: ExperimentSummary; figures: string[] }> {
  if (!drawFigures) return { summary: readExperiment(out).summary, figures: [] };
  const drawn = await drawExperimentFigures(out, { log });
  log(drawn.summaryMarkdown.trimEnd());
  return { summary: drawn.summary, figures: drawn.files };
}

function gitCommit(): string | null {
  try {
    return execFileSync('git', ['rev-parse', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return null;
  }
}
