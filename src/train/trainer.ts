/**
 * The training loop: batch -> optimizer step -> (every N steps) evaluation + curve row -> (every M steps)
 * checkpoint, with a progress bar. Resuming continues from the checkpoint's step and data position with the saved
 * optimizer slots, after cutting curve.csv back to the rows that checkpoint recorded.
 */
import * as tf from '@tensorflow/tfjs';
import { join } from 'node:path';
import { mkdirSync } from 'node:fs';
import type { Batch, Dataset } from '../data/dataset.ts';
import { explainWasmHeapError } from '../backend/wasm-heap.ts';
import { strictFloat32 } from '../backend/precision.ts';
import type { RmsPropConfig, StepEngine } from './step-engine.ts';
import { LocalStepEngine } from './local-step-engine.ts';
import type { LearningRateSchedule } from './schedule.ts';
import { learningRateAt, validateSchedule } from './schedule.ts';
import type { TrainState } from './checkpoint.ts';
import type { NamedSlot } from './optimizer-slots.ts';
import { checkpointDir, findCheckpoint, loadCheckpoint, readTrainState, saveCheckpoint } from './checkpoint.ts';
import type { ComputeColumn, CurveRow } from './curve-log.ts';
import { CURVE_CSV, CurveLog, readCurveFile } from './curve-log.ts';
import type { RunLabels } from './run-summary.ts';
import { writeRunSummary } from './run-summary.ts';
import type { Evaluation } from './evaluate.ts';
import { evaluate, evaluateSample, modelEvaluator } from './evaluate.ts';
import { withPreciseBatchNorm } from './precise-batch-norm.ts';
import { disposeSample, drawTrainSample } from '../data/train-sample.ts';
import type { ProgressReporter } from './progress.ts';
import { silentProgress } from './progress.ts';
import { countMultiplyAdds, trainingMultiplyAdds } from '../models/counts.ts';

/** TensorFlow's Inception RMSProp settings (learning rate and weight decay are set per run). */
export const INCEPTION_RMSPROP = { decay: 0.9, momentum: 0.9, epsilon: 1.0 } as const;

export interface TrainConfig {
  /** Optimizer steps (minibatches) in total. */
  steps: number;
  batchSize: number;
  /** RMSProp settings; `learningRate` is the initial rate the schedule decays. */
  optimizer: RmsPropConfig;
  schedule: LearningRateSchedule;
  /** Evaluate on the validation set (and write a curve row) every this many steps, at step 0 and at the end. */
  evalEvery: number;
  /** Write a checkpoint every this many steps and at the end. */
  checkpointEvery: number;
  evalBatchSize: number;
  /** Seed of the training-data order. */
  dataSeed: number;
  /** How evaluations measure the weights; default: moving BatchNorm averages, train_* = running means. */
  evaluation?: EvaluationConfig;
}

export interface EvaluationConfig {
  /**
   * 'precise': before each evaluation, BatchNorm statistics are re-estimated from the training sample with the
   * current weights (precise-batch-norm.ts); 'moving': the layers' moving averages (momentum 0.99) as they are.
   */
  batchNorm: 'moving' | 'precise';
  /**
   * Training examples in the fixed sample (drawn once per run, whole batches of `batchSize`) that train_loss and
   * train_acc measure in inference mode, and that precise BatchNorm is estimated from. 0: no sample; train_* are
   * then the running means of the minibatches (and 'precise' is refused).
   */
  trainSampleExamples: number;
  /**
   * Seed of the sample's order (default: derived from the run's data seed). An experiment gives all its runs the same
   * one, so a student's first evaluation measures its teacher's function exactly as the teacher's last did.
   */
  sampleSeed?: number;
}

/** The fixed training sample is drawn in its own order, apart from the run's training stream. */
const TRAIN_SAMPLE_SEED_OFFSET = 1_000_003;

export type EngineFactory = (model: tf.LayersModel, optimizer: RmsPropConfig) => StepEngine | Promise<StepEngine>;

