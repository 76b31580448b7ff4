/**
 * What a model family (one architecture table + one builder) looks like to the registry: defaults, the minimum
 * channel count of its width rule, and a builder that takes fully resolved options.
 */
import type * as tf from '@tensorflow/tfjs';
import type { WidthRule } from './width.ts';

export interface FamilyBuildOptions {
  inputShape: [number, number, number];
  classes: number;
  width: WidthRule;
  factorized: boolean;
  extraPairs: number;
  topPairs: number;
  seed: number | undefined;
  /** BatchNormalization momentum; undefined = TensorFlow.js's default 0.99. */
  batchNormMomentum?: number;
}

export interface ModelFamily {
  readonly name: string;
  readonly description: string;
  readonly defaultInputShape: [number, number, number];
  readonly defaultClasses: number;
  /** Smallest channel count a width-scaled conv gets. */
  readonly minimumChannels: number;
  build(options: FamilyBuildOptions): tf.LayersModel;
}
