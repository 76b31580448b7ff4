/** A student's `transform.json`: how its initial model was made from the teacher, and whether it kept the function. */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeJsonAtomic } from '../io/atomic-file.ts';
import type { CheckResult } from '../net2net/check.ts';
import type { NoiseSpec } from '../net2net/noise.ts';
import type { TransformRecord } from '../net2net/transform-record.ts';

export const TRANSFORM_JSON = 'transform.json';

export interface TransformFile {
  run: string;
  init: string;
  /** The transform's seed. */
  seed: number;
  noise: NoiseSpec;
  /** Teacher against the initial student on a class-stratified validation sample, in both modes. */
  preservation: Preservation;
  params: { teacher: number; student: number };
  records: TransformRecord[];
}

export interface Preservation {
  images: number;
  /** Validation images per class in the sample (the fewest any class had, where they differ). */
  perClass: number;
  /** Images per class index in the sample. */
  perClassTaken?: number[];
  /** BatchNorm on moving statistics: the function the paper preserves. */
  inference: CheckResult;
  /** BatchNorm on the sample's batch statistics (in chunks of the transform batch size). */
  training: CheckResult;
  /** Whether a failed inference check stops the run (Net2Net students with exact noise). */
  enforced: boolean;
}

export function writeTransformFile(runDir: string, transform: TransformFile): void {
  writeJsonAtomic(join(runDir, TRANSFORM_JSON), transform);
}

export function readTransformFile(runDir: string): TransformFile | null {
  const path = join(runDir, TRANSFORM_JSON);
  return existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as TransformFile) : null;
}
