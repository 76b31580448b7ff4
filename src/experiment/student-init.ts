/**
 * A student's initial model: its method makes it from the trained teacher, then it is checked to be the planned
 * architecture, compared with the teacher on a class-stratified validation sample in inference and training mode,
 * and described in the run's transform.json. A Net2Net student that does not keep the function stops the run.
 */
import type * as tf from '@tensorflow/tfjs';
import { strictFloat32 } from '../backend/precision.ts';
import { architectureDifference } from '../models/architecture.ts';
import { buildModel } from '../models/registry.ts';
import type { CheckResult } from '../net2net/check.ts';
import { DEFAULT_TOLERANCE, checkPreserved } from '../net2net/check.ts';
import type { NoiseSpec } from '../net2net/noise.ts';
import type { TransformRecord } from '../net2net/transform-record.ts';
import type { Preservation } from '../run-folder/transform-file.ts';
import { writeTransformFile } from '../run-folder/transform-file.ts';
import type { PlannedRun } from './run-plan.ts';

export interface TransformInputs {
  /** The trained teacher (not disposed here). */
  teacher: tf.LayersModel;
  /** Training images Net2DeeperNet measures BatchNorm statistics on. */
  trainImages: tf.Tensor4D;
  /** The runs' training batch size. */
  trainBatchSize: number;
  /** Class-stratified validation images the preservation check runs on. */
  checkImages: tf.Tensor4D;
  /** Images taken per class index in `checkImages` (fewer than asked where the set has fewer). */
  checkPerClassTaken: readonly number[];
  /** Largest batch the check runs at once (the preset's transform batch size). */
  checkChunk: number;
  noise: NoiseSpec;
  log: (line: string) => void;
}

/**
 * Makes the planned run's initial model (the caller owns it) and writes `<runDir>/transform.json`. The transform (with
 * the statistics Net2DeeperNet measures) and its check run in strict float32 whatever the training precision.
 * `records`, when given, receives the operator's transform records (to map the teacher's optimizer state with).
 */
export function makeStudent(
  planned: PlannedRun,
  runDir: string,
  inputs: TransformInputs,
  records: TransformRecord[] = [],
): tf.LayersModel {
  return strictFloat32(() => makeStudentFloat32(planned, runDir, inputs, records));
}

function makeStudentFloat32(
  planned: PlannedRun,
  runDir: string,
  inputs: TransformInputs,
  records: TransformRecord[],
): tf.LayersModel {
  const { teacher, trainImages } = inputs;
  const seed = planned.seeds.transform!;
  const noise = planned.noise ?? inputs.noise;
  const student = planned.method!.makeInitialModel({
    teacher,
    buildStudent: (s) => buildModel(planned.model.family, { ...planned.model.options, seed: s }),
    trainImages,
    trainBatchSize: inputs.trainBatchSize,
    seed,
    noise,
    record: (r) => records.push(r),
  });
  const reference = buildModel(planned.model.family, planned.model.options);
  const { unexpected, missing } = architectureDifference(student, reference);
  reference.dispose();
  if (unexpected.length > 0 || missing.length > 0) {
    student.dispose();
    throw new Error(
      `${planned.run}: the initial model is not the planned architecture: ` +
        `${[...unexpected.map((l) => `unexpected ${l}`), ...missing.map((l) => `missing ${l}`)].slice(0, 4).join('; ')}`,
    );
  }
  const preservation = checkPreservation(planned, teacher, student, inputs, insertedStatisticsText(records, inputs));
  writeTransformFile(runDir, {
    run: planned.run,
    init: planned.init,
    seed,
    noise,
    preservation,
    params: { teacher: teacher.countParams(), student: student.countParams() },
    records,
  });
  if (preservation.enforced && !preservation.inference.ok) {
    student.dispose();
    throw new PreservationError(planned.run, preservation);
  }
  return student;
}

export class PreservationError extends Error {
  constructor(run: string, preservation: Preservation) {
    const { inference, training, images } = preservation;
    super(
      `${run}: the Net2Net student does not compute the teacher's function: on ${images} validation images ` +
        `(inference mode) max abs ${inference.maxAbs.toExponential(2)}, max rel ${inference.maxRel.toExponential(2)} ` +
        `(tolerance ${DEFAULT_TOLERANCE}; training mode max rel ${training.maxRel.toExponential(2)}). The run stops ` +
        'here: a transform that loses the function is a bug, not a result (transform.json has the details)',
    );
    this.name = 'PreservationError';
  }
}

/** The check over `images` in chunks: the largest differences and output scale of any chunk. */
function checkInChunks(
  teacher: tf.LayersModel,
  student: tf.LayersModel,
  images: tf.Tensor4D,
  chunk: number,
  training: boolean,
): CheckResult {
  const results: CheckResult[] = [];
  for (let start = 0; start < images.shape[0]; start += chunk) {
    const size = Math.min(chunk, images.shape[0] - start);
    const part = images.slice([start, 0, 0, 0], [size, -1, -1, -1]);
    try {
      results.push(checkPreserved(teacher, student, part, { training }));
    } finally {
      part.dispose();
    }
  }
  return {
    maxAbs: Math.max(...results.map((r) => r.maxAbs)),
    maxRel: Math.max(...results.map((r) => r.maxRel)),
    ok: results.every((r) => r.ok),
  };
}

/**
 * Teacher against the initial student in inference and training mode. Enforced for Net2Net students whose noise is
 * exact ('none', 'zero-sum'); the paper's Gaussian noise changes the function on purpose, so it is only recorded.
 */
function checkPreservation(
  planned: PlannedRun,
  teacher: tf.LayersModel,
  student: tf.LayersModel,
  inputs: TransformInputs,
  statisticsText: string,
): Preservation {
  const { checkImages, checkChunk } = inputs;
  const inference = checkInChunks(teacher, student, checkImages, checkChunk, false);
  const training = checkInChunks(teacher, student, checkImages, checkChunk, true);
  const enforced = planned.role === 'net2net' && typeof (planned.noise ?? inputs.noise) !== 'number';
  inputs.log(
    `[experiment] ${planned.run}: ${planned.init}${statisticsText}; teacher vs initial student on ${checkImages.shape[0]} ` +
      `validation images (${perClassText(inputs.checkPerClassTaken)}): max rel ${inference.maxRel.toExponential(2)} ` +
      `(inference), ${training.maxRel.toExponential(2)} (training mode)` +
      (enforced ? '' : planned.role === 'net2net' ? ', not enforced (noise changes the function)' : ''),
  );
  return {
    images: checkImages.shape[0],
    perClass: Math.min(...inputs.checkPerClassTaken),
    perClassTaken: [...inputs.checkPerClassTaken],
    inference,
    training,
    enforced,
  };
}

/** ", inserted BatchNorm statistics from 1,024 training images in batches of 32" where a transform measured them. */
function insertedStatisticsText(records: readonly TransformRecord[], inputs: TransformInputs): string {
  const measured = records.some((r) => r.operator === 'deeper' && r.inserts.some((insert) => insert.statistics));
  if (!measured) return '';
  const images = inputs.trainImages.shape[0];
  return (
    ` (inserted BatchNorm statistics from ${images.toLocaleString('en-US')} training images in batches of ` +
    `${Math.min(images, inputs.trainBatchSize)})`
  );
}

/** "16 per class", or "1-3 per class" where the classes had different numbers of images. */
export function perClassText(taken: readonly number[]): string {
  const [low, high] = [Math.min(...taken), Math.max(...taken)];
  return `${low === high ? low : `${low}-${high}`} per class`;
}
