/**
 * Saving and loading `tf.LayersModel` as `model.json` + `weights.bin` in the standard TensorFlow.js layers format,
 * without tfjs-node (whose `file://` handler is the only built-in file IO in Node). The files load with
 * `tf.loadLayersModel('file://dir/model.json')` under tfjs-node, or with `loadModel(dir)` here on any backend.
 */
import * as tf from '@tensorflow/tfjs';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic, writeJsonAtomic } from '../io/atomic-file.ts';
import { readFileChunks } from '../io/chunked-read.ts';

export const MODEL_JSON = 'model.json';
export const WEIGHTS_BIN = 'weights.bin';

interface ModelJson {
  format: 'layers-model';
  generatedBy: string;
  convertedBy: null;
  modelTopology: tf.io.ModelArtifacts['modelTopology'];
  weightsManifest: tf.io.WeightsManifestConfig;
  trainingConfig?: tf.io.TrainingConfig;
  userDefinedMetadata?: Record<string, unknown>;
}

/** Writes weights.bin, then model.json, each atomically; model.json is the file a reader opens first. */
export async function saveModel(model: tf.LayersModel, dir: string, metadata?: Record<string, unknown>): Promise<void> {
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      const weightData = artifacts.weightData;
      const buffers = weightData === undefined ? [] : Array.isArray(weightData) ? weightData : [weightData];
      writeFileAtomic(
        join(dir, WEIGHTS_BIN),
        buffers.map((b) => new Uint8Array(b)),
      );
      const json: ModelJson = {
        format: 'layers-model',
        generatedBy: `TensorFlow.js tfjs-layers v${tf.version_layers}`,
        convertedBy: null,
        modelTopology: artifacts.modelTopology,
        weightsManifest: [{ paths: [`./${WEIGHTS_BIN}`], weights: artifacts.weightSpecs ?? [] }],
        ...(artifacts.trainingConfig ? { trainingConfig: artifacts.trainingConfig } : {}),
        ...(metadata ? { userDefinedMetadata: metadata } : {}),
      };
      writeJsonAtomic(join(dir, MODEL_JSON), json);
      return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
    }),
  );
}

/** Reads the artifacts of a saved model folder (model.json + the weight files its manifest names). */
export function readModelArtifacts(dir: string): tf.io.ModelArtifacts {
  const jsonPath = join(dir, MODEL_JSON);
  if (!existsSync(jsonPath)) throw new Error(`no ${MODEL_JSON} in '${dir}'`);
  let json: ModelJson;
  try {
    json = JSON.parse(readFileSync(jsonPath, 'utf8')) as ModelJson;
  } catch (err) {
    throw new Error(`'${jsonPath}' is not valid JSON: ${(err as Error).message}`);
  }
  if (!json.modelTopology || !Array.isArray(json.weightsManifest)) {
    throw new Error(`'${jsonPath}' is not a TensorFlow.js layers model (no modelTopology or weightsManifest)`);
  }
  const weightSpecs: tf.io.WeightsManifestEntry[] = [];
  const pieces: Buffer[] = [];
  for (const group of json.weightsManifest) {
    weightSpecs.push(...group.weights);
    for (const p of group.paths) {
      const file = join(dir, p);
      if (!existsSync(file)) throw new Error(`weight file '${file}' named by '${jsonPath}' is missing`);
      pieces.push(...readFileChunks(file));
    }
  }
  const bytes = pieces.reduce((n, piece) => n + piece.length, 0);
  const expected = weightSpecs.reduce((n, s) => n + s.shape.reduce((a, b) => a * b, 1) * 4, 0);
  if (bytes !== expected) {
    throw new Error(`weights in '${dir}' have ${bytes} bytes, the manifest needs ${expected}: truncated or corrupt`);
  }
  // A list of buffers, never one joined copy: TensorFlow.js slices each weight out of the list.
  const weightData = pieces.map((p) =>
    p.byteOffset === 0 && p.byteLength === p.buffer.byteLength
      ? (p.buffer as ArrayBuffer)
      : (p.buffer.slice(p.byteOffset, p.byteOffset + p.byteLength) as ArrayBuffer),
  );
  return {
    modelTopology: json.modelTopology,
    weightSpecs,
    weightData,
    trainingConfig: json.trainingConfig,
    userDefinedMetadata: json.userDefinedMetadata as tf.io.ModelArtifacts['userDefinedMetadata'],
    format: json.format,
    generatedBy: json.generatedBy,
    convertedBy: json.convertedBy,
  };
}

export async function loadModel(dir: string): Promise<tf.LayersModel> {
  return tf.loadLayersModel(tf.io.fromMemory(readModelArtifacts(dir)));
}