export interface TrainOptions {
  runDir: string;
  config: TrainConfig;
  dataset: Dataset;
  /** The model to train from step 0; not called when a checkpoint is resumed. The trainer takes ownership. */
  initialModel: () => tf.LayersModel | Promise<tf.LayersModel>;
  /**
   * Optimizer state to start step 0 from instead of fresh slots (a grown student's, mapped from its teacher's by
   * `mapOptimizerState`): `iter` and `<original weight name>/rms|momentum` for every trainable weight. Called once,
   * with the initial model, after `initialModel`; not called when a checkpoint is resumed (the checkpoint holds the
   * state by then). The trainer disposes the slots.
   */
  initialOptimizerState?: (model: tf.LayersModel) => NamedSlot[] | Promise<NamedSlot[]>;
  /** Continue from `<runDir>/checkpoint` when there is one (else start from step 0). */
  resume: boolean;
  createEngine?: EngineFactory;
  progress?: ProgressReporter;
  log?: (line: string) => void;
  /** Names recorded in summary.json. */
  labels?: RunLabels;
  /** Called after each step, once its evaluation and checkpoint are written (tests simulate a crash here). */
  afterStep?: (step: number) => void;
}

export interface TrainResult {
  /** The trained model; the caller disposes it. */
  model: tf.LayersModel;
  state: TrainState;
  /** Every curve row of the run, including rows of earlier sessions. */
  curve: CurveRow[];
  /** Step the session started from (0 for a fresh run). */
  resumedFrom: number;
  /** Seconds of this session spent waiting for training batches (input-bound when a large share of the wall time). */
  dataWaitSeconds: number;
}

export class TrainingDivergedError extends Error {
  constructor(
    message: string,
    /** The step whose loss, or whose resulting weights, were not finite. */
    readonly step: number,
  ) {
    super(message);
    this.name = 'TrainingDivergedError';
  }
}

export const localEngine: EngineFactory = (model, optimizer) => new LocalStepEngine(model, optimizer);

export function validateTrainConfig(config: TrainConfig): void {
  for (const key of ['steps', 'batchSize', 'evalEvery', 'checkpointEvery', 'evalBatchSize'] as const) {
    const value = config[key];
    if (!Number.isInteger(value) || value <= 0)
      throw new Error(`training ${key} must be a positive integer, got ${value}`);
  }
  const { learningRate, decay, momentum, epsilon, weightDecay } = config.optimizer;
  if (!(learningRate > 0)) throw new Error(`learning rate must be positive, got ${learningRate}`);
  if (!(decay >= 0 && decay < 1)) throw new Error(`RMSProp decay must be in [0, 1), got ${decay}`);
  if (!(momentum >= 0 && momentum < 1)) throw new Error(`RMSProp momentum must be in [0, 1), got ${momentum}`);
  if (!(epsilon > 0)) throw new Error(`RMSProp epsilon must be positive, got ${epsilon}`);
  if (!(weightDecay >= 0)) throw new Error(`weight decay must be >= 0, got ${weightDecay}`);
  validateSchedule(config.schedule);
  const evaluation = config.evaluation;
  if (evaluation) {
    if (!Number.isInteger(evaluation.trainSampleExamples) || evaluation.trainSampleExamples < 0)
      throw new Error(`train sample examples must be an integer >= 0, got ${evaluation.trainSampleExamples}`);
    if (evaluation.batchNorm === 'precise' && evaluation.trainSampleExamples === 0)
      throw new Error('precise BatchNorm evaluation needs a training sample (trainSampleExamples > 0)');
    if (evaluation.batchNorm !== 'precise' && evaluation.batchNorm !== 'moving')
      throw new Error(`evaluation batchNorm must be 'moving' or 'precise', got '${String(evaluation.batchNorm)}'`);
  }
}

function weightsAreFinite(model: tf.LayersModel): boolean {
  const ok = tf.tidy(() => tf.stack(model.weights.map((w) => tf.all(tf.isFinite(w.read())))).all()) as tf.Tensor;
  const value = ok.dataSync()[0];
  ok.dispose();
  return value === 1;
}

/** A run being trained: its model, optimizer, curve and where it stands. */
interface Session {
  model: tf.LayersModel;
  engine: StepEngine;
  curve: CurveLog;
  state: TrainState;
  /** The checkpoint the session resumed from, or null for a fresh run. */
  resumedFrom: string | null;
  /** The fixed training sample (see EvaluationConfig); empty without one. */
  trainSample: Batch[];
  /** The model's forward multiply-adds per image (src/models/counts.ts); null where its shapes are not fixed. */
  forwardMultiplyAdds: number | null;
}

function forwardMultiplyAddsOf(model: tf.LayersModel): number | null {
  try {
    return countMultiplyAdds(model);
  } catch {
    return null;
  }
}

