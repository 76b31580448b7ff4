/**
 * A student's initial model: its method makes it from the trained teacher, then it is checked to be the planned
 * architecture, compared with the teacher on a validation batch, and described in the run's transform.json.
 */
import type * as tf from '@tensorflow/tfjs';
import { architectureDifference } from '../models/architecture.ts';
import { buildModel } from '../models/registry.ts';
import { checkPreserved } from '../net2net/check.ts';
import type { NoiseSpec } from '../net2net/noise.ts';
import type { TransformRecord } from '../net2net/transform-record.ts';
import { writeTransformFile } from '../run-folder/transform-file.ts';
import type { PlannedRun } from './run-plan.ts';

export interface TransformInputs {
  /** The trained teacher (not disposed here). */
  teacher: tf.LayersModel;
  /** Training images Net2DeeperNet measures BatchNorm statistics on. */
  trainImages: tf.Tensor4D;
  /** Validation images the preservation check runs on. */
  checkImages: tf.Tensor4D;
  noise: NoiseSpec;
  log: (line: string) => void;
}

/** Makes the planned run's initial model (the caller owns it) and writes `<runDir>/transform.json`. */
export function makeStudent(planned: PlannedRun, runDir: string, inputs: TransformInputs): tf.LayersModel {
  const { teacher, trainImages, checkImages } = inputs;
  const seed = planned.seeds.transform!;
  const records: TransformRecord[] = [];
  const student = planned.method!.makeInitialModel({
    teacher,
    buildStudent: (s) => buildModel(planned.model.family, { ...planned.model.options, seed: s }),
    trainImages,
    seed,
    noise: inputs.noise,
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
  const preserved = checkPreserved(teacher, student, checkImages);
  inputs.log(
    `[experiment] ${planned.run}: ${planned.init}; teacher vs initial student on ${checkImages.shape[0]} ` +
      `validation images (inference): max abs ${preserved.maxAbs.toExponential(2)}, ` +
      `max rel ${preserved.maxRel.toExponential(2)}`,
  );
  writeTransformFile(runDir, {
    run: planned.run,
    init: planned.init,
    seed,
    noise: inputs.noise,
    preservation: { mode: 'inference', images: checkImages.shape[0], ...preserved },
    params: { teacher: teacher.countParams(), student: student.countParams() },
    records,
  });
  return student;
}
