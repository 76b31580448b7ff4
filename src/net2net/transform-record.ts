/**
 * The JSON record of a transform: enough to reproduce it (operator, arguments, and the width operators' seed; deeper
 * draws nothing at random) and to inspect it (the mappings g, replica counts, inserted layers and the statistics
 * they were initialized from).
 */
import type { NoiseSpec } from './noise.ts';
import type { ResolvedGroup } from './remapping.ts';

export interface WidthRecord {
  operator: 'wider' | 'randomPad' | 'scaleWidth';
  seed: number;
  noise: NoiseSpec;
  /** Relative scale of the zero-sum offsets when noise is 'zero-sum'. */
  zeroSumScale?: number;
  /** scaleWidth only: the factor and the targets it chose. */
  factor?: number;
  /** Unit writer -> new width, as passed to (or chosen for) wider. */
  targets: Record<string, number>;
  /** Every group whose mapping changed. */
  groups: ResolvedGroup[];
  paramsBefore: number;
  paramsAfter: number;
}

export interface InsertStatistics {
  /** 'training' or 'inference': which mode the model ran in while the statistics were measured. */
  mode: 'training' | 'inference';
  samples: number;
  /** Inputs per batch the moments were averaged over (= samples: measured as one batch). */
  batchSize: number;
  channels: number;
  mean: number[];
  variance: number[];
  meanOfMeans: number;
  minVariance: number;
  maxVariance: number;
}

export interface InsertRecord {
  after: string;
  kind: 'dense' | 'conv' | 'conv-pair';
  kernel: number;
  batchNorm: boolean;
  pairOrder?: '1xk-first' | 'kx1-first';
  prefix: string;
  /** Whether ReLU layers were inserted (the named layer's output is non-negative). */
  relu: boolean;
  /** Every inserted layer, in data-flow order. */
  layers: string[];
  /** Layers that now read the last inserted layer. */
  rewired: string[];
  statistics?: InsertStatistics;
}

export interface DeeperRecord {
  operator: 'deeper';
  statistics: 'training' | 'inference';
  inserts: InsertRecord[];
  paramsBefore: number;
  paramsAfter: number;
}

export type TransformRecord = WidthRecord | DeeperRecord;

export type RecordSink = (record: TransformRecord) => void;