async function startSession(options: TrainOptions, createEngine: EngineFactory): Promise<Session> {
  const { runDir, config } = options;
  const curvePath = join(runDir, CURVE_CSV);
  const found = options.resume ? findCheckpoint(runDir) : null;
  if (found) {
    const restored = await loadCheckpoint(found);
    const state = restored.state;
    if (state.dataSeed !== config.dataSeed) {
      restored.model.dispose();
      restored.optimizer.forEach((slot) => slot.tensor.dispose());
      throw new Error(`checkpoint '${found}' used data seed ${state.dataSeed}, this run asks for ${config.dataSeed}`);
    }
    const engine = await createEngine(restored.model, config.optimizer);
    if (restored.optimizer.length > 0) await engine.setOptimizerState(restored.optimizer);
    restored.optimizer.forEach((slot) => slot.tensor.dispose());
    const curve = new CurveLog(curvePath, state.curveRows);
    options.log?.(
      `[train] ${runDir}: resuming at step ${state.step}/${config.steps} (${state.curveRows} curve rows kept)`,
    );
    return {
      model: restored.model,
      engine,
      curve,
      state,
      resumedFrom: found,
      trainSample: [],
      forwardMultiplyAdds: forwardMultiplyAddsOf(restored.model),
    };
  }
  const model = await options.initialModel();
  const state: TrainState = {
    step: 0,
    images: 0,
    dataSeed: config.dataSeed,
    wallSeconds: 0,
    curveRows: 0,
    running: { lossSum: 0, correct: 0, examples: 0, steps: 0 },
    lastLearningRate: learningRateAt(config.optimizer.learningRate, config.schedule, 0),
    evaluationCost: { seconds: 0, multiplyAdds: 0 },
  };
  const engine = await createEngine(model, config.optimizer);
  if (options.initialOptimizerState) {
    try {
      await startFromOptimizerState(engine, model, options.initialOptimizerState);
    } catch (err) {
      await engine.dispose();
      model.dispose();
      throw err;
    }
    options.log?.(`[train] ${runDir}: step 0 starts from the given optimizer state`);
  }
  return {
    model,
    engine,
    curve: new CurveLog(curvePath, null),
    state,
    resumedFrom: null,
    trainSample: [],
    forwardMultiplyAdds: forwardMultiplyAddsOf(model),
  };
}

async function startFromOptimizerState(
  engine: StepEngine,
  model: tf.LayersModel,
  initialState: NonNullable<TrainOptions['initialOptimizerState']>,
): Promise<void> {
  const slots = await initialState(model);
  try {
    await engine.setOptimizerState(slots);
  } finally {
    tf.dispose(slots.map((slot) => slot.tensor));
  }
}

/**
 * Validation (and training-sample) loss and accuracy of the current weights, as the run's config measures them, in
 * strict float32 whatever the training precision: a Net2Net student's first evaluation then measures exactly the
 * function its teacher's last one did.
 */
function measure(options: TrainOptions, session: Session): Promise<{ val: Evaluation; train: Evaluation | null }> {
  return strictFloat32(() => measureFloat32(options, session));
}

/** Images one evaluation passes forward: validation, the training sample, and the sample again for precise BatchNorm. */
function imagesEvaluated(
  options: TrainOptions,
  session: Session,
  measured: { val: Evaluation; train: Evaluation | null },
) {
  const precise = options.config.evaluation?.batchNorm === 'precise';
  const sample = session.trainSample.reduce((sum, batch) => sum + batch.x.shape[0], 0);
  return measured.val.examples + (measured.train?.examples ?? 0) + (precise ? sample : 0);
}

async function measureFloat32(
  options: TrainOptions,
  session: Session,
): Promise<{ val: Evaluation; train: Evaluation | null }> {
  const { config, dataset } = options;
  const { model, trainSample, engine } = session;
  const evaluateBatch = engine.evaluateBatch ? engine.evaluateBatch.bind(engine) : modelEvaluator(model);
  const both = async () => ({
    val: await evaluate(model, dataset, config.evalBatchSize, evaluateBatch),
    train: trainSample.length > 0 ? await evaluateSample(model, trainSample, evaluateBatch) : null,
  });
  if (config.evaluation?.batchNorm !== 'precise') return both();
  return withPreciseBatchNorm(
    model,
    trainSample.map((batch) => batch.x),
    both,
  );
}

