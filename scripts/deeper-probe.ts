/**
 * `npx tsx scripts/deeper-probe.ts <teacher run dir> <variant> <lr> <steps> [--threads N]`: grows the default
 * preset's explore teacher (a finished `teacher/` run folder, e.g. results/explore/seed-1/teacher) as explore's
 * Net2DeeperNet does (4 pairs on top of every module), trains it on the committed Fashion-MNIST subset at `lr`
 * (halved every epoch, batch 32, RMSProp as the experiments) and prints one JSON line per 25 steps with the
 * precise-BatchNorm validation accuracy and the running training loss. The runs behind experiments/README.md
 * ("Why explore's Net2DeeperNet dips").
 *
 * Variants: `bn` (explore's student: conv-BN-ReLU pairs, statistics averaged over training batches), `no-bn` (the
 * same pairs without BatchNorm: identities in training mode too), `teacher` (the teacher trained further).
 */
import type * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../src/backend/backend.ts';
import { openDataset } from '../src/data/open-dataset.ts';
import { drawTrainSample } from '../src/data/train-sample.ts';
import { deeper } from '../src/index.ts';
import { topPairInserts } from '../src/models/student-inserts.ts';
import { loadModel } from '../src/models/model-files.ts';
import { checkpointDir } from '../src/train/checkpoint.ts';
import { evaluate } from '../src/train/evaluate.ts';
import { LocalStepEngine } from '../src/train/local-step-engine.ts';
import { withPreciseBatchNorm } from '../src/train/precise-batch-norm.ts';
import { learningRateAt } from '../src/train/schedule.ts';

const VARIANTS = ['bn', 'no-bn', 'teacher'] as const;
const [teacherDir, variant, lrText, stepsText, flag, threads] = process.argv.slice(2);
const lr = Number(lrText);
const steps = Number(stepsText);
if (!teacherDir || !VARIANTS.includes(variant as never) || !(lr > 0) || !(steps > 0)) {
  console.error(
    `usage: npx tsx scripts/deeper-probe.ts <teacher run dir> <${VARIANTS.join('|')}> <lr> <steps> [--threads N]`,
  );
  process.exit(2);
}
await selectBackend('torch', () => {}, flag === '--threads' ? { threads: Number(threads) } : {});
const dataset = await openDataset('fashion-mnist', { limitVal: 1000 });
const sample = await drawTrainSample(dataset, { examples: 256, batchSize: 32, seed: 99 });
const teacher = await loadModel(checkpointDir(teacherDir));
const grow = (batchNorm: boolean): tf.LayersModel => {
  const inserts = topPairInserts(teacher, 4).map((spec) => ({ ...spec, batchNorm }));
  const data = sample.slice(0, 8).map((b) => b.x);
  const stacked = data.length === 1 ? data[0]! : (data[0]!.concat(data.slice(1), 0) as tf.Tensor4D);
  try {
    return deeper(teacher, inserts, { data: stacked, statisticsBatchSize: 32 });
  } finally {
    if (stacked !== data[0]) stacked.dispose();
  }
};
const model = variant === 'teacher' ? teacher : grow(variant === 'bn');
const engine = new LocalStepEngine(model, {
  learningRate: lr,
  decay: 0.9,
  momentum: 0.9,
  epsilon: 1,
  weightDecay: 4e-5,
});
const schedule = { kind: 'exponential', rate: 0.5, everyEpochs: 1, staircase: false } as const;
const batches = dataset.trainBatches({ batchSize: 32, seed: 7 });
const report = async (step: number, loss: number | null): Promise<void> => {
  const val = await withPreciseBatchNorm(
    model,
    sample.map((b) => b.x),
    () => evaluate(model, dataset, 250),
  );
  console.log(JSON.stringify({ variant, lr, step, valAcc: val.accuracy, runningLoss: loss }));
};
await report(0, null);
let lossSum = 0;
for (let step = 1; step <= steps; step++) {
  const { value } = await batches.next();
  const epoch = ((step - 1) * 32) / dataset.numTrain;
  const result = await engine.step(value.x, value.y, learningRateAt(lr, schedule, epoch));
  value.x.dispose();
  value.y.dispose();
  lossSum += result.loss;
  if (step % 25 === 0) {
    await report(step, lossSum / 25);
    lossSum = 0;
  }
}
