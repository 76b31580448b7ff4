/**
 * The model registry: `buildModel(name, options)` builds a registered family with validated options.
 *
 * Options shared by every family:
 * - `inputShape` [H, W, C] and `classes` (defaults per family);
 * - `width` (channel factor, default 1) and `widthScope`: 'modules' (default, the Net2Net paper's meaning: only the
 *   Inception modules scale, the stem keeps its channels) or 'all' (every conv; the classifier never scales).
 *   Channel count = max(family minimum, floor(c * width)); the paper's "0.3x teacher" is width sqrt(0.3).
 * - `factorized`: every stride-1 3x3 conv inside the modules becomes a 3x1 -> 1x3 pair (`N/3x1`, `N/1x3`);
 * - `extraPairs: n` (needs `factorized`): n C -> C pairs `N/extra${i}` after every factorized pair (the deeper
 *   student);
 * - `topPairs: n`: n C -> C pairs `M/top${i}` on top of every module's `M/output` (the exploration's student);
 * - `seed`: reproducible initialization (He-normal kernels, seeded per layer name).
 */
import type * as tf from '@tensorflow/tfjs';
import type { FamilyBuildOptions, ModelFamily } from './family.ts';
import { INCEPTION_BN } from './inception-bn.ts';
import { INCEPTION_BN_SMALL } from './inception-bn-small.ts';
import { WIDTH_SCOPES } from './width.ts';

export type ModelName = 'inception-bn' | 'inception-bn-small';

export interface ModelOptions {
  inputShape?: [number, number, number];
  classes?: number;
  width?: number;
  widthScope?: 'modules' | 'all';
  factorized?: boolean;
  extraPairs?: number;
  topPairs?: number;
  seed?: number;
  /** BatchNormalization momentum of the moving averages, in (0, 1); default TensorFlow.js's 0.99. */
  batchNormMomentum?: number;
}

const FAMILIES: Record<ModelName, ModelFamily> = {
  'inception-bn': INCEPTION_BN,
  'inception-bn-small': INCEPTION_BN_SMALL,
};

export const MODEL_NAMES: readonly string[] = Object.keys(FAMILIES);

export function isModelName(name: string): name is ModelName {
  return Object.hasOwn(FAMILIES, name);
}

export function modelFamily(name: ModelName | string): ModelFamily {
  if (!isModelName(name)) {
    throw new Error(`unknown model '${name}': registered models are ${MODEL_NAMES.join(', ')}`);
  }
  return FAMILIES[name];
}

function requireCount(name: string, value: number, min: number): number {
  if (!Number.isInteger(value) || value < min) {
    throw new Error(`model option ${name} = ${value} is invalid: expected an integer >= ${min}`);
  }
  return value;
}

/** Fills in the family's defaults and rejects invalid options with a message naming the option and value. */
export function resolveModelOptions(family: ModelFamily, options: ModelOptions = {}): FamilyBuildOptions {
  const inputShape = options.inputShape ?? family.defaultInputShape;
  if (inputShape.length !== 3) {
    throw new Error(
      `model option inputShape = [${inputShape.join(', ')}] is invalid: expected [height, width, channels]`,
    );
  }
  inputShape.forEach((d, i) => requireCount(`inputShape[${i}]`, d, 1));
  const width = options.width ?? 1;
  if (!Number.isFinite(width) || width <= 0) {
    throw new Error(`model option width = ${width} is invalid: expected a positive number`);
  }
  const scope = options.widthScope ?? 'modules';
  if (!WIDTH_SCOPES.includes(scope)) {
    throw new Error(`model option widthScope = '${scope}' is invalid: expected one of ${WIDTH_SCOPES.join(', ')}`);
  }
  const factorized = options.factorized ?? false;
  const extraPairs = requireCount('extraPairs', options.extraPairs ?? 0, 0);
  if (extraPairs > 0 && !factorized) {
    throw new Error(
      `model option extraPairs = ${extraPairs} needs factorized: true (extra pairs follow each factorized 3x3 pair)`,
    );
  }
  if (options.seed !== undefined && !Number.isInteger(options.seed)) {
    throw new Error(`model option seed = ${options.seed} is invalid: expected an integer`);
  }
  const momentum = options.batchNormMomentum;
  if (momentum !== undefined && !(momentum > 0 && momentum < 1)) {
    throw new Error(`model option batchNormMomentum = ${momentum} is invalid: expected a number in (0, 1)`);
  }
  return {
    ...(momentum === undefined ? {} : { batchNormMomentum: momentum }),
    inputShape: [...inputShape] as [number, number, number],
    classes: requireCount('classes', options.classes ?? family.defaultClasses, 1),
    width: { width, scope, minimum: family.minimumChannels },
    factorized,
    extraPairs,
    topPairs: requireCount('topPairs', options.topPairs ?? 0, 0),
    seed: options.seed,
  };
}

/** Builds a registered model; an unknown name throws an error listing the registered names. */
export function buildModel(name: ModelName | string, options: ModelOptions = {}): tf.LayersModel {
  const family = modelFamily(name);
  return family.build(resolveModelOptions(family, options));
}