/** Evaluates, appends the curve row and resets the running training sums. */
async function writeEvaluation(
  options: TrainOptions,
  session: Session,
  progress: ProgressReporter,
  elapsed: () => number,
): Promise<void> {
  const { runDir, config, dataset } = options;
  const { state } = session;
  const evaluationStart = performance.now();
  const measured = await measure(options, session);
  const { val, train: sampled } = measured;
  const cost = state.evaluationCost;
  if (cost) {
    cost.seconds += (performance.now() - evaluationStart) / 1000;
    cost.multiplyAdds += (session.forwardMultiplyAdds ?? 0) * imagesEvaluated(options, session, measured);
  }
  if (!Number.isFinite(val.loss))
    throw new TrainingDivergedError(
      `validation loss is ${val.loss} at step ${state.step} of '${runDir}': the model's outputs are no longer finite (training diverged). ` +
        lastGoodCheckpointNote(runDir),
      state.step,
    );
  const r = state.running;
  const runningLoss = r.steps > 0 ? r.lossSum / r.steps : null;
  const runningAccuracy = r.examples > 0 ? r.correct / r.examples : null;
  const trainLoss = sampled ? sampled.loss : runningLoss;
  const trainAccuracy = sampled ? sampled.accuracy : runningAccuracy;
  const wallSeconds = elapsed();
  const row: CurveRow = {
    step: state.step,
    images: state.images,
    epoch: state.images / dataset.numTrain,
    train_loss: trainLoss,
    train_acc: trainAccuracy,
    val_loss: val.loss,
    val_acc: val.accuracy,
    lr: state.lastLearningRate,
    wall_s: wallSeconds,
    running_loss: runningLoss,
    running_acc: runningAccuracy,
    ...computeColumns(session, wallSeconds),
  };
  await session.curve.append(row);
  state.curveRows = session.curve.rowCount;
  state.running = { lossSum: 0, correct: 0, examples: 0, steps: 0 };
  progress.evaluation({
    step: state.step,
    totalSteps: config.steps,
    valLoss: val.loss,
    valAccuracy: val.accuracy,
    trainLoss,
    trainAccuracy,
    learningRate: state.lastLearningRate,
    wallSeconds,
  });
}

/** The row's compute columns (curve-log.ts); null where unknown (no fixed shapes, resumed from an old checkpoint). */
function computeColumns(session: Session, wallSeconds: number): Pick<CurveRow, ComputeColumn> {
  const { state, forwardMultiplyAdds } = session;
  const cost = state.evaluationCost;
  return {
    train_macs: forwardMultiplyAdds === null ? null : trainingMultiplyAdds(forwardMultiplyAdds, state.images),
    train_wall_s: cost ? wallSeconds - cost.seconds : null,
    eval_macs: cost && forwardMultiplyAdds !== null ? cost.multiplyAdds : null,
    eval_wall_s: cost ? cost.seconds : null,
  };
}

async function writeCheckpoint(runDir: string, session: Session): Promise<void> {
  if (!weightsAreFinite(session.model))
    throw new TrainingDivergedError(
      `weights are not finite after step ${session.state.step} of '${runDir}'; not overwriting the checkpoint. ` +
        lastGoodCheckpointNote(runDir),
      session.state.step,
    );
  const slots = await session.engine.getOptimizerState();
  try {
    await saveCheckpoint(runDir, session.model, slots, session.state);
  } finally {
    slots.forEach((slot) => slot.tensor.dispose());
  }
}

/** One optimizer step on the next batch; returns the milliseconds spent waiting for the batch. */
async function trainStep(
  options: TrainOptions,
  session: Session,
  batches: AsyncIterator<{ x: tf.Tensor4D; y: tf.Tensor1D }>,
): Promise<number> {
  const { runDir, config, dataset } = options;
  const { state } = session;
  const waitStart = performance.now();
  const next = await batches.next();
  const waitedMs = performance.now() - waitStart;
  if (next.done) throw new Error(`dataset '${dataset.name}' ended its training batches at step ${state.step}`);
  const { x, y } = next.value;
  const learningRate = learningRateAt(config.optimizer.learningRate, config.schedule, state.images / dataset.numTrain);
  let result;
  try {
    result = await session.engine.step(x, y, learningRate);
  } finally {
    x.dispose();
    y.dispose();
  }
  if (!Number.isFinite(result.loss))
    throw new TrainingDivergedError(
      `training loss is ${result.loss} at step ${state.step + 1} of '${runDir}' (learning rate ` +
        `${learningRate.toPrecision(3)}): training diverged. ${lastGoodCheckpointNote(runDir)}`,
      state.step + 1,
    );
  state.step += 1;
  state.images += config.batchSize;
  state.lastLearningRate = learningRate;
  state.running.lossSum += result.loss;
  state.running.correct += result.correct;
  state.running.examples += config.batchSize;
  state.running.steps += 1;
  return waitedMs;
}

