/**
 * Checkpoints: `<run>/checkpoint/` holds the model (model.json + weights.bin, TensorFlow.js layers format), the
 * optimizer slots (optimizer.json + optimizer.bin, named by original weight names) and state.json (step, data
 * position, counters). The folder is replaced as a whole: written to a temporary sibling, then renamed into place,
 * so a killed process leaves the previous checkpoint or the new one, never a mix.
 */
import * as tf from '@tensorflow/tfjs';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic, writeJsonAtomic } from '../io/atomic-file.ts';
import { fileSize, readFileRange } from '../io/chunked-read.ts';
import { loadModel, saveModel } from '../models/model-files.ts';

export const CHECKPOINT_DIR = 'checkpoint';
const PREVIOUS_DIR = '.checkpoint.previous';
const PARTIAL_DIR = '.checkpoint.partial';

/** Where training stands; everything besides weights and optimizer slots that resuming needs. */
export interface TrainState {
  /** Optimizer steps done. */
  step: number;
  /** Training examples consumed: the data position to restart from (Dataset.trainBatches `start`). */
  images: number;
  /** Seed of the data order. */
  dataSeed: number;
  /** Wall-clock seconds spent in this run so far, over all sessions. */
  wallSeconds: number;
  /** Rows of curve.csv written when this checkpoint was taken. */
  curveRows: number;
  /** Sums over the minibatches since the last evaluation (the running training loss and accuracy). */
  running: { lossSum: number; correct: number; examples: number; steps: number };
  /** Learning rate of the last step taken. */
  lastLearningRate: number;
  /**
   * What the evaluations so far cost (curve.csv's eval_wall_s and eval_macs, over all sessions); absent in checkpoints
   * written before it was recorded: a run resumed from one writes those columns empty.
   */
  evaluationCost?: { seconds: number; multiplyAdds: number };
}

export interface OptimizerSlot {
  name: string;
  tensor: tf.Tensor;
}

interface OptimizerManifestEntry {
  name: string;
  shape: number[];
  dtype: 'float32' | 'int32';
  byteOffset: number;
}

export function checkpointDir(runDir: string): string {
  return join(runDir, CHECKPOINT_DIR);
}

export async function saveCheckpoint(
  runDir: string,
  model: tf.LayersModel,
  optimizer: OptimizerSlot[],
  state: TrainState,
): Promise<void> {
  const partial = join(runDir, PARTIAL_DIR);
  const previous = join(runDir, PREVIOUS_DIR);
  const target = checkpointDir(runDir);
  rmSync(partial, { recursive: true, force: true });
  mkdirSync(partial, { recursive: true });
  await saveModel(model, partial);
  await writeOptimizerSlots(partial, optimizer);
  writeJsonAtomic(join(partial, 'state.json'), state);
  rmSync(previous, { recursive: true, force: true });
  if (existsSync(target)) renameSync(target, previous);
  renameSync(partial, target);
  rmSync(previous, { recursive: true, force: true });
}

async function writeOptimizerSlots(dir: string, slots: OptimizerSlot[]): Promise<void> {
  const manifest: OptimizerManifestEntry[] = [];
  const chunks: Buffer[] = [];
  let offset = 0;
  for (const { name, tensor } of slots) {
    if (tensor.dtype !== 'float32' && tensor.dtype !== 'int32')
      throw new Error(`optimizer slot '${name}' has dtype ${tensor.dtype}; checkpoints store float32 and int32`);
    const values = await tensor.data();
    const bytes = Buffer.from(values.buffer, values.byteOffset, values.byteLength);
    manifest.push({ name, shape: tensor.shape, dtype: tensor.dtype, byteOffset: offset });
    chunks.push(bytes);
    offset += bytes.length;
  }
  // Written piece by piece, never joined: the larger students' optimizer state passes 2 GiB (see io/atomic-file.ts).
  writeFileAtomic(join(dir, 'optimizer.bin'), chunks);
  writeJsonAtomic(join(dir, 'optimizer.json'), { slots: manifest });
}

/** The checkpoint folder to read, also after a crash between the two renames of `saveCheckpoint`. */
export function findCheckpoint(runDir: string): string | null {
  for (const dir of [checkpointDir(runDir), join(runDir, PREVIOUS_DIR)]) {
    if (existsSync(join(dir, 'state.json'))) return dir;
  }
  return null;
}

export function readTrainState(dir: string): TrainState {
  const path = join(dir, 'state.json');
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as TrainState;
  } catch (err) {
    throw new Error(`cannot read checkpoint state '${path}': ${(err as Error).message}`);
  }
}

/** Reads a checkpoint folder. The caller owns the model and the slot tensors. */
export async function loadCheckpoint(
  dir: string,
): Promise<{ model: tf.LayersModel; optimizer: OptimizerSlot[]; state: TrainState }> {
  const state = readTrainState(dir);
  const model = await loadModel(dir);
  const optimizer = readOptimizerSlots(dir);
  return { model, optimizer, state };
}

/** The optimizer slots of a checkpoint folder (named by original weight names, and `iter`). The caller owns them. */
export function readOptimizerSlots(dir: string): OptimizerSlot[] {
  const jsonPath = join(dir, 'optimizer.json');
  const binPath = join(dir, 'optimizer.bin');
  if (!existsSync(jsonPath) || !existsSync(binPath))
    throw new Error(`checkpoint '${dir}' lacks optimizer.json or optimizer.bin`);
  const { slots } = JSON.parse(readFileSync(jsonPath, 'utf8')) as { slots: OptimizerManifestEntry[] };
  const size = fileSize(binPath);
  return slots.map((entry) => {
    const count = entry.shape.reduce((a, b) => a * b, 1);
    const end = entry.byteOffset + count * 4;
    if (end > size)
      throw new Error(`'${binPath}' is truncated: slot '${entry.name}' needs bytes up to ${end}, file has ${size}`);
    // One positional read per slot: a file over 2 GiB is never read whole (readFileSync refuses it).
    const bytes = readFileRange(binPath, entry.byteOffset, count * 4);
    const copy = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
    const values = entry.dtype === 'int32' ? new Int32Array(copy) : new Float32Array(copy);
    return { name: entry.name, tensor: tf.tensor(values, entry.shape, entry.dtype) };
  });
}