export async function train(options: TrainOptions): Promise<TrainResult> {
  const { runDir, config, dataset } = options;
  validateTrainConfig(config);
  const log = options.log ?? (() => {});
  const progress = options.progress ?? silentProgress;
  mkdirSync(runDir, { recursive: true });
  const session = await startSession(options, options.createEngine ?? localEngine);
  const sampleExamples = config.evaluation?.trainSampleExamples ?? 0;
  if (sampleExamples > 0) {
    session.trainSample = await drawTrainSample(dataset, {
      examples: sampleExamples,
      batchSize: config.batchSize,
      seed: config.evaluation?.sampleSeed ?? config.dataSeed + TRAIN_SAMPLE_SEED_OFFSET,
    });
  }
  const { state } = session;
  const resumedFrom = state.step;
  const sessionStart = performance.now();
  const wallBefore = state.wallSeconds;
  const elapsed = () => wallBefore + (performance.now() - sessionStart) / 1000;

  const batches = dataset.trainBatches({ batchSize: config.batchSize, seed: config.dataSeed, start: state.images });
  let dataWaitMs = 0;
  try {
    if (state.step === 0 && session.curve.rowCount === 0) await writeEvaluation(options, session, progress, elapsed);
    while (state.step < config.steps) {
      dataWaitMs += await trainStep(options, session, batches);
      const seconds = (performance.now() - sessionStart) / 1000;
      const sessionImages = (state.step - resumedFrom) * config.batchSize;
      progress.step({
        step: state.step,
        totalSteps: config.steps,
        imagesPerSecond: sessionImages / Math.max(seconds, 1e-9),
        loss: state.running.lossSum / state.running.steps,
        accuracy: state.running.correct / state.running.examples,
        etaSeconds: (seconds / (state.step - resumedFrom)) * (config.steps - state.step),
        dataWaitFraction: dataWaitMs / 1000 / Math.max(seconds, 1e-9),
      });
      const last = state.step === config.steps;
      if (state.step % config.evalEvery === 0 || last) await writeEvaluation(options, session, progress, elapsed);
      if (state.step % config.checkpointEvery === 0 || last) {
        state.wallSeconds = elapsed();
        await writeCheckpoint(runDir, session);
      }
      options.afterStep?.(state.step);
    }
  } catch (err) {
    progress.done();
    await session.engine.dispose();
    session.model.dispose();
    throw explainWasmHeapError(err);
  } finally {
    await batches.return?.(undefined);
    disposeSample(session.trainSample);
  }
  progress.done();
  await session.engine.dispose();
  state.wallSeconds = session.resumedFrom && resumedFrom === config.steps ? state.wallSeconds : elapsed();
  const curve = writeSummary(options, session);
  const sessionSeconds = (performance.now() - sessionStart) / 1000;
  if (state.step > resumedFrom) {
    log(
      `[train] ${runDir}: ${(dataWaitMs / 1000).toFixed(1)} s of this session's ${sessionSeconds.toFixed(1)} s waiting ` +
        `for training batches (${((100 * dataWaitMs) / 1000 / Math.max(sessionSeconds, 1e-9)).toFixed(1)}%)`,
    );
  }
  return { model: session.model, state, curve, resumedFrom, dataWaitSeconds: dataWaitMs / 1000 };
}

/** Writes summary.json from the whole curve; returns the curve's rows. */
function writeSummary(options: TrainOptions, session: Session): CurveRow[] {
  const { state } = session;
  const rows = readCurveFile(join(options.runDir, CURVE_CSV)).rows;
  const best = rows.reduce((a, b) => ((b.val_acc ?? -1) > (a.val_acc ?? -1) ? b : a), rows[0]!);
  const final = rows[rows.length - 1]!;
  writeRunSummary(options.runDir, {
    ...options.labels,
    steps: state.step,
    images: state.images,
    epochs: state.images / options.dataset.numTrain,
    final_val_acc: final.val_acc,
    final_val_loss: final.val_loss,
    best_val_acc: best.val_acc,
    best_step: best.step,
    wall_s: state.wallSeconds,
    params: session.model.countParams(),
    forward_macs_per_image: session.forwardMultiplyAdds,
    train_macs: final.train_macs,
    train_wall_s: final.train_wall_s,
    eval_macs: final.eval_macs,
    eval_wall_s: final.eval_wall_s,
  });
  return rows;
}

function lastGoodCheckpointNote(runDir: string): string {
  const dir = findCheckpoint(runDir);
  if (!dir) return 'No checkpoint was written yet.';
  return `The last good checkpoint (step ${readTrainState(dir).step}) is kept in '${checkpointDir(runDir)}'.`;
}
